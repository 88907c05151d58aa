package host_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// TestDamagedCompilationCache: every file of the on-disk compilation cache
// overwritten with garbage (a crash mid-write, a disk error) costs a
// recompile, not the module: Load compiles from the bytes, rewrites the
// cache, and the function runs.
func TestDamagedCompilationCache(t *testing.T) {
	dir := t.TempDir()
	p, err := hosttest.BuildGo(t.Context(), "../examples/hello/go")
	require.NoError(t, err)
	wasm, err := os.ReadFile(p)
	require.NoError(t, err)
	h, err := host.New(host.Config{CacheDir: dir})
	require.NoError(t, err)
	_, err = h.Load(t.Context(), wasm)
	require.NoError(t, err)
	require.NoError(t, h.Close(context.Background()))

	damaged := 0
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			damaged++
			return os.WriteFile(path, []byte("garbage"), 0o644)
		}
		return err
	}))
	require.Positive(t, damaged, "the first host wrote the cache")

	h, err = host.New(host.Config{CacheDir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	m, err := h.Load(t.Context(), wasm)
	require.NoError(t, err, "a damaged cache entry is not the module's fault")
	fn, err := h.NewFunction(t.Context(), m, host.FunctionConfig{Name: "hello"})
	require.NoError(t, err)
	info := h.Invoke(t.Context(), fn, hosttest.NewEvent("com.example.hello", "", map[string]string{"name": "cache"}))
	assert.Equal(t, host.StatusOK, info.Status, "%+v", info.Error)

	rewritten := false
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, rerr := os.ReadFile(path)
			rewritten = rewritten || (rerr == nil && string(b) != "garbage")
		}
		return err
	}))
	assert.True(t, rewritten, "the cache holds a fresh entry")
}
