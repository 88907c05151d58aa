package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// DefaultClusterWait is how long New waits for a JetStream cluster
	// that cannot take the layout yet (NATSConfig.ClusterWait).
	DefaultClusterWait = 60 * time.Second
	// probeTimeout bounds one probe for a meta leader.
	probeTimeout = 2 * time.Second
	// firstRetry and maxRetry bound the backoff between attempts.
	firstRetry = 100 * time.Millisecond
	maxRetry   = 2 * time.Second
)

// JetStream API error codes (nats-server's jetstream_errors_generated.go)
// that mean a cluster is not ready yet, or that a server is not clustered.
const (
	errCodeNoPeers              = 10005 // no suitable peers for placement
	errCodeNotAvailable         = 10008 // JetStream system temporarily unavailable
	errCodeInsufficient         = 10023 // insufficient resources
	errCodeReplicasNotSupported = 10074 // replicas > 1 not supported in non-clustered mode
)

// notClusteredError names the replicas asked for and the server that
// cannot hold them.
func notClusteredError(replicas int, server string) error {
	return fmt.Errorf("nats.replicas %d needs a JetStream cluster of at least %d nodes; %s is not clustered (set nats.cluster_name, or nats.replicas 1)",
		replicas, replicas, server)
}

// ensureLayout creates the layout, waiting up to wait while JetStream
// cannot take it yet: no meta leader (the first node of a cluster
// starting alone), or too few peers for the replicas. It logs once that
// it waits, and fails after wait naming what is missing. A server that is
// not clustered cannot hold replicas, and is refused at once.
func (a *App) ensureLayout(ctx context.Context, cfg Config) error {
	replicas := a.layout.Replicas()
	server := "the NATS server at " + cfg.NATS.URL
	if cfg.NATS.URL == "" {
		server = "the NATS server"
	}
	if a.embedded != nil {
		server = "this server"
		if replicas > 1 && !a.embedded.Clustered() {
			return notClusteredError(replicas, server)
		}
	}
	wait := cfg.NATS.ClusterWait
	if wait <= 0 {
		wait = DefaultClusterWait
	}
	deadline := time.Now().Add(wait)
	retry := firstRetry
	waiting := false
	for {
		err := a.ensureOnce(ctx, deadline)
		switch {
		case err == nil:
			if waiting {
				a.log.Info("JetStream cluster ready")
			}
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("jetstream layout: %w", err)
		case apiCode(err) == errCodeReplicasNotSupported:
			return notClusteredError(replicas, server)
		case !notReady(err):
			return fmt.Errorf("jetstream layout: %w", err)
		case time.Now().After(deadline):
			return fmt.Errorf("JetStream cluster not ready after %s: %s (last error: %v)", wait, a.missing(replicas, err), err)
		}
		if !waiting {
			waiting = true
			a.log.Info("waiting for the JetStream cluster: "+a.missing(replicas, err), "timeout", wait)
		}
		t := time.NewTimer(min(retry, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("jetstream layout: waiting for the JetStream cluster: %w", ctx.Err())
		case <-t.C:
		}
		retry = min(2*retry, maxRetry)
	}
}

// ensureOnce probes for a meta leader (only the leader answers account
// info; a cluster without one answers nothing, or that it is unavailable),
// then ensures the layout, which bounds each of its own requests, by
// deadline at the latest.
func (a *App) ensureOnce(ctx context.Context, deadline time.Time) error {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	_, err := a.js.AccountInfo(pctx)
	cancel()
	if err != nil {
		return fmt.Errorf("probe for a JetStream meta leader: %w", err)
	}
	ectx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	return a.layout.Ensure(ectx, a.js)
}

// missing says what the cluster lacks: the embedded server knows (no
// meta leader and which routes fail, or too few peers); for an external
// server it is the server's answer.
func (a *App) missing(replicas int, err error) string {
	if a.embedded != nil {
		if m := a.embedded.Waiting(replicas); m != "" {
			return m
		}
	}
	switch apiCode(err) {
	case errCodeNotAvailable:
		return "no JetStream meta leader (JetStream system temporarily unavailable)"
	case errCodeNoPeers, errCodeInsufficient:
		return fmt.Sprintf("not enough JetStream nodes for replicas %d", replicas)
	}
	return "JetStream has not answered in time (no meta leader yet, or a stream without a leader)"
}

// notReady reports whether every error joined in err is one a forming
// cluster gives: a request no one answered (no meta leader yet), the
// system temporarily unavailable, too few peers or resources for the
// replicas.
func notReady(err error) bool {
	leaves := leafErrors(err)
	if len(leaves) == 0 {
		return false
	}
	for _, e := range leaves {
		switch apiCode(e) {
		case errCodeNotAvailable, errCodeInsufficient, errCodeNoPeers:
			continue
		}
		var api *jetstream.APIError
		if errors.As(e, &api) && api.Code == 503 {
			continue
		}
		if errors.Is(e, context.DeadlineExceeded) || errors.Is(e, nats.ErrTimeout) || errors.Is(e, nats.ErrNoResponders) {
			continue
		}
		return false
	}
	return true
}

// apiCode is the JetStream API error code in err, 0 if there is none.
func apiCode(err error) jetstream.ErrorCode {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.ErrorCode
	}
	return 0
}

// leafErrors flattens errors.Join trees (Ensure joins one error per
// resource) into the errors they hold.
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	for e := err; e != nil; {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			var out []error
			for _, c := range j.Unwrap() {
				out = append(out, leafErrors(c)...)
			}
			return out
		}
		e = errors.Unwrap(e)
	}
	return []error{err}
}
