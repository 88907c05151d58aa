package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRoot()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func TestTestCommand(t *testing.T) {
	wasm, err := hosttest.BuildGo(t.Context(), "../../examples/temperature/go")
	require.NoError(t, err)
	cases := "../../examples/temperature/testdata"

	out, err := run(t, "test", wasm, cases)
	require.NoError(t, err, out)
	assert.Contains(t, out, "6 passed, 0 failed")

	out, err = run(t, "test", wasm, "--event", filepath.Join(cases, "warm.event.json"))
	require.NoError(t, err, out)
	var info map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &info))
	assert.Equal(t, "ok", info["status"])
	assert.Equal(t, true, info["fields"].(map[string]any)["status_changed"])

	_, err = run(t, "test", wasm, "--event", filepath.Join(cases, "invalid-type.event.json"))
	var ee *exitError
	require.ErrorAs(t, err, &ee, "a call that is not ok exits non-zero")

	// A wrong expectation fails its case, names the path, and exits non-zero.
	dir := t.TempDir()
	ev, err := os.ReadFile(filepath.Join(cases, "cold.event.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cold.event.json"), ev, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cold.expect.json"), []byte(`{"fields": {"temp_status": "WARM"}}`), 0o644))
	out, err = run(t, "test", wasm, dir, "--grant", "props,emit")
	require.ErrorAs(t, err, &ee)
	assert.Contains(t, out, "FAIL cold")
	assert.Contains(t, out, `$.fields.temp_status: want "WARM", got "COLD"`)
	assert.Contains(t, out, "0 passed, 1 failed")

	// Without the grants, the module is refused with the import named.
	out, err = run(t, "test", wasm, dir)
	require.ErrorAs(t, err, &ee)
	assert.Contains(t, out, "not granted")
}
