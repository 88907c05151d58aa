package functions

import (
	"context"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/wasmgen"
	"github.com/wasmfaas/wasmfaas/modules"
	"github.com/wasmfaas/wasmfaas/store/mem"
)

// TestNewRevisionWhileInFlight: a call in flight keeps its revision; the
// next call gets the new one; the old one closes when its last call ends.
func TestNewRevisionWhileInFlight(t *testing.T) {
	h, err := host.New(host.Config{CacheDir: t.TempDir()})
	require.NoError(t, err)
	defer h.Close(context.Background())
	blobs, err := mem.NewBlobs(mem.BlobsConfig{})
	require.NoError(t, err)
	reg := modules.New(modules.Config{}, blobs, h)
	var m wasmgen.Module
	m.Memory(1, 0)
	m.Export(abi.VersionExport, m.Func(m.Type(nil, nil), nil))
	m.Export(abi.HandleExport, m.Func(m.Type(nil, []byte{wasmgen.I32}), nil, wasmgen.I32Const(0)))
	mf, err := reg.Upload(t.Context(), m.Bytes())
	require.NoError(t, err)
	c, err := New(Config{}, Deps{Host: h, Modules: reg, Defs: mem.NewDefinitions(0)})
	require.NoError(t, err)

	_, err = c.Put(t.Context(), "f", FunctionSpec{Module: mf.Digest})
	require.NoError(t, err)
	inflight, err := c.acquire("f")
	require.NoError(t, err)

	v2, err := c.Put(t.Context(), "f", FunctionSpec{Module: mf.Digest, Config: map[string]string{"v": "2"}})
	require.NoError(t, err)
	next, err := c.acquire("f")
	require.NoError(t, err)
	assert.Equal(t, v2.Revision, next.info.Revision, "new calls get the new revision")
	assert.NotEqual(t, inflight.info.Revision, next.info.Revision)

	ev := cloudevents.NewEvent()
	ev.SetID("1")
	ev.SetSource("/t")
	ev.SetType("t")
	assert.Equal(t, host.StatusOK, h.Invoke(t.Context(), inflight.fn, ev).Status, "the call in flight finishes on the old revision")
	inflight.release(t.Context())
	assert.False(t, inflight.acquire(), "the old revision is retired")
	next.release(t.Context())
}

// TestHTTPAllowedHostsSpec: allowed_hosts and the http limits reach the
// host function and are shown back; a malformed entry, or entries without
// the http grant, are refused and nothing is stored.
func TestHTTPAllowedHostsSpec(t *testing.T) {
	h, err := host.New(host.Config{CacheDir: t.TempDir()})
	require.NoError(t, err)
	defer h.Close(context.Background())
	blobs, err := mem.NewBlobs(mem.BlobsConfig{})
	require.NoError(t, err)
	reg := modules.New(modules.Config{}, blobs, h)
	var m wasmgen.Module
	m.Memory(1, 0)
	m.Export(abi.VersionExport, m.Func(m.Type(nil, nil), nil))
	m.Export(abi.HandleExport, m.Func(m.Type(nil, []byte{wasmgen.I32}), nil, wasmgen.I32Const(0)))
	mf, err := reg.Upload(t.Context(), m.Bytes())
	require.NoError(t, err)
	c, err := New(Config{}, Deps{Host: h, Modules: reg, Defs: mem.NewDefinitions(0)})
	require.NoError(t, err)

	spec := FunctionSpec{Module: mf.Digest, Grants: []string{"http"}, AllowedHosts: []string{"api.example.com", "127.0.0.1:8081"},
		Limits: LimitsSpec{MaxHTTPResponseBytes: 4096}}
	_, err = c.Put(t.Context(), "web", spec)
	require.NoError(t, err)
	info, err := c.Get("web")
	require.NoError(t, err)
	assert.Equal(t, []string{"api.example.com", "127.0.0.1:8081"}, info.Spec.AllowedHosts)
	d, err := c.acquire("web")
	require.NoError(t, err)
	assert.Equal(t, []string{"api.example.com", "127.0.0.1:8081"}, d.fn.AllowedHosts())
	assert.Equal(t, 4096, d.fn.Limits().MaxHTTPResponseBytes)
	d.release(t.Context())

	for _, tt := range []struct {
		name string
		spec FunctionSpec
		want string
	}{
		{"malformed entry", FunctionSpec{Module: mf.Digest, Grants: []string{"http"}, AllowedHosts: []string{"api.example.com/v1"}}, `allowed host "api.example.com/v1"`},
		{"no http grant", FunctionSpec{Module: mf.Digest, AllowedHosts: []string{"api.example.com"}}, `capability "http" is not granted`},
		{"limit past its bound", FunctionSpec{Module: mf.Digest, Grants: []string{"http"}, Limits: LimitsSpec{MaxHTTPRequests: 5000}}, "max_http_requests 5000 exceeds 1000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Put(t.Context(), "web2", tt.spec)
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tt.want)
			assert.False(t, c.Has("web2"))
		})
	}
}
