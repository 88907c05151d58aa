package app_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/app"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natsserver"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
)

// infoLines is a slog.Handler that keeps the messages logged at INFO and
// above.
type infoLines struct {
	mu    sync.Mutex
	lines []string
}

func (h *infoLines) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h *infoLines) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, r.Message)
	return nil
}
func (h *infoLines) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *infoLines) WithGroup(string) slog.Handler      { return h }

// count is how many lines start with prefix.
func (h *infoLines) count(prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, l := range h.lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// TestReplicasNeedCluster: replicas on a server that is not clustered are
// refused at start with what to change, embedded or external.
func TestReplicasNeedCluster(t *testing.T) {
	_, err := app.New(t.Context(), app.Config{DataDir: t.TempDir(), Layout: layout.Config{Replicas: 3}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nats.replicas 3 needs a JetStream cluster of at least 3 nodes; this server is not clustered")

	ext := natstest.Start(t, natstest.WithTCP(), natstest.Bare())
	_, err = app.New(t.Context(), app.Config{DataDir: t.TempDir(), NATS: app.NATSConfig{URL: ext.URL()}, Layout: layout.Config{Replicas: 3}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nats.replicas 3 needs a JetStream cluster of at least 3 nodes; the NATS server at "+ext.URL()+" is not clustered")
}

// TestClusterWaitsForPeers: the first node of a three-node cluster starts
// alone and waits (saying so once) until its peers are up, then creates
// every stream with three replicas.
func TestClusterWaitsForPeers(t *testing.T) {
	seed := natstest.StartSeed(t)
	cc := natsserver.ClusterConfig{Name: natstest.ClusterName, Listen: "127.0.0.1:0", Routes: []string{seed.URL()}}
	logs := &infoLines{}
	type started struct {
		a   *app.App
		err error
	}
	done := make(chan started, 1)
	go func() {
		a, err := app.New(t.Context(), app.Config{
			DataDir: t.TempDir(), Logger: slog.New(logs), Layout: layout.Config{Replicas: 3},
			NATS: app.NATSConfig{ServerName: "host1", Cluster: cc},
		})
		done <- started{a, err}
	}()
	require.Eventually(t, func() bool { return logs.count("waiting for the JetStream cluster: ") == 1 }, time.Minute, 10*time.Millisecond,
		"the host says it waits")

	for _, name := range []string{"n2", "n3"} {
		s, err := natsserver.Start(natsserver.Config{DataDir: t.TempDir(), ServerName: name, Cluster: cc})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	}
	var got started
	select {
	case got = <-done:
	case <-time.After(2 * app.DefaultClusterWait):
		t.Fatal("the host did not start once its peers were up")
	}
	require.NoError(t, got.err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, got.a.Shutdown(ctx))
	})
	assert.Equal(t, 1, logs.count("waiting for the JetStream cluster: "), "said once")
	assert.Equal(t, 1, logs.count("JetStream cluster ready"))

	js := got.a.JetStream()
	for _, sc := range got.a.Layout().Streams() {
		st, err := js.Stream(t.Context(), sc.Name)
		require.NoError(t, err)
		info, err := st.Info(t.Context())
		require.NoError(t, err)
		require.NotNil(t, info.Cluster, sc.Name)
		assert.Len(t, info.Cluster.Replicas, 2, "%s: two replicas besides the leader", sc.Name)
	}
}

// TestClusterWaitBounded: a node whose peers never come gives up after
// NATSConfig.ClusterWait, naming what is missing.
func TestClusterWaitBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = app.New(t.Context(), app.Config{
		DataDir: t.TempDir(), Layout: layout.Config{Replicas: 3},
		NATS: app.NATSConfig{ServerName: "alone", ClusterWait: time.Second, Cluster: natsserver.ClusterConfig{
			Name: "c", Listen: "127.0.0.1:0", Routes: []string{"nats://" + closed},
		}},
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "JetStream cluster not ready after 1s: no JetStream meta leader")
	assert.Contains(t, err.Error(), "unreachable routes: "+closed)
}
