package main

import (
	"bytes"

	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// TestEndToEnd runs the real binary: serve on a temporary data directory
// and a free port, deploy the Go temperature example, invoke it, read the
// call back, stop with SIGTERM, start again, invoke again (the function
// survived the restart without a re-upload) and read the properties.
func TestEndToEnd(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "wasmfaas")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	bout, err := build.CombinedOutput()
	require.NoError(t, err, string(bout))
	wasm, err := hosttest.BuildGo(t.Context(), "../../examples/temperature/go")
	require.NoError(t, err)

	dir := t.TempDir()
	addr := freeAddr(t)
	env := append(os.Environ(), "WASMFAAS_DATA_DIR="+filepath.Join(dir, "data"), "WASMFAAS_HTTP_ADDR="+addr,
		"WASMFAAS_SERVER=http://"+addr, "WASMFAAS_LOG_FORMAT=json")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			return stdout.String() + stderr.String(), err
		}
		return stdout.String(), nil
	}

	stop := startServe(t, bin, dir, env, addr)
	out, err := runOut(run("deploy", "temperature", wasm, "--grant", "props,emit", "--trigger", "type=com.example.temperature.reading"))
	require.NoError(t, err, out)
	assert.Contains(t, out, "function temperature is at revision")

	out, err = runOut(run("invoke", "temperature", "--data", `{"tempc": 33}`, "--subject", "device|00000A", "--type", "com.example.temperature.reading", "-o", "json"))
	require.NoError(t, err, out)
	var info struct {
		CallID string `json:"call_id"`
		Status string
		Fields map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(out), &info), out)
	assert.Equal(t, "ok", info.Status)
	assert.Equal(t, true, info.Fields["status_changed"])

	out, err = runOut(run("calls", info.CallID, "-o", "json"))
	require.NoError(t, err, out)
	assert.Contains(t, out, `"status": "ok"`)
	assert.Contains(t, out, info.CallID)

	out, err = runOut(run("calls"))
	require.NoError(t, err, out)
	assert.Regexp(t, info.CallID+`\s+temperature\s+ok\s+[0-9.]+(ns|µs|ms|s)\s`, out, "the table shows the call's duration")

	stop() // SIGTERM, and the process must exit cleanly
	stop = startServe(t, bin, dir, env, addr)
	defer stop()

	out, err = runOut(run("invoke", "temperature", "--data", `{"tempc": 5}`, "--subject", "device|00000A"))
	require.NoError(t, err, out)
	assert.JSONEq(t, `{"temp_status": "COLD", "changed": true}`, out)

	out, err = runOut(run("props", "device|00000A"))
	require.NoError(t, err, out)
	assert.Contains(t, out, "temp_status")
	assert.Contains(t, out, `"COLD"`)

	// An event posted over HTTP is stored, routed by the trigger and
	// handled: the property changes without any invoke.
	req, err := http.NewRequest("POST", "http://"+addr+"/v1/events", bytes.NewReader([]byte(`{"tempc": 50}`)))
	require.NoError(t, err)
	for k, v := range map[string]string{"Content-Type": "application/json", "Ce-Specversion": "1.0", "Ce-Id": "reading-2",
		"Ce-Source": "/sensors", "Ce-Type": "com.example.temperature.reading", "Ce-Subject": "device|00000A"} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Eventually(t, func() bool {
		out, err := run("props", "device|00000A", "-o", "json")
		return err == nil && bytes.Contains([]byte(out), []byte(`"CRITICAL"`))
	}, 30*time.Second, 100*time.Millisecond, "the routed call sets temp_status")

	out, err = runOut(run("functions", "ls"))
	require.NoError(t, err, out)
	assert.Contains(t, out, "temperature")

	// A missing function: the server's message, a non-zero exit.
	out, err = run("invoke", "nope")
	require.Error(t, err)
	assert.Contains(t, out, "function nope does not exist")
}

func runOut(out string, err error) (string, error) { return out, err }

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// startServe starts `wasmfaas serve`, waits until it is ready and returns a
// function that stops it with SIGTERM and checks it exited cleanly.
func startServe(t *testing.T, bin, dir string, env []string, addr string) func() {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve")
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("serve not ready after 60s:\n%s", logs.String())
		}
		select {
		case err := <-exited:
			t.Fatalf("serve exited early: %v\n%s", err, logs.String())
		case <-tick.C:
		}
	}
	stopped := false
	return func() {
		if stopped {
			return
		}
		stopped = true
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		select {
		case err := <-exited:
			require.NoError(t, err, logs.String())
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("serve did not stop after SIGTERM:\n%s", logs.String())
		}
		assert.Contains(t, logs.String(), `"msg":"stopped"`)
	}
}
