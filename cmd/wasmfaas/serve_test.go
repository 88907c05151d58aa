package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeRefusesOpenAPIWithoutToken: with no token the API may only
// listen on loopback; anything else is refused at start, naming the key.
func TestServeRefusesOpenAPIWithoutToken(t *testing.T) {
	t.Chdir(t.TempDir())
	out, err := run(t, "serve", "--http-addr", "0.0.0.0:0", "--data-dir", filepath.Join(t.TempDir(), "d"))
	require.Error(t, err, out)
	assert.Contains(t, err.Error(), "config key http.addr")
	assert.Contains(t, err.Error(), "no http.token")
}

func TestServeRefusesUnknownConfigKey(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "wasmfaas")
	b, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(b))
	require.NoError(t, writeFile(filepath.Join(dir, "wasmfaas.yaml"), "http:\n  adress: 127.0.0.1:1\n"))
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), `unknown key "http.adress"`)
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }
