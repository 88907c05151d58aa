package host

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/internal/wasmgen"
)

// commandModule is a WASI command whose _start writes msg to fd (1 stdout,
// 2 stderr) and then exits with code (no proc_exit when code < 0).
func commandModule(fd int32, msg string, code int32) []byte {
	var m wasmgen.Module
	fdWrite := m.Import(abi.WASIModule, "fd_write", m.Type([]byte{wasmgen.I32, wasmgen.I32, wasmgen.I32, wasmgen.I32}, []byte{wasmgen.I32}))
	procExit := m.Import(abi.WASIModule, "proc_exit", m.Type([]byte{wasmgen.I32}, nil))
	m.Memory(1, 0)
	// iovec at 0: {ptr=64, len=len(msg)}; nwritten at 16.
	m.Data(0, []byte{64, 0, 0, 0, byte(len(msg)), 0, 0, 0})
	m.Data(64, []byte(msg))
	body := [][]byte{
		wasmgen.I32Const(fd), wasmgen.I32Const(0), wasmgen.I32Const(1), wasmgen.I32Const(16),
		wasmgen.Call(fdWrite), wasmgen.Drop,
	}
	if code >= 0 {
		body = append(body, wasmgen.I32Const(code), wasmgen.Call(procExit))
	}
	m.Export(abi.StartExport, m.Func(m.Type(nil, nil), nil, body...))
	return m.Bytes()
}

func TestCommandMode(t *testing.T) {
	h := newTestHost(t)
	tests := []struct {
		name   string
		wasm   []byte
		status Status
		kind   string
		msg    string
		result string
		ctype  string
	}{
		{"json on stdout", commandModule(1, `{"ok":true}`, -1), StatusOK, "", "", `{"ok":true}`, "application/json"},
		{"text and exit 0", commandModule(1, "hello\n", 0), StatusOK, "", "", "hello\n", "text/plain; charset=utf-8"},
		{"exit 3 with stderr", commandModule(2, "boom: bad input\n", 3), StatusError, abi.KindExit, "exit code 3: boom: bad input", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := h.Load(t.Context(), tt.wasm)
			require.NoError(t, err)
			require.Equal(t, abi.ModeCommand, m.Mode)
			fn, err := h.NewFunction(t.Context(), m, FunctionConfig{Name: "cmd"})
			require.NoError(t, err)
			defer fn.Close(t.Context())
			info := h.Invoke(t.Context(), fn, event("x"))
			require.Equal(t, tt.status, info.Status, "%+v", info.Error)
			if tt.kind != "" {
				assert.Equal(t, tt.kind, info.Error.Kind)
				assert.Contains(t, info.Error.Message, tt.msg)
				assert.Equal(t, "boom: bad input", info.Logs[0].Message)
				return
			}
			require.NotNil(t, info.Result)
			assert.Equal(t, tt.result, string(info.Result.Body))
			assert.Equal(t, tt.ctype, info.Result.ContentType)
		})
	}
}

func TestCommandModeGetsNoCapabilities(t *testing.T) {
	h := newTestHost(t)
	var m wasmgen.Module
	m.Import(abi.ImportModule, "kv_get", m.Type([]byte{wasmgen.I32, wasmgen.I32, wasmgen.I32, wasmgen.I32, wasmgen.I32}, []byte{wasmgen.I32}))
	m.Memory(1, 0)
	m.Export(abi.StartExport, m.Func(m.Type(nil, nil), nil))
	_, err := h.Load(t.Context(), m.Bytes())
	require.ErrorIs(t, err, abi.ErrUnknownImport)
	assert.Contains(t, err.Error(), "WASI command module gets no wasmfaas capabilities")

	mod, err := h.Load(t.Context(), commandModule(1, "x", 0))
	require.NoError(t, err)
	_, err = h.NewFunction(t.Context(), mod, FunctionConfig{Name: "strict", Grants: abi.NewGrants(abi.CapLog)})
	require.ErrorIs(t, err, abi.ErrNotGranted)
}

// TestStoreUnavailableIsSticky: a kv call on a host without a store gets
// UNAVAILABLE and the call ends error/unavailable even though the guest
// returns 0.
func TestStoreUnavailableIsSticky(t *testing.T) {
	h := newTestHost(t) // no KV configured
	wasm := reactor(1, []string{"kv_get"}, nil,
		wasmgen.I32Const(0), wasmgen.I32Const(1), wasmgen.I32Const(0), wasmgen.I32Const(0), wasmgen.I32Const(0),
		wasmgen.Call(0), wasmgen.Drop, wasmgen.I32Const(0))
	m, err := h.Load(t.Context(), wasm)
	require.NoError(t, err)
	fn, err := h.NewFunction(t.Context(), m, FunctionConfig{Name: "kv", Grants: abi.NewGrants(abi.CapKV)})
	require.NoError(t, err)
	info := h.Invoke(t.Context(), fn, event(""))
	require.Equal(t, StatusError, info.Status)
	assert.Equal(t, abi.KindUnavailable, info.Error.Kind)
}
