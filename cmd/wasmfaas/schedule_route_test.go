package main

import (
	"encoding/json"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// TestServeRoutesAndSchedules runs the real binary: a function deployed
// with --route answers curl with its guest's status, headers and body; a
// function deployed with --schedule '@every 1s' runs at least twice within
// 3 seconds and keeps ticking after serve restarts; curl / gets the
// console's page.
func TestServeRoutesAndSchedules(t *testing.T) {
	curl, err := exec.LookPath("curl")
	require.NoError(t, err, "curl is needed: apt-get install curl")
	rig := newE2ERig(t)
	wasm, err := hosttest.BuildGo(t.Context(), "../../examples/hello/go")
	require.NoError(t, err)
	run, addr := rig.run, rig.addr
	stop := rig.serve(t)
	defer func() { stop() }()

	out, err := run("deploy", "hello", wasm, "--route", "GET /hello/{name}")
	require.NoError(t, err, out)
	assert.Contains(t, out, "trigger hello serves GET /hello/{name}")
	c := exec.Command(curl, "-s", "-i", "http://"+addr+"/fn/hello/ada")
	cout, err := c.CombinedOutput()
	require.NoError(t, err, string(cout))
	assert.Contains(t, string(cout), "HTTP/1.1 200 OK")
	assert.Contains(t, string(cout), "X-Hello-Name: ada")
	assert.Contains(t, string(cout), "Content-Type: text/plain; charset=utf-8")
	assert.Contains(t, string(cout), "\r\n\r\nhello, ada\n")

	// The console is the page at /.
	c = exec.Command(curl, "-s", "-i", "http://"+addr+"/")
	cout, err = c.CombinedOutput()
	require.NoError(t, err, string(cout))
	assert.Contains(t, string(cout), "HTTP/1.1 200 OK")
	assert.Contains(t, string(cout), "Content-Type: text/html")
	assert.Contains(t, string(cout), "<!doctype html>")

	out, err = run("deploy", "tick", wasm, "--schedule", "@every 1s")
	require.NoError(t, err, out)
	assert.Contains(t, out, `trigger tick runs tick on schedule "@every 1s"`)
	out, err = run("triggers", "ls")
	require.NoError(t, err, out)
	assert.Regexp(t, `tick\s+tick\s+schedule @every 1s\s+delivered`, out)
	assert.Regexp(t, `hello\s+hello\s+route GET /hello/\{name\}\s+delivered`, out)

	ticks := func() int {
		out, err := run("calls", "--function", "tick", "-o", "json", "--limit", "1000")
		require.NoError(t, err, out)
		var list struct{ Calls []json.RawMessage }
		require.NoError(t, json.Unmarshal([]byte(out), &list), out)
		return len(list.Calls)
	}
	deployed := time.Now()
	require.Eventually(t, func() bool { return ticks() >= 2 }, 30*time.Second, 100*time.Millisecond)
	t.Logf("2 ticks %s after the deploy", time.Since(deployed).Round(time.Millisecond))

	stop()
	stop = rig.serve(t)
	before := ticks()
	require.Eventually(t, func() bool { return ticks() >= before+2 }, 30*time.Second, 100*time.Millisecond, "ticks after the restart")
}
