package host

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/internal/wasmgen"
)

func TestHTTPFunctionConfig(t *testing.T) {
	h := newTestHost(t)
	m, err := h.Load(t.Context(), reactor(1, []string{"http_request"}, nil, wasmgen.I32Const(0)))
	require.NoError(t, err)
	assert.Equal(t, []abi.Capability{abi.CapHTTP}, m.Capabilities)

	_, err = h.NewFunction(t.Context(), m, FunctionConfig{Name: "f"})
	require.ErrorIs(t, err, abi.ErrNotGranted)
	assert.Contains(t, err.Error(), `wasmfaas_v1.http_request: needs capability "http"`)

	_, err = h.NewFunction(t.Context(), m, FunctionConfig{Name: "f", Grants: abi.NewGrants(abi.CapHTTP), AllowedHosts: []string{"http://x.example.com"}})
	require.ErrorIs(t, err, ErrInvalidFunction)
	assert.Contains(t, err.Error(), `allowed host "http://x.example.com"`)

	noop, err := h.Load(t.Context(), reactor(1, nil, nil, wasmgen.I32Const(0)))
	require.NoError(t, err)
	_, err = h.NewFunction(t.Context(), noop, FunctionConfig{Name: "f", AllowedHosts: []string{"api.example.com"}})
	require.ErrorIs(t, err, ErrInvalidFunction)
	assert.Contains(t, err.Error(), `capability "http" is not granted`)

	_, err = h.NewFunction(t.Context(), m, FunctionConfig{Name: "f", Grants: abi.NewGrants(abi.CapHTTP), Limits: Limits{MaxHTTPResponseBytes: 1 << 30}})
	require.ErrorIs(t, err, ErrInvalidFunction)
	assert.Contains(t, err.Error(), "max_http_response_bytes")

	fn, err := h.NewFunction(t.Context(), m, FunctionConfig{Name: "f", Grants: abi.NewGrants(abi.CapHTTP), AllowedHosts: []string{"api.example.com", "127.0.0.1:8081"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"api.example.com", "127.0.0.1:8081"}, fn.AllowedHosts())
	assert.Equal(t, DefaultLimits.MaxHTTPResponseBytes, fn.Limits().MaxHTTPResponseBytes)
	require.NoError(t, fn.Close(t.Context()))
}

// TestHTTPBadPointers: every http function checks its regions before
// anything else and traps naming itself.
func TestHTTPBadPointers(t *testing.T) {
	h := newTestHost(t)
	c := wasmgen.I32Const
	for _, tt := range []struct {
		name string
		body [][]byte
	}{
		{"http_request", [][]byte{c(0), c(0), c(-16), c(32), c(0), c(0), c(0), c(0)}},
		{"http_response_body", [][]byte{c(65000), c(1000)}},
		{"http_response_header", [][]byte{c(0), c(0x7ffffff0), c(0), c(0)}},
		{"http_response_headers", [][]byte{c(-1), c(2)}},
		{"http_error", [][]byte{c(10), c(-1)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := append(append([][]byte{}, tt.body...), wasmgen.Call(0), wasmgen.Drop, c(0))
			wasm := reactor(1, []string{tt.name}, nil, body...)
			m, err := h.Load(t.Context(), wasm)
			require.NoError(t, err)
			fn, err := h.NewFunction(t.Context(), m, FunctionConfig{Name: "bad", Grants: abi.NewGrants(abi.CapHTTP)})
			require.NoError(t, err)
			info := h.Invoke(t.Context(), fn, event(""))
			require.Equal(t, StatusTrap, info.Status, "%+v", info.Error)
			assert.Contains(t, info.Error.Message, tt.name+": region")
			assert.Contains(t, info.Error.Message, "outside memory")
			assert.Empty(t, info.HTTPRequests, "nothing was sent")
			require.NoError(t, fn.Close(t.Context()))
		})
	}
}
