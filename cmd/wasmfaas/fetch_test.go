package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// TestFetchEndToEnd deploys examples/fetch with the CLI, granting http and
// allowing one local server: invoke returns its page, functions ls shows
// the allow-list, and a URL off the list fails naming the host.
func TestFetchEndToEnd(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "the page at "+r.URL.Path)
	}))
	t.Cleanup(page.Close)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the server off the list got a request: %s", r.URL)
	}))
	t.Cleanup(other.Close)
	allowed := page.Listener.Addr().String()
	_, otherPort, _ := net.SplitHostPort(other.Listener.Addr().String())

	rig := newE2ERig(t)
	wasm, err := hosttest.BuildGo(t.Context(), "../../examples/fetch/go")
	require.NoError(t, err)
	run := rig.run
	stop := rig.serve(t)
	defer stop()

	out, err := run("deploy", "fetch", wasm, "--grant", "http", "--allow-host", allowed, "--allow-host", "api.example.com")
	require.NoError(t, err, out)
	out, err = run("invoke", "fetch", "--data", `{"url": "http://`+allowed+`/index"}`)
	require.NoError(t, err, out)
	assert.Equal(t, "the page at /index\n", out)

	out, err = run("functions", "ls")
	require.NoError(t, err, out)
	assert.Contains(t, out, "ALLOWED_HOSTS")
	assert.Contains(t, out, allowed+",api.example.com")
	out, err = run("functions", "get", "fetch")
	require.NoError(t, err, out)
	assert.Contains(t, out, `"allowed_hosts"`)

	out, err = run("invoke", "fetch", "--data", `{"url": "http://127.0.0.1:`+otherPort+`/"}`)
	require.Error(t, err, out)
	assert.Contains(t, out, "fetch_failed")
	assert.Contains(t, out, "host 127.0.0.1 (port "+otherPort+") is not on the function's allow-list")

	// A malformed entry is refused at deploy, naming it.
	out, err = run("deploy", "fetch2", wasm, "--grant", "http", "--allow-host", "http://api.example.com/")
	require.Error(t, err, out)
	assert.Contains(t, out, `allowed host "http://api.example.com/"`)
}
