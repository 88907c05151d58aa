package modules_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/wasmgen"
	"github.com/wasmfaas/wasmfaas/modules"
	"github.com/wasmfaas/wasmfaas/store"
	"github.com/wasmfaas/wasmfaas/store/mem"
)

func reactor(pages uint32, imports ...string) []byte {
	var m wasmgen.Module
	for _, name := range imports {
		f, _ := abi.Lookup(name)
		ps := make([]byte, len(f.Types))
		for i, t := range f.Types {
			ps[i] = wasmgen.I32
			if t == abi.I64 {
				ps[i] = wasmgen.I64
			}
		}
		r := wasmgen.I32
		if f.Result == abi.I64 {
			r = wasmgen.I64
		}
		m.Import(abi.ImportModule, name, m.Type(ps, []byte{r}))
	}
	m.Memory(pages, 0)
	m.Export(abi.VersionExport, m.Func(m.Type(nil, nil), nil))
	m.Export(abi.HandleExport, m.Func(m.Type(nil, []byte{wasmgen.I32}), nil, wasmgen.I32Const(0)))
	return m.Bytes()
}

func newRegistry(t *testing.T, cfg modules.Config) (*modules.Registry, store.Blobs) {
	t.Helper()
	h, err := host.New(host.Config{CacheDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	blobs, err := mem.NewBlobs(mem.BlobsConfig{})
	require.NoError(t, err)
	return modules.New(cfg, blobs, h), blobs
}

func TestUpload(t *testing.T) {
	r, blobs := newRegistry(t, modules.Config{})
	wasm := reactor(1, "event_data", "kv_get", "props_set")
	mf, err := r.Upload(t.Context(), wasm)
	require.NoError(t, err)
	assert.Equal(t, store.Digest(wasm), mf.Digest)
	assert.Equal(t, abi.ModeReactor, mf.Mode)
	assert.EqualValues(t, len(wasm), mf.Size)
	assert.Equal(t, []abi.Capability{abi.CapKV, abi.CapProps}, mf.Capabilities)
	assert.Contains(t, mf.Exports, abi.HandleExport)

	again, err := r.Upload(t.Context(), wasm)
	require.NoError(t, err)
	assert.Equal(t, mf, again, "re-uploading the same bytes is idempotent")
	list, err := blobs.List(t.Context())
	require.NoError(t, err)
	assert.Len(t, list, 1)

	got, err := r.Get(t.Context(), mf.Digest)
	require.NoError(t, err)
	assert.Equal(t, mf, got)
	all, err := r.List(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []modules.Manifest{mf}, all)
}

func TestUploadRefusesBadModules(t *testing.T) {
	r, blobs := newRegistry(t, modules.Config{MaxSize: 4096, MaxMemoryPages: 16})
	good := reactor(1)
	var unknown wasmgen.Module
	unknown.Import(abi.ImportModule, "kv_frobnicate", unknown.Type(nil, []byte{wasmgen.I32}))
	unknown.Memory(1, 0)
	unknown.Export(abi.VersionExport, unknown.Func(unknown.Type(nil, nil), nil))
	unknown.Export(abi.HandleExport, unknown.Func(unknown.Type(nil, []byte{wasmgen.I32}), nil, wasmgen.I32Const(0)))
	tests := []struct {
		name string
		wasm []byte
		want error
		msg  string
	}{
		{"garbage", []byte("definitely not wasm"), modules.ErrInvalid, "bad magic"},
		{"empty body", nil, modules.ErrInvalid, "empty"},
		{"truncated", good[:len(good)-4], modules.ErrInvalid, ""},
		{"over the size limit", append(append([]byte(nil), good...), make([]byte, 5000)...), modules.ErrTooLarge, "limit 4096"},
		{"start memory over the limit", reactor(17), modules.ErrInvalid, "needs 17 memory pages"},
		{"unknown host function", unknown.Bytes(), modules.ErrInvalid, "kv_frobnicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Upload(t.Context(), tt.wasm)
			require.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
	list, err := blobs.List(t.Context())
	require.NoError(t, err)
	assert.Empty(t, list, "nothing refused is stored")
}

func TestDeleteAndMissing(t *testing.T) {
	r, _ := newRegistry(t, modules.Config{})
	mf, err := r.Upload(t.Context(), reactor(1))
	require.NoError(t, err)

	err = r.Delete(t.Context(), mf.Digest, []string{"thermo", "alarm"})
	require.ErrorIs(t, err, modules.ErrInUse)
	assert.Contains(t, err.Error(), "alarm, thermo")

	require.NoError(t, r.Delete(t.Context(), mf.Digest, nil))
	_, err = r.Get(t.Context(), mf.Digest)
	require.ErrorIs(t, err, modules.ErrNotFound)
	require.ErrorIs(t, r.Delete(t.Context(), mf.Digest, nil), modules.ErrNotFound)

	_, err = r.Get(t.Context(), "sha256:nope")
	require.ErrorIs(t, err, store.ErrInvalid)
}

// TestRestartLoadsFromBlobs: a new registry over the same blobs (a restart)
// serves the module without a re-upload.
func TestRestartLoadsFromBlobs(t *testing.T) {
	r, blobs := newRegistry(t, modules.Config{})
	mf, err := r.Upload(t.Context(), reactor(1, "log_write"))
	require.NoError(t, err)
	h, err := host.New(host.Config{})
	require.NoError(t, err)
	defer h.Close(context.Background())
	r2 := modules.New(modules.Config{}, blobs, h)
	m, err := r2.Module(t.Context(), mf.Digest)
	require.NoError(t, err)
	assert.Equal(t, mf.Digest, m.Digest)
}
