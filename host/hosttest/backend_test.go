package hosttest_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/internal/jsembed"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natsserver"
	"github.com/wasmfaas/wasmfaas/store"
	jsstore "github.com/wasmfaas/wasmfaas/store/jetstream"
)

// TestJetStreamBackend runs the Go examples' cases on the JetStream backend
// (an embedded NATS server per case), as `wasmfaas test --store jetstream`
// does.
func TestJetStreamBackend(t *testing.T) {
	for _, name := range []string{"hello", "counter", "temperature"} {
		t.Run(name, func(t *testing.T) {
			suite := hosttest.Suite{
				Wasm:        build(t, filepath.Join("examples", name, "go")),
				HostOptions: hosttest.Options{OpenStore: openJetStream},
			}
			results, err := suite.Run(t.Context(), filepath.Join(repoRoot, "examples", name, "testdata"))
			require.NoError(t, err)
			require.NotEmpty(t, results)
			for _, r := range results {
				assert.True(t, r.Passed(), "case %s: err=%v diffs=%v info.error=%+v", r.Case.Name, r.Err, r.Diffs, r.Info.Error)
			}
		})
	}
}

// openJetStream is what `wasmfaas test --store jetstream` passes as
// Options.OpenStore.
func openJetStream() (store.Store, func() error, error) { return jsembed.Open("hosttest") }

func TestOpenStoreOption(t *testing.T) {
	ctx := t.Context()
	h, err := hosttest.New(hosttest.Options{OpenStore: openJetStream})
	require.NoError(t, err)
	assert.Nil(t, h.Store, "no in-memory store with the JetStream backend")
	require.NoError(t, h.SetProperty(ctx, "s|1", "p", 42))
	v, err := h.Property(ctx, "s|1", "p")
	require.NoError(t, err)
	assert.JSONEq(t, "42", string(v))
	require.NoError(t, h.SetKV(ctx, "fn", "k", []byte("v")))
	b, err := h.KV(ctx, "fn", "k")
	require.NoError(t, err)
	assert.Equal(t, "v", string(b))
	require.NoError(t, h.Close())
	_, err = h.Property(ctx, "s|1", "p")
	assert.ErrorIs(t, err, store.ErrUnavailable, "Close stops the store")

	_, err = hosttest.New(hosttest.Options{OpenStore: func() (store.Store, func() error, error) {
		return nil, nil, errors.New("no such backend")
	}})
	assert.ErrorContains(t, err, "no such backend")
}

// TestJetStreamOutage stops NATS under a host whose store is on JetStream
// (over TCP, so the connection can reconnect): a call that touches state
// ends with error kind unavailable, promptly, and once a server is back on
// the same directory and port the next calls succeed without restarting
// the host.
func TestJetStreamOutage(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	listen := l.Addr().String()
	require.NoError(t, l.Close())

	srv, err := natsserver.Start(natsserver.Config{DataDir: dir, Listen: listen})
	require.NoError(t, err)
	nc, err := natsserver.Connect(srv.ClientURL(), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, layout.Default().Ensure(ctx, js))
	st, err := jsstore.New(ctx, js, jsstore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })

	h, err := hosttest.New(hosttest.Options{Store: st})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	fn, err := h.Deploy(ctx, "counter", build(t, "examples/counter/go"), hosttest.Grant(abi.CapProps))
	require.NoError(t, err)
	count := func() host.ExecutionInfo {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return h.Send(cctx, fn, hosttest.NewEvent("com.example.count", "door|1", nil))
	}
	info := count()
	require.Equal(t, host.StatusOK, info.Status, "%+v", info.Error)

	require.NoError(t, srv.Shutdown(ctx))
	require.Eventually(t, func() bool { return nc.Status() != nats.CONNECTED }, 5*time.Second, time.Millisecond)
	start := time.Now()
	info = count()
	assert.Less(t, time.Since(start), 2*time.Second, "no hang past the call's deadline")
	assert.Equal(t, host.StatusError, info.Status)
	if assert.NotNil(t, info.Error) {
		assert.Equal(t, abi.KindUnavailable, info.Error.Kind, info.Error.Message)
	}

	srv2, err := natsserver.Start(natsserver.Config{DataDir: dir, Listen: listen})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv2.Shutdown(context.Background()) })
	require.Eventually(t, func() bool { return count().Status == host.StatusOK }, 10*time.Second, 20*time.Millisecond,
		"the same host works once NATS is back")
	v, err := h.Property(ctx, "door|1", "count")
	require.NoError(t, err)
	assert.JSONEq(t, "2", string(v), "the increment before the outage survived, the failed one wrote nothing")
}
