package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/internal/app"
)

// TestHTTPTrigger: a function bound to "GET /hello/{name}" serves
// /fn/hello/ada with the status, headers and body its guest set; the call is
// recorded like any other.
func TestHTTPTrigger(t *testing.T) {
	_, ts := start(t, app.Config{})
	deploy(t, ts, "hello", "../../examples/hello/go", `"grants": []`)
	code, b := putTrigger(t, ts, "hello", `{"function": "hello", "route": "GET /hello/{name}"}`)
	require.Equal(t, http.StatusOK, code, b)

	resp, err := http.Get(ts.URL + "/fn/hello/ada?lang=en")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "hello, ada\n", string(body))
	assert.Equal(t, "ada", resp.Header.Get("X-Hello-Name"))
	assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	callID := resp.Header.Get("Wasmfaas-Call-Id")
	require.NotEmpty(t, callID)

	_, cb := call(t, ts, "GET", "/v1/calls/"+callID, "", nil)
	var info struct {
		Status string
		Event  struct {
			Type, Subject string
			Extensions    map[string]string
		}
	}
	require.NoError(t, json.Unmarshal(cb, &info), string(cb))
	assert.Equal(t, "ok", info.Status)
	assert.Equal(t, "wasmfaas.http.request", info.Event.Type)
	assert.Equal(t, "/hello/ada", info.Event.Subject)
	assert.Equal(t, map[string]string{"httpmethod": "GET", "httppath": "/hello/ada", "httpquery": "lang=en", "httproute": "GET /hello/{name}", "paramname": "ada", "httpuseragent": "Go-http-client/1.1"}, info.Event.Extensions)

	// Other methods and paths: JSON 405 and 404, not the function.
	resp, b2 := call(t, ts, "POST", "/fn/hello/ada", "text/plain", []byte("x"))
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, string(b2))
	assert.Contains(t, resp.Header.Get("Allow"), "GET")
	resp, b2 = call(t, ts, "GET", "/fn/nothing", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, string(b2))

	// Routes are refused when they collide or do not parse, and the API
	// and CLI list the route.
	deploy(t, ts, "other", "../../examples/hello/go", `"grants": []`)
	for _, tc := range []struct {
		body string
		code int
		want string
	}{
		{`{"function": "other", "route": "GET /hello/{who}"}`, http.StatusConflict, "conflicts with trigger hello"},
		{`{"function": "other", "route": "GET hello"}`, http.StatusUnprocessableEntity, "must start with /"},
		{`{"function": "other", "route": "FETCH /x"}`, http.StatusUnprocessableEntity, "method"},
		{`{"function": "other", "route": "GET /x/{Bad_Name}"}`, http.StatusUnprocessableEntity, "lowercase"},
		{`{"function": "other", "route": "GET /x/{a...}/y"}`, http.StatusUnprocessableEntity, "last segment"},
		{`{"function": "other", "route": "GET /x", "schedule": "@every 1s"}`, http.StatusUnprocessableEntity, "no filters, schedule"},
	} {
		code, b := putTrigger(t, ts, "other", tc.body)
		assert.Equal(t, tc.code, code, "%s: %s", tc.body, b)
		assert.Contains(t, b, tc.want, tc.body)
	}
	code, b = putTrigger(t, ts, "other", `{"function": "other", "route": "POST /hello/{name}"}`)
	assert.Equal(t, http.StatusOK, code, "another method on the same path is no conflict: %s", b)
	resp, b2 = call(t, ts, "POST", "/fn/hello/bob", "text/plain", []byte("x"))
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(b2))
	assert.Equal(t, "hello, bob\n", string(b2))
}

// TestHTTPTriggerFailures: what a guest does wrong answers with a status
// that says whose fault it is, the call id, and no stack trace.
func TestHTTPTriggerFailures(t *testing.T) {
	_, ts := start(t, app.Config{})
	deployWith(t, ts, hosttest.BuildC, "shape", "../../host/hosttest/testdata/cguests/httpresponse.c", `"limits": {"timeout": "500ms", "max_concurrency": 1}`)
	code, tb := putTrigger(t, ts, "shape", `{"function": "shape", "route": "/shape/{mode}"}`)
	require.Equal(t, http.StatusOK, code, tb)

	get := func(mode string) (*http.Response, string) {
		resp, err := http.Get(ts.URL + "/fn/shape/" + mode)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("teapot")
	assert.Equal(t, http.StatusTeapot, resp.StatusCode)
	assert.Equal(t, "earl grey", resp.Header.Get("X-Tea"))
	assert.Equal(t, []string{"a=1", "b=2"}, resp.Header.Values("Set-Cookie"))
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"short": true}`, body)

	for _, tc := range []struct {
		mode   string
		status int
		want   []string
	}{
		{"badstatus", http.StatusInternalServerError, []string{"invalid_response", "42 is not an HTTP status code"}},
		{"badheader", http.StatusInternalServerError, []string{"invalid_response", "control character"}},
		{"trap", http.StatusInternalServerError, []string{"function_trap", "the function trapped; see call"}},
		{"reject", http.StatusBadRequest, []string{"invalid_input", "the caller asked for it"}},
		{"loop", http.StatusGatewayTimeout, []string{"timeout"}},
	} {
		resp, body := get(tc.mode)
		assert.Equal(t, tc.status, resp.StatusCode, "%s: %s", tc.mode, body)
		id := resp.Header.Get("Wasmfaas-Call-Id")
		assert.NotEmpty(t, id, tc.mode)
		assert.Contains(t, body, id, "%s: the body names the call", tc.mode)
		for _, w := range tc.want {
			assert.Contains(t, body, w, tc.mode)
		}
		assert.NotContains(t, body, "goroutine", tc.mode)
		assert.Empty(t, resp.Header.Get("X-Split"), tc.mode)
		assert.Empty(t, resp.Header.Get("Injected"), tc.mode)
	}
}
