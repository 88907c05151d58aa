package hosttest_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/store"
)

// TestJetStreamBackend runs the Go examples' cases on the JetStream backend
// (an embedded NATS server per case), as `wasmfaas test --store jetstream`
// does.
func TestJetStreamBackend(t *testing.T) {
	for _, name := range []string{"hello", "counter", "temperature"} {
		t.Run(name, func(t *testing.T) {
			suite := hosttest.Suite{
				Wasm:        build(t, filepath.Join("examples", name, "go")),
				HostOptions: hosttest.Options{Backend: hosttest.BackendJetStream},
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

func TestBackendOption(t *testing.T) {
	ctx := t.Context()
	h, err := hosttest.New(hosttest.Options{Backend: hosttest.BackendJetStream})
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

	_, err = hosttest.New(hosttest.Options{Backend: "redis"})
	assert.ErrorContains(t, err, `"redis"`)
}
