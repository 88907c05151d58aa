package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/internal/app"
	"github.com/wasmfaas/wasmfaas/internal/console"
	"github.com/wasmfaas/wasmfaas/internal/server"
)

// chromium is Debian's browser, which scripts/setup.sh installs.
const chromium = "/usr/bin/chromium"

// shots is where the tests leave their screenshots (repo-relative build/).
var shots = filepath.Join("..", "..", "build", "console")

const token = "console-secret"

// host is a running wasmfaas host with the console, on 127.0.0.1:0.
type host struct {
	t   *testing.T
	url string
}

func startHost(t *testing.T) *host {
	t.Helper()
	a, err := app.New(t.Context(), app.Config{DataDir: t.TempDir(), HTTP: server.Config{Token: token}})
	require.NoError(t, err)
	ts := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		a.CloseStreams() // the browser's call stream would hold ts.Close
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, a.Shutdown(ctx))
	})
	return &host{t: t, url: ts.URL}
}

func (h *host) do(method, path, ctype string, body []byte, hdr ...string) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, bytes.NewReader(body))
	require.NoError(h.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	require.NoError(h.t, err)
	return resp.StatusCode, b.Bytes()
}

// waitFor polls GET path until its body holds every one of want.
func (h *host) waitFor(what, path string, want ...string) {
	h.t.Helper()
	require.EventuallyWithT(h.t, func(c *assert.CollectT) {
		status, b := h.do("GET", path, "", nil)
		if !assert.Equal(c, http.StatusOK, status, string(b)) {
			return
		}
		var v any
		if !assert.NoError(c, json.Unmarshal(b, &v)) {
			return
		}
		text := fmt.Sprint(v) // JSON strings decoded: markup as it was sent
		for _, w := range want {
			assert.True(c, strings.Contains(text, w) || strings.Contains(string(b), w), "%s missing from %s", w, b)
		}
	}, 20*time.Second, 50*time.Millisecond, "%s: not within 20s", what)
}

// event posts a binary-mode CloudEvent to /v1/events.
func (h *host) event(id, typ, subject, data string) {
	h.t.Helper()
	hdr := []string{"Ce-Specversion", "1.0", "Ce-Id", id, "Ce-Source", "/console-test", "Ce-Type", typ}
	if subject != "" {
		hdr = append(hdr, "Ce-Subject", subject)
	}
	status, b := h.do("POST", "/v1/events", "text/plain", []byte(data), hdr...)
	require.Equal(h.t, http.StatusAccepted, status, string(b))
}

// browser starts headless chromium and returns a context for one tab, and
// the errors its console reported.
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("the console's browser tests need Debian's chromium at %s: run scripts/setup.sh (%v)", chromium, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // in a container the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("headless", "new"),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	var (
		mu     sync.Mutex
		errors []string
	)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				errors = append(errors, "console."+string(ev.Type)+": "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			errors = append(errors, "exception: "+ev.ExceptionDetails.Text+" "+exceptionText(ev.ExceptionDetails))
		}
	}))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	require.NoError(t, chromedp.Do(ctx), "start chromium") // the browser lives as long as ctx
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errors...)
	}
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil {
		return d.Exception.Description
	}
	return ""
}

// step runs actions with a deadline of its own (the browser outlives it).
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(sctx, actions...), what)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](expr))
	require.NoError(t, err, expr)
	return v
}

// waitJS waits until a JavaScript expression is truthy.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err := chromedp.Run(sctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err, "%s: %s", what, expr)
}

// screenshot saves the viewport as build/console/<name>.png and checks it
// is a non-empty PNG.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	require.NoError(t, err, name)
	require.NoError(t, os.MkdirAll(shots, 0o755))
	path := filepath.Join(shots, name+".png")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	written, err := os.ReadFile(path)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(written))
	require.NoError(t, err, "%s is not a PNG", path)
	assert.Positive(t, img.Bounds().Dx(), path)
	assert.Positive(t, img.Bounds().Dy(), path)
}

func deployMarkup(t *testing.T, h *host) {
	t.Helper()
	path, err := hosttest.BuildGo(t.Context(), "testdata/guests/markup")
	require.NoError(t, err)
	wasm, err := os.ReadFile(path)
	require.NoError(t, err)
	status, b := h.do("POST", "/v1/modules", "application/wasm", wasm)
	require.Equal(t, http.StatusCreated, status, string(b))
	var mf struct{ Digest string }
	require.NoError(t, json.Unmarshal(b, &mf))
	// Two revisions, so the page can roll back to the first.
	for _, cfg := range []string{`{"v": "1"}`, `{"v": "2"}`} {
		status, b = h.do("PUT", "/v1/functions/markup", "application/json",
			[]byte(`{"module": "`+mf.Digest+`", "grants": ["props"], "config": `+cfg+`}`))
		require.Equal(t, http.StatusOK, status, string(b))
	}
	status, b = h.do("PUT", "/v1/triggers/markup-events", "application/json", []byte(`{"function": "markup",
		"filters": [{"exact": {"type": "com.example.markup"}}],
		"delivery": {"retries": 0, "backoff": "10ms", "backoff_policy": "linear"}}`))
	require.Equal(t, http.StatusOK, status, string(b))
}

// The markup an event and the guest carry; none of it may run.
const (
	xssSubject = `<img src=x onerror="window.__xss=1">`
	xssData    = `<script>window.__xss=1</script>`
)

// TestConsole drives the console in headless chromium against a real host
// (embedded NATS, the markup guest): sign in with the token, watch events'
// calls appear in the live stream, open a call's ExecutionInfo, see a
// subject's properties and history, replay a dead letter, invoke through
// the form, roll back; markup from events and guests is shown as text and
// never runs; the page fits 360 px and has a dark theme; the browser's
// console reports no error. Screenshots go to build/console.
func TestConsole(t *testing.T) {
	h := startHost(t)
	deployMarkup(t, h)
	ctx, consoleErrors := browser(t)

	// Sign in: the API wants the token, so the page asks for it.
	step(t, ctx, "open the console", chromedp.Navigate(h.url+"/#/functions"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	screenshot(t, ctx, "login")
	step(t, ctx, "sign in", chromedp.SetValue(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("#login-form button")),
		chromedp.WaitVisible(chromedp.CSS(`#functions-table tr[data-function="markup"]`)))
	assert.Equal(t, token, eval[string](t, ctx, `sessionStorage.getItem('wasmfaas.token')`))

	// Live stream: events sent now appear as calls.
	step(t, ctx, "open the live page", chromedp.Navigate(h.url+"/#/live"),
		chromedp.WaitVisible(chromedp.CSS(`#live-state[data-open="true"]`)))
	for i := range 3 {
		h.event(fmt.Sprintf("e%d", i), "com.example.markup", "device-1", fmt.Sprintf("reading %d", i))
	}
	h.event("xss", "com.example.markup", xssSubject, xssData)
	waitJS(t, ctx, "four calls in the live stream", `document.querySelectorAll('#live-table tbody tr').length >= 4`)
	screenshot(t, ctx, "live")

	// One call: the one about the subject made of markup.
	require.True(t, eval[bool](t, ctx, `(() => {
		const r = [...document.querySelectorAll('#live-table tbody tr')].find((r) => r.cells[4].textContent === `+jsString(xssSubject)+`);
		if (!r) return false;
		r.cells[5].querySelector('a').click();
		return true;
	})()`), "the live stream shows the subject as text")
	step(t, ctx, "open the call", chromedp.WaitVisible(chromedp.CSS("#call-summary")), chromedp.WaitVisible(chromedp.CSS("#call-logs")))
	logs := eval[string](t, ctx, `document.querySelector('#call-logs').textContent`)
	assert.Contains(t, logs, `<script>window.__xss=1</script>`, "the log is shown literally")
	assert.Contains(t, logs, `<img src=x onerror="window.__xss=1">`)
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('#call-event').textContent`), xssSubject)
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('#call-fields').textContent`), `<img src=x`)
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('#call-props').textContent`), xssData)
	assert.True(t, eval[bool](t, ctx, `document.querySelectorAll('#waterfall .wf-bar').length >= 1`))
	assert.Equal(t, 0, eval[int](t, ctx, `document.querySelectorAll('#view img, #view script').length`), "markup became elements")
	assert.True(t, eval[bool](t, ctx, `window.__xss === undefined`), "markup from an event or a guest ran")
	screenshot(t, ctx, "call")

	// The subject: its properties and their change history. The store
	// relays property-changed events just after the write: wait for them.
	h.waitFor("the subjects' property history", "/v1/properties/history?limit=100", xssSubject, "device-1")
	step(t, ctx, "open the subject", chromedp.Click(chromedp.CSS(`#call-event a`)),
		chromedp.WaitVisible(chromedp.CSS("#props-table")), chromedp.WaitVisible(chromedp.CSS("#history-table")))
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('#props-table').textContent`), xssData)
	assert.True(t, eval[bool](t, ctx, `window.__xss === undefined`))
	step(t, ctx, "list subjects", chromedp.Navigate(h.url+"/#/subjects"), chromedp.WaitVisible(chromedp.CSS("#subjects-table")))
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('#subjects-table').textContent`), "device-1")
	screenshot(t, ctx, "subjects")

	// A dead letter, replayed from the page.
	h.event("fail-1", "com.example.markup", "device-2", "fail")
	h.waitFor("a dead letter", "/v1/deadletters", `"seq"`)
	step(t, ctx, "open the dead letters", chromedp.Navigate(h.url+"/#/deadletters"),
		chromedp.WaitVisible(chromedp.CSS(`#deadletters-table tbody tr`)))
	screenshot(t, ctx, "deadletters")
	step(t, ctx, "show one", chromedp.Click(chromedp.CSS(`#deadletters-table tbody tr td a`)), chromedp.WaitVisible(chromedp.CSS("#deadletter")))
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('#deadletter').textContent`), "markup-events")
	step(t, ctx, "replay it", chromedp.Click(chromedp.CSS(`button.replay`)), chromedp.WaitVisible(chromedp.CSS(`#replay-result .replayed`)))
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('#replay-result').textContent`), "Replayed dead letter")

	// Invoke through the form, then roll back.
	step(t, ctx, "open the function", chromedp.Navigate(h.url+"/#/functions/markup"), chromedp.WaitVisible(chromedp.CSS("#invoke-form")))
	step(t, ctx, "invoke",
		chromedp.SetValue(chromedp.CSS(`#invoke-form input[name="type"]`), "com.example.form"),
		chromedp.SetValue(chromedp.CSS(`#invoke-form input[name="subject"]`), "form-subject"),
		chromedp.SetValue(chromedp.CSS(`#invoke-form input[name="datacontenttype"]`), "text/plain"),
		chromedp.SetValue(chromedp.CSS(`#invoke-form textarea[name="data"]`), "hello <b>form</b>"),
		chromedp.Click(chromedp.CSS(`#invoke-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#invoke-result .status-ok`)))
	result := eval[string](t, ctx, `document.querySelector('#invoke-result').textContent`)
	assert.Contains(t, result, "echo: hello <b>form</b>")
	assert.Contains(t, result, `"type": "com.example.form"`, "the ExecutionInfo is shown")
	screenshot(t, ctx, "invoke")
	step(t, ctx, "roll back to revision 1", chromedp.Click(chromedp.CSS(`button.rollback[data-revision="1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#revisions-table tr[data-revision="3"]`)))
	status, b := h.do("GET", "/v1/functions/markup", "", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(b), `"v": "1"`, "revision 3 is revision 1's spec")

	step(t, ctx, "triggers", chromedp.Navigate(h.url+"/#/triggers"), chromedp.WaitVisible(chromedp.CSS("#triggers-table")))
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('#triggers-table').textContent`), "com.example.markup")
	screenshot(t, ctx, "triggers")

	// 360 px: the page does not scroll sideways (tables scroll inside
	// their frame).
	step(t, ctx, "a narrow screen", chromedp.EmulateViewport(360, 740), chromedp.Navigate(h.url+"/#/functions"),
		chromedp.WaitVisible(chromedp.CSS("#functions-table")))
	assert.LessOrEqual(t, eval[int](t, ctx, `document.documentElement.scrollWidth`), 360)
	screenshot(t, ctx, "mobile-360")
	step(t, ctx, "a narrow call page", chromedp.Navigate(h.url+"/#/live"), chromedp.WaitVisible(chromedp.CSS(`#live-state[data-open="true"]`)))
	assert.LessOrEqual(t, eval[int](t, ctx, `document.documentElement.scrollWidth`), 360)

	// Dark: from the system's preference, and from the toggle.
	step(t, ctx, "wide again", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(h.url+"/#/functions"),
		chromedp.WaitVisible(chromedp.CSS("#functions-table")))
	light := eval[string](t, ctx, `getComputedStyle(document.body).backgroundColor`)
	step(t, ctx, "prefer dark", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	}))
	dark := eval[string](t, ctx, `getComputedStyle(document.body).backgroundColor`)
	assert.NotEqual(t, light, dark, "prefers-color-scheme: dark changes nothing")
	screenshot(t, ctx, "dark")
	step(t, ctx, "toggle to light", chromedp.Click(chromedp.CSS("#theme-toggle")))
	assert.Equal(t, light, eval[string](t, ctx, `getComputedStyle(document.body).backgroundColor`), "the toggle overrides the system")
	step(t, ctx, "toggle to dark", chromedp.Click(chromedp.CSS("#theme-toggle")))
	assert.Equal(t, dark, eval[string](t, ctx, `getComputedStyle(document.body).backgroundColor`))

	assert.True(t, eval[bool](t, ctx, `window.__xss === undefined`))
	assert.Empty(t, consoleErrors(), "the browser's console reported errors")

	// A page of another origin posts a form to the host: the browser says
	// so (Sec-Fetch-Site, Origin) and the host refuses it before it looks
	// at the token.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form id="f" method="POST" enctype="text/plain" action="%s/v1/functions/markup/invoke">
			<input name="x" value="y"></form><script>document.getElementById('f').submit()</script>`, h.url)
	}))
	t.Cleanup(evil.Close)
	step(t, ctx, "a cross-site form post", chromedp.Navigate(evil.URL))
	// The form navigates the tab once more: poll across that navigation
	// (an evaluation can meet the old page's context going away).
	answer := `location.pathname === '/v1/functions/markup/invoke' && document.body !== null && document.body.textContent.includes('forbidden')`
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ok, err := chromedp.Run(sctx, chromedp.Evaluate[bool](answer))
		assert.NoError(c, err)
		assert.True(c, ok, "the host's answer to a cross-site post")
	}, 20*time.Second, 50*time.Millisecond, "the host's answer to a cross-site post")
	screenshot(t, ctx, "cross-site-refused")
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestConsoleDropNotice: when the call stream says calls were dropped, the
// live page says how many (the server's side is TestCallStreamSlowClient
// in internal/server; here a stand-in API sends the notice).
func TestConsoleDropNotice(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/", console.Handler())
	mux.HandleFunc("/v1/calls/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": following calls\n\n")
		fmt.Fprint(w, "id: c1\ndata: {\"call_id\":\"c1\",\"function\":\"f\",\"status\":\"ok\",\"duration_ns\":1500}\n\n")
		fmt.Fprint(w, "event: dropped\ndata: {\"dropped\":40}\n\n")
		fmt.Fprint(w, "event: dropped\ndata: {\"dropped\":2}\n\n")
		fmt.Fprint(w, "id: c2\ndata: {\"call_id\":\"c2\",\"function\":\"f\",\"status\":\"error\",\"duration_ns\":2500}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	ctx, consoleErrors := browser(t)
	step(t, ctx, "open the live page", chromedp.Navigate(ts.URL+"/#/live"), chromedp.WaitVisible(chromedp.CSS("#drop-notice")))
	waitJS(t, ctx, "both calls shown", `document.querySelectorAll('#live-table tbody tr').length === 2`)
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('#drop-notice').textContent`), "42 calls dropped")
	screenshot(t, ctx, "live-dropped")
	step(t, ctx, "leave the page", chromedp.Navigate(ts.URL+"/#/triggers")) // aborts the stream; the page must not report it
	assert.Empty(t, consoleErrors())
}
