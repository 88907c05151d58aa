package hosttest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// buildC builds a C guest (a directory or one .c file) under the repository.
func buildC(t testing.TB, path string) []byte {
	t.Helper()
	out, err := hosttest.BuildC(t.Context(), filepath.Join(repoRoot, path))
	require.NoError(t, err)
	wasm, err := os.ReadFile(out)
	require.NoError(t, err)
	return wasm
}

// TestCExampleImports checks that the linker keeps only the host functions
// a C example uses, so that each needs no capability beyond its suite.json:
// hello must run with the defaults.
func TestCExampleImports(t *testing.T) {
	h := newHost(t)
	for _, tc := range []struct {
		name string
		mode abi.Mode
		caps []abi.Capability // beyond the defaults
	}{
		{"hello", abi.ModeReactor, nil},
		{"counter", abi.ModeReactor, []abi.Capability{abi.CapProps}},
		{"temperature", abi.ModeReactor, []abi.Capability{abi.CapEmit, abi.CapProps}},
		{"wasi-upper", abi.ModeCommand, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := h.Load(t.Context(), buildC(t, filepath.Join("examples", tc.name, "c")))
			require.NoError(t, err)
			t.Logf("%s imports %v", tc.name, m.Imports)
			assert.Equal(t, tc.mode, m.Mode)
			var extra []abi.Capability
			for _, c := range m.Capabilities {
				if !abi.NewGrants(abi.DefaultGrants...)[c] && c != abi.CapCore {
					extra = append(extra, c)
				}
			}
			assert.ElementsMatch(t, tc.caps, extra, "imports: %v", m.Imports)
		})
	}
}

// TestCBadInput: C guests that misuse the ABI end as trap or error with a
// clear message, and the next call on the same function is ok.
func TestCBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, guest, subject string
		grants               []abi.Capability
		status               host.Status
		kind                 string
		message              []string
	}{
		{
			name: "buffer capacity past the end of memory", guest: "overflow",
			status: host.StatusTrap, message: []string{"event_data: region", "+0x40) outside memory"},
		},
		{
			name: "negative length", guest: "badlen",
			status: host.StatusTrap, message: []string{"event_attr: region", "+0xffffffff) outside memory"},
		},
		{
			name: "huge length", guest: "badlen", subject: "huge",
			status: host.StatusTrap, message: []string{"log_write: region", "+0x7ffffff0) outside memory"},
		},
		{
			name: "result pointer outside memory", guest: "badresult",
			status: host.StatusTrap, message: []string{"result_set: region", "outside memory"},
		},
		{
			name: "emit with an empty type", guest: "emptytype", grants: []abi.Capability{abi.CapEmit},
			status: host.StatusError, kind: abi.KindInvalidEmit, message: []string{"emitted event 0", "type is missing or empty"},
		},
		{
			name: "undefined behaviour under UBSan", guest: "ubsan",
			status: host.StatusTrap, message: []string{"unreachable"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t)
			fn, err := h.Deploy(t.Context(), tc.guest, buildC(t, filepath.Join("host", "hosttest", "testdata", "cguests", tc.guest+".c")),
				hosttest.Grant(tc.grants...))
			require.NoError(t, err)
			info := h.Send(t.Context(), fn, hosttest.NewEvent("com.example.bad", tc.subject, "bad"))
			require.Equal(t, tc.status, info.Status, "%+v", info.Error)
			require.NotNil(t, info.Error)
			t.Logf("%s %s: %s", info.Status, info.Error.Kind, info.Error.Message)
			if tc.kind != "" {
				assert.Equal(t, tc.kind, info.Error.Kind)
			}
			for _, m := range tc.message {
				assert.Contains(t, info.Error.Message, m)
			}
			assert.Empty(t, info.Emitted, "nothing is emitted from a failed call")
			next := h.Send(t.Context(), fn, hosttest.NewEvent("com.example.bad", tc.subject, "calm"))
			require.Equal(t, host.StatusOK, next.Status, "%+v", next.Error)
			require.NotNil(t, next.Result)
			assert.Equal(t, "calm", string(next.Result.Body))
		})
	}
}
