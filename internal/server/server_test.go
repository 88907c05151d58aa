package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/internal/functions"
	"github.com/wasmfaas/wasmfaas/internal/server"
	"github.com/wasmfaas/wasmfaas/modules"
	"github.com/wasmfaas/wasmfaas/store/mem"
)

type env struct {
	t     *testing.T
	srv   *httptest.Server
	token string
	calls *mem.CallLog
	state *mem.Store
}

func newEnv(t *testing.T, token string) *env {
	t.Helper()
	return newEnvConfig(t, server.Config{Token: token, MaxBodyBytes: 1 << 16})
}

func newEnvConfig(t *testing.T, cfg server.Config) *env {
	t.Helper()
	return newEnvEvents(t, cfg, nil)
}

// newEnvEvents is newEnvConfig with events serving /v1/events.
func newEnvEvents(t *testing.T, cfg server.Config, events http.Handler) *env {
	t.Helper()
	return newEnvDeps(t, cfg, mem.CallLogConfig{}, func(d *server.Deps) { d.Events = events })
}

// newEnvDeps builds the API on memory backends, the call log made with
// callCfg; edit changes the deps before the server is made.
func newEnvDeps(t *testing.T, cfg server.Config, callCfg mem.CallLogConfig, edit func(*server.Deps)) *env {
	t.Helper()
	h, err := host.New(host.Config{CacheDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	st := mem.New()
	h2, err := host.New(host.Config{CacheDir: t.TempDir(), KV: st.KV(), Properties: st.Properties()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h2.Close(context.Background()) })
	blobs, err := mem.NewBlobs(mem.BlobsConfig{})
	require.NoError(t, err)
	calls, err := mem.NewCallLog(callCfg)
	require.NoError(t, err)
	reg := modules.New(modules.Config{MaxSize: 8 << 20}, blobs, h2)
	defs := mem.NewDefinitions(0)
	fns, err := functions.New(functions.Config{}, functions.Deps{Host: h2, Modules: reg, Defs: defs, Calls: calls})
	require.NoError(t, err)
	deps := server.Deps{
		Functions: fns, Triggers: functions.NewTriggers(defs, nil, nil), Modules: reg,
		Calls: calls, Properties: st.Properties(),
	}
	edit(&deps)
	s, err := server.New(cfg, deps)
	require.NoError(t, err)
	_, _, err = fns.Load(t.Context())
	require.NoError(t, err)
	s.SetReady(true)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(s.CloseStreams) // before ts.Close, which waits for open streams
	return &env{t: t, srv: ts, token: cfg.Token, calls: calls, state: st}
}

func (e *env) do(method, path, ctype string, body []byte, hdr ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	require.NoError(e.t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	resp.Body.Close()
	return resp, b
}

func errCode(t *testing.T, b []byte) string {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string }
	}
	require.NoError(t, json.Unmarshal(b, &body), string(b))
	return body.Error.Code
}

func temperature(t *testing.T) []byte {
	path, err := hosttest.BuildGo(t.Context(), "../../examples/temperature/go")
	require.NoError(t, err)
	wasm, err := os.ReadFile(path)
	require.NoError(t, err)
	return wasm
}

func TestDeployInvokeRead(t *testing.T) {
	e := newEnv(t, "")
	resp, b := e.do("POST", "/v1/modules", "application/wasm", temperature(t))
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
	var mf modules.Manifest
	require.NoError(t, json.Unmarshal(b, &mf))
	assert.Contains(t, mf.Capabilities, abi.CapProps)

	// Grants that do not cover the imports: 422 naming what is missing.
	resp, b = e.do("PUT", "/v1/functions/temperature", "application/json", []byte(`{"module": "`+mf.Digest+`", "grants": ["props"]}`))
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, string(b))
	assert.Contains(t, string(b), "emit")

	resp, b = e.do("PUT", "/v1/functions/temperature", "application/json", []byte(`{"module": "`+mf.Digest+`", "grants": ["props", "emit"]}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))

	// Binary-mode CloudEvent.
	resp, b = e.do("POST", "/v1/functions/temperature/invoke", "application/json", []byte(`{"tempc": 31}`),
		"Ce-Specversion", "1.0", "Ce-Id", "r1", "Ce-Source", "/t", "Ce-Type", "com.example.reading", "Ce-Subject", "device|1")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	assert.JSONEq(t, `{"temp_status": "WARM", "changed": true}`, string(b))
	callID := resp.Header.Get(server.HeaderCallID)
	require.NotEmpty(t, callID)
	assert.Equal(t, "ok", resp.Header.Get(server.HeaderStatus))

	// Plain data with ?output=info: the ExecutionInfo.
	resp, b = e.do("POST", "/v1/functions/temperature/invoke?output=info&subject=device%7C1", "", []byte(`{"tempc": 10}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	var info host.ExecutionInfo
	require.NoError(t, json.Unmarshal(b, &info))
	assert.Equal(t, host.StatusOK, info.Status)
	assert.Equal(t, "wasmfaas.invoke", info.Event.Type)

	// Invalid data: the function rejects it, 422.
	resp, b = e.do("POST", "/v1/functions/temperature/invoke?subject=d", "application/json", []byte(`{"tempc": "hot"}`))
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, string(b))

	resp, b = e.do("GET", "/v1/calls/"+callID, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	assert.Contains(t, string(b), `"status":"ok"`)
	resp, b = e.do("GET", "/v1/calls?function=temperature&status=rejected", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var list struct{ Calls []host.ExecutionInfo }
	require.NoError(t, json.Unmarshal(b, &list))
	require.Len(t, list.Calls, 1)

	resp, b = e.do("GET", "/v1/subjects/"+url.PathEscape("device|1")+"/properties", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	assert.Contains(t, string(b), `"COLD"`)

	// Revisions and rollback.
	resp, _ = e.do("PUT", "/v1/functions/temperature", "application/json", []byte(`{"module": "`+mf.Digest+`", "grants": ["props", "emit"], "config": {"v": "2"}}`))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, b = e.do("GET", "/v1/functions/temperature/revisions", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var revs struct{ Revisions []functions.FunctionInfo }
	require.NoError(t, json.Unmarshal(b, &revs))
	require.Len(t, revs.Revisions, 2)
	assert.Equal(t, []uint64{1, 2}, []uint64{revs.Revisions[0].Revision, revs.Revisions[1].Revision}, "revisions count 1, 2, 3 per function")
	resp, b = e.do("POST", "/v1/functions/temperature/rollback", "application/json", []byte(`{"revision": `+jsonNum(revs.Revisions[0].Revision)+`}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	assert.NotContains(t, string(b), `"v": "2"`)
	var rolled functions.FunctionInfo
	require.NoError(t, json.Unmarshal(b, &rolled))
	assert.EqualValues(t, 3, rolled.Revision, "a rollback is the next revision")

	// The module is in use: 409.
	resp, b = e.do("DELETE", "/v1/modules/"+mf.Digest, "", nil)
	assert.Equal(t, http.StatusConflict, resp.StatusCode, string(b))

	resp, b = e.do("GET", "/metrics", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(b), `wasmfaas_calls_total{function="temperature",status="ok"} 2`)
	assert.Contains(t, string(b), `wasmfaas_instances_warm{function="temperature"}`)
}

func jsonNum(n uint64) string { b, _ := json.Marshal(n); return string(b) }

func TestBadInput(t *testing.T) {
	e := newEnv(t, "")
	resp, b := e.do("POST", "/v1/modules", "application/wasm", temperature(t))
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
	var mf modules.Manifest
	require.NoError(t, json.Unmarshal(b, &mf))
	_, _ = e.do("PUT", "/v1/functions/t", "application/json", []byte(`{"module": "`+mf.Digest+`", "grants": ["props", "emit"]}`))

	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		code                            string
	}{
		{"garbage module", "POST", "/v1/modules", "application/wasm", "garbage", 422, "invalid"},
		{"empty module", "POST", "/v1/modules", "application/wasm", "", 422, "invalid"},
		{"module as text", "POST", "/v1/modules", "text/plain", "x", 415, "unsupported_media_type"},
		{"module over the size limit", "POST", "/v1/modules", "application/wasm", "\x00asm" + strings.Repeat("x", 9<<20), 413, "too_large"},
		{"missing digest", "PUT", "/v1/functions/f", "application/json", `{"module": "sha256:` + strings.Repeat("0", 64) + `"}`, 422, "invalid"},
		{"malformed digest", "PUT", "/v1/functions/f", "application/json", `{"module": "md5:x"}`, 400, "malformed"},
		{"unknown field", "PUT", "/v1/functions/f", "application/json", `{"modul": "x"}`, 400, "malformed"},
		{"dot-dot name", "PUT", "/v1/functions/..%2Fetc", "application/json", `{}`, 400, "malformed"},
		{"NUL name", "PUT", "/v1/functions/a%00b", "application/json", `{}`, 400, "malformed"},
		{"long name", "PUT", "/v1/functions/" + strings.Repeat("n", 300), "application/json", `{}`, 400, "malformed"},
		{"unknown dialect", "PUT", "/v1/triggers/tr", "application/json", `{"function": "t", "filters": [{"cesql": "x"}]}`, 422, "invalid"},
		{"empty filter value", "PUT", "/v1/triggers/tr", "application/json", `{"function": "t", "filters": [{"exact": {"type": ""}}]}`, 422, "invalid"},
		{"trigger for a missing function", "PUT", "/v1/triggers/tr", "application/json", `{"function": "nope"}`, 422, "invalid"},
		{"dead letter outside deadletter.>", "PUT", "/v1/triggers/tr", "application/json", `{"function": "t", "delivery": {"dead_letter": "events.loop"}}`, 422, "invalid"},
		{"memory_pages 70000", "PUT", "/v1/functions/big", "application/json", `{"module": "` + mf.Digest + `", "limits": {"memory_pages": 70000}}`, 422, "invalid"},
		{"timeout 100000h", "PUT", "/v1/functions/slow", "application/json", `{"module": "` + mf.Digest + `", "limits": {"timeout": "100000h"}}`, 422, "invalid"},
		{"max_concurrency 100000", "PUT", "/v1/functions/wide", "application/json", `{"module": "` + mf.Digest + `", "limits": {"max_concurrency": 100000}}`, 422, "invalid"},
		{"malformed allowed host", "PUT", "/v1/functions/web", "application/json", `{"module": "` + mf.Digest + `", "grants": ["props", "emit", "http"], "allowed_hosts": ["http://api.example.com/"]}`, 422, "invalid"},
		{"allowed hosts without http", "PUT", "/v1/functions/web", "application/json", `{"module": "` + mf.Digest + `", "grants": ["props", "emit"], "allowed_hosts": ["api.example.com"]}`, 422, "invalid"},
		{"http_timeout 100000h", "PUT", "/v1/functions/web", "application/json", `{"module": "` + mf.Digest + `", "grants": ["props", "emit", "http"], "limits": {"http_timeout": "100000h"}}`, 422, "invalid"},
		{"invoke a missing function", "POST", "/v1/functions/nope/invoke", "", "", 404, "not_found"},
		{"malformed structured event", "POST", "/v1/functions/t/invoke", "application/cloudevents+json", `{"specversion": "1.0", "id": ""}`, 400, "malformed"},
		{"invoke a batch", "POST", "/v1/functions/t/invoke", "application/cloudevents-batch+json", `[]`, 415, "unsupported_media_type"},
		{"oversized invoke", "POST", "/v1/functions/t/invoke", "application/octet-stream", strings.Repeat("x", 1<<17), 413, "too_large"},
		{"wrong method", "PATCH", "/v1/functions/t", "", "", 405, "method_not_allowed"},
		{"no such route", "GET", "/v2/anything", "", "", 404, "not_found"},
		{"missing call", "GET", "/v1/calls/nope", "", "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.do(tt.method, tt.path, tt.ctype, []byte(tt.body))
			assert.Equal(t, tt.status, resp.StatusCode, string(b))
			assert.Equal(t, tt.code, errCode(t, b))
			if tt.status == 405 {
				assert.Equal(t, "DELETE, GET, PUT", sortedAllow(resp.Header.Get("Allow")))
			}
		})
	}

	// Nothing refused was stored: no trigger, no function but t, and the
	// next valid change works.
	resp, b = e.do("GET", "/v1/triggers", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"triggers": []}`, string(b))
	resp, b = e.do("GET", "/v1/functions", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var fns struct{ Functions []struct{ Name string } }
	require.NoError(t, json.Unmarshal(b, &fns))
	require.Len(t, fns.Functions, 1)
	assert.Equal(t, "t", fns.Functions[0].Name)
	resp, b = e.do("PUT", "/v1/triggers/tr", "application/json", []byte(`{"function": "t"}`))
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(b))
}

func sortedAllow(s string) string {
	parts := strings.Split(s, ", ")
	for i := range parts {
		for j := i + 1; j < len(parts); j++ {
			if parts[j] < parts[i] {
				parts[i], parts[j] = parts[j], parts[i]
			}
		}
	}
	return strings.Join(parts, ", ")
}

func TestAuth(t *testing.T) {
	e := newEnv(t, "s3cret")
	resp, b := e.do("GET", "/v1/functions", "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	e.token = ""
	resp, b = e.do("GET", "/v1/functions", "", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, "unauthenticated", errCode(t, b))
	e.token = "wrong"
	resp, _ = e.do("GET", "/v1/functions", "", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = e.do("GET", "/healthz", "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "health needs no token")
}

// TestMetricsAuth: /metrics names every function, so with a token it is
// the token's like /v1, unless MetricsPublic says otherwise.
func TestMetricsAuth(t *testing.T) {
	for _, tc := range []struct {
		name       string
		public     bool
		wantNoAuth int
	}{
		{"behind the token", false, http.StatusUnauthorized},
		{"public", true, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvConfig(t, server.Config{Token: "s3cret", MetricsPublic: tc.public})
			resp, b := e.do("GET", "/metrics", "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "with the token")
			assert.Contains(t, string(b), "go_goroutines")
			e.token = ""
			resp, _ = e.do("GET", "/metrics", "", nil)
			assert.Equal(t, tc.wantNoAuth, resp.StatusCode, "without the token")
			e.token = "wrong"
			resp, _ = e.do("GET", "/metrics", "", nil)
			assert.Equal(t, tc.wantNoAuth, resp.StatusCode, "with a wrong token")
		})
	}
}

// TestInvokeClientErrors: synchronous invoke decodes events with the
// ingress decoder and checks plain-data attributes (?subject=, ?type=)
// with the same rule, so what the request gets wrong is a 4xx naming the
// reason, before the function runs. A subject no execution event can carry
// (a control character, over 1,024 bytes) used to run the function and
// lose the subject from its call record; now it never gets that far.
func TestInvokeClientErrors(t *testing.T) {
	e := newEnv(t, "")
	resp, b := e.do("POST", "/v1/modules", "application/wasm", temperature(t))
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
	var mf modules.Manifest
	require.NoError(t, json.Unmarshal(b, &mf))
	resp, b = e.do("PUT", "/v1/functions/temperature", "application/json", []byte(`{"module": "`+mf.Digest+`", "grants": ["props", "emit"]}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))

	ce := func(kv ...string) []string {
		return append([]string{"ce-specversion", "1.0", "ce-id", "i1", "ce-source", "/test", "ce-type", "com.example.t"}, kv...)
	}
	tests := []struct {
		name, path, ctype, body string
		hdr                     []string
		status                  int
		reason                  string // substring of the error message
	}{
		{name: "plain ?subject=device%0A1 -> 400", path: "?subject=" + url.QueryEscape("device\n1"), ctype: "application/json", body: `{"tempc": 31}`, status: 400, reason: "subject must be UTF-8 without control characters"},
		{name: "plain ?subject of 1025 bytes -> 400", path: "?subject=" + strings.Repeat("s", 1025), ctype: "application/json", body: `{"tempc": 31}`, status: 400, reason: "subject is 1025 bytes, limit 1024"},
		{name: "plain ?type=a%00b -> 400", path: "?type=a%00b", ctype: "application/json", body: `{"tempc": 31}`, status: 400, reason: "type must be UTF-8"},
		{name: "plain, Content-Type application/json; =x -> 400", ctype: "application/json; =x", body: `{"tempc": 31}`, status: 400, reason: "Content-Type"},
		{name: "binary ce-subject of 1 MiB -> 400", hdr: ce("ce-subject", strings.Repeat("s", 1<<20)), ctype: "application/json", body: `{"tempc": 31}`, status: 400, reason: "subject is 1048576 bytes, limit 1024"},
		{name: "binary ce-id nul%00id -> 400", hdr: ce("ce-id", "nul%00id"), ctype: "application/json", body: `{"tempc": 31}`, status: 400, reason: "id must be UTF-8 without control characters"},
		{name: "binary ce-subject cr%0Dlf%0A -> 400", hdr: ce("ce-subject", "cr%0Dlf%0A"), ctype: "application/json", body: `{"tempc": 31}`, status: 400, reason: "subject must be UTF-8"},
		{name: "structured subject with \\n -> 400", ctype: "application/cloudevents+json", body: `{"specversion":"1.0","id":"i2","source":"/s","type":"t","subject":"a\nb"}`, status: 400, reason: "subject must be UTF-8"},
		{name: "binary body over the limit -> 413", hdr: ce(), ctype: "application/json", body: `"` + strings.Repeat("x", 1<<17) + `"`, status: 413, reason: "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.do("POST", "/v1/functions/temperature/invoke"+tt.path, tt.ctype, []byte(tt.body), tt.hdr...)
			require.Equal(t, tt.status, resp.StatusCode, string(b))
			assert.Empty(t, resp.Header.Get(server.HeaderCallID), "the function did not run")
			var body struct {
				Error struct{ Code, Message string }
			}
			require.NoError(t, json.Unmarshal(b, &body), string(b))
			assert.Contains(t, body.Error.Message, tt.reason)
		})
	}

	// Binary mode without Content-Type: the body is opaque bytes, handed
	// to the function without a datacontenttype; whatever the function
	// makes of it, the request itself is no error of ours.
	t.Run("binary, no content type, non-JSON body -> the function runs", func(t *testing.T) {
		resp, b := e.do("POST", "/v1/functions/temperature/invoke?output=info", "", []byte("not json{"), ce()...)
		assert.Less(t, resp.StatusCode, 500, string(b))
		require.NotEmpty(t, resp.Header.Get(server.HeaderCallID), string(b))
		var info host.ExecutionInfo
		require.NoError(t, json.Unmarshal(b, &info), string(b))
		assert.Empty(t, info.Event.DataContentType)
	})
}

// TestEventsOptionsAuth: OPTIONS /v1/events (the webhook handshake) is
// behind the same token as POST, and reaches the events handler.
func TestEventsOptionsAuth(t *testing.T) {
	var reached []string
	events := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = append(reached, r.Method)
		w.WriteHeader(http.StatusOK)
	})
	ts := newEnvEvents(t, server.Config{Token: "s3cret"}, events).srv
	tests := []struct {
		name, method, token string
		status              int
	}{
		{name: "OPTIONS without token -> 401", method: "OPTIONS", status: http.StatusUnauthorized},
		{name: "OPTIONS with token -> events handler", method: "OPTIONS", token: "s3cret", status: http.StatusOK},
		{name: "POST without token -> 401", method: "POST", status: http.StatusUnauthorized},
		{name: "GET with token -> 405", method: "GET", token: "s3cret", status: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.URL+"/v1/events", nil)
			require.NoError(t, err)
			req.Header.Set("WebHook-Request-Origin", "eventemitter.example.com")
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tt.status, resp.StatusCode)
		})
	}
	assert.Equal(t, []string{"OPTIONS"}, reached, "only the authorized OPTIONS reaches the handler")
}
