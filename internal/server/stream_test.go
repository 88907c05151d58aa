package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/server"
	"github.com/wasmfaas/wasmfaas/store"
	"github.com/wasmfaas/wasmfaas/store/mem"
)

// sse is one server-sent event.
type sse struct {
	event, id, data string
}

// openStream opens GET path as an event stream and returns its events as
// they arrive; the stream is read only as fast as the channel is.
func (e *env) openStream(ctx context.Context, path string) (<-chan sse, *http.Response) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path, nil)
	require.NoError(e.t, err)
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { resp.Body.Close() })
	out := make(chan sse)
	if resp.StatusCode != http.StatusOK {
		close(out)
		return out, resp
	}
	require.Equal(e.t, "text/event-stream", resp.Header.Get("Content-Type"))
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 2<<20)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != "" {
					select {
					case out <- ev:
					case <-ctx.Done():
						return
					}
				}
				ev = sse{}
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return out, resp
}

func nextEvent(t *testing.T, evs <-chan sse) sse {
	t.Helper()
	select {
	case ev, ok := <-evs:
		require.True(t, ok, "the stream ended")
		return ev
	case <-time.After(10 * time.Second):
		require.FailNow(t, "no event within 10s")
		return sse{}
	}
}

func streamCall(id, fn, status string, record string) store.Call {
	return store.Call{ID: id, Function: fn, Status: status, Start: time.Now(), Record: json.RawMessage(record)}
}

// TestCallStream: the stream sends, in order, each call appended after it
// opened that matches its filter, as the same JSON as GET /v1/calls/{id}
// on one data line, with the call id as the event id; behind the token.
func TestCallStream(t *testing.T) {
	e := newEnv(t, "secret")
	ctx := t.Context()
	require.NoError(t, e.calls.Append(ctx, streamCall("before", "f", "ok", `{"n": 0}`)))

	noToken := *e
	noToken.token = ""
	_, resp := noToken.openStream(ctx, "/v1/calls/stream")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	evs, _ := e.openStream(ctx, "/v1/calls/stream?function=f&status=error")
	all, _ := e.openStream(ctx, "/v1/calls/stream")
	for _, c := range []store.Call{
		streamCall("1", "f", "ok", `{"n": 1}`),
		streamCall("2", "f", "error", "{\n  \"n\": 2,\n  \"text\": \"a\\nb <script>\"\n}"),
		streamCall("3", "g", "error", `{"n": 3}`),
		streamCall("4", "f", "error", `{"n": 4}`),
	} {
		require.NoError(t, e.calls.Append(ctx, c))
	}
	for _, want := range []string{"2", "4"} {
		ev := nextEvent(t, evs)
		assert.Equal(t, want, ev.id)
		assert.Empty(t, ev.event)
		_, b := e.do("GET", "/v1/calls/"+want, "", nil)
		assert.JSONEq(t, string(b), ev.data)
	}
	for _, want := range []string{"1", "2", "3", "4"} {
		assert.Equal(t, want, nextEvent(t, all).id, "before the stream opened: not sent")
	}

	_, resp = e.openStream(ctx, "/v1/calls/stream?function=a%00b")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// TestCallStreamSlowClient: 10,000 calls appended quickly to a client
// that does not read: the server's memory stays bounded (it queues a few
// calls per client, not all of them), it keeps answering other requests,
// and once the client reads again it learns how many calls it missed:
// what it received plus what it was told was dropped is every call.
func TestCallStreamSlowClient(t *testing.T) {
	const (
		total  = 10_000
		recLen = 8 << 10 // 80 MB of records in all
	)
	// The log keeps only the last 100 calls, so the records' memory is
	// the server's buffers, not the log's; appends wait until the log's
	// follower has handed each call to the server (never to the client),
	// so retention drops none the follower has not seen.
	var paced *pacedLog
	e := newEnvDeps(t, server.Config{StreamBuffer: 16}, mem.CallLogConfig{Retention: store.Retention{MaxCount: 100}}, func(d *server.Deps) {
		paced = &pacedLog{CallLog: d.Calls, seen: make(chan string, total+1000)}
		d.Calls = paced
	})
	ctx := t.Context()
	pad := strings.Repeat("x", recLen)
	evs, _ := e.openStream(ctx, "/v1/calls/stream")
	appendSeen := func(c store.Call) {
		require.NoError(t, e.calls.Append(ctx, c))
		select {
		case id := <-paced.seen:
			require.Equal(t, c.ID, id)
		case <-time.After(10 * time.Second):
			require.FailNow(t, "the follower did not see "+c.ID)
		}
	}

	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	for i := range total {
		id := fmt.Sprintf("c%d", i)
		appendSeen(streamCall(id, "f", "ok", `{"call_id": "`+id+`", "pad": "`+pad+`"}`))
	}
	grown := int64(heap()) - int64(before)
	t.Logf("heap grew by %d KiB with the client stalled", grown/1024)
	assert.Less(t, grown, int64(24<<20), "the server holds calls for a client that does not read")

	// The server keeps serving while the client is stalled.
	resp, _ := e.do("GET", "/healthz", "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, b := e.do("GET", "/v1/calls?limit=1", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(b), fmt.Sprintf(`"c%d"`, total-1))

	// The client reads again. A marker call appended after the last
	// notice ends the count: each one is either received or dropped (and
	// then told of, upon which another is appended).
	markers := 0
	addMarker := func() {
		markers++
		appendSeen(streamCall(fmt.Sprintf("marker-%d", markers), "f", "ok", `{}`))
	}
	addMarker()
	received, dropped, notices := 0, 0, 0
	for {
		ev := nextEvent(t, evs)
		if ev.event == server.StreamDroppedEvent {
			var n struct{ Dropped int }
			require.NoError(t, json.Unmarshal([]byte(ev.data), &n))
			require.Positive(t, n.Dropped)
			dropped += n.Dropped
			notices++
			addMarker()
			continue
		}
		received++
		if ev.id == fmt.Sprintf("marker-%d", markers) {
			break
		}
	}
	t.Logf("received %d calls, told of %d dropped in %d notices, %d markers", received, dropped, notices, markers)
	assert.Positive(t, dropped, "no drop notice")
	assert.Equal(t, total+markers, received+dropped, "every call is received or counted as dropped")
}

// pacedLog tells, on seen, each call its followers were handed.
type pacedLog struct {
	store.CallLog
	seen chan string
}

func (p *pacedLog) Follow(ctx context.Context, f store.CallFilter, fn func(store.Call)) error {
	return p.CallLog.Follow(ctx, f, func(c store.Call) {
		fn(c)
		p.seen <- c.ID
	})
}

// TestCrossOrigin: a browser's state-changing request from another site
// is refused with 403 whatever the token; reads from it, same-origin
// requests and non-browser clients pass.
func TestCrossOrigin(t *testing.T) {
	e := newEnv(t, "secret")
	for _, tc := range []struct {
		name   string
		method string
		hdr    []string
		refuse bool
	}{
		{"form post from another site", "POST", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, true},
		{"another site, Origin only", "POST", []string{"Origin", "https://evil.example"}, true},
		{"a sibling site", "POST", []string{"Sec-Fetch-Site", "same-site"}, true},
		{"same origin", "POST", []string{"Sec-Fetch-Site", "same-origin", "Origin", e.srv.URL}, false},
		{"same origin, Origin only", "POST", []string{"Origin", e.srv.URL}, false},
		{"no browser headers (a CLI)", "POST", nil, false},
		{"a cross-site read", "GET", []string{"Sec-Fetch-Site", "cross-site"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/v1/functions/nope/invoke"
			if tc.method == "GET" {
				path = "/v1/functions"
			}
			resp, b := e.do(tc.method, path, "text/plain", []byte("x"), tc.hdr...)
			if tc.refuse {
				assert.Equal(t, http.StatusForbidden, resp.StatusCode, string(b))
				assert.Equal(t, "forbidden", errCode(t, b))
				return
			}
			assert.NotEqual(t, http.StatusForbidden, resp.StatusCode, string(b))
		})
	}
	// The replay and rollback routes are behind the same check.
	for _, path := range []string{"/v1/deadletters/1/replay", "/v1/functions/f/rollback"} {
		resp, _ := e.do("POST", path, "application/json", []byte(`{}`), "Sec-Fetch-Site", "cross-site")
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, path)
	}
}

// TestPropertyHistory: GET /v1/properties/history returns the store's
// property-changed events, of one subject or of all, newest first.
func TestPropertyHistory(t *testing.T) {
	var e *env
	e = newEnvDeps(t, server.Config{}, mem.CallLogConfig{}, func(d *server.Deps) {
		d.History = d.Properties.(store.PropertyHistory)
	})
	ctx := t.Context()
	_, err := e.state.Properties().Set(ctx, "s 1", "p", json.RawMessage(`1`), -1)
	require.NoError(t, err)
	_, err = e.state.Properties().Set(ctx, "s 1", "p", json.RawMessage(`2`), -1)
	require.NoError(t, err)
	_, err = e.state.Properties().Set(ctx, "s2", "q", json.RawMessage(`"x"`), -1)
	require.NoError(t, err)

	var body struct {
		Events []struct {
			Subject string
			Data    struct {
				Name string          `json:"property_name"`
				Old  json.RawMessage `json:"old_value"`
				New  json.RawMessage `json:"value"`
			}
		}
	}
	resp, b := e.do("GET", "/v1/properties/history?subject=s%201", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	require.NoError(t, json.Unmarshal(b, &body))
	require.Len(t, body.Events, 2)
	assert.Equal(t, "s 1", body.Events[0].Subject)
	assert.JSONEq(t, `2`, string(body.Events[0].Data.New))
	assert.JSONEq(t, `1`, string(body.Events[0].Data.Old))

	resp, b = e.do("GET", "/v1/properties/history?limit=1", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	require.NoError(t, json.Unmarshal(b, &body))
	require.Len(t, body.Events, 1)
	assert.Equal(t, "s2", body.Events[0].Subject)

	resp, b = e.do("GET", "/v1/properties/history?limit=1001", "", nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, string(b))
}

// TestConsoleRoutes: with a console, every path outside /v1 that no API
// route takes is the console's; unknown /v1 paths keep the JSON 404.
func TestConsoleRoutes(t *testing.T) {
	e := newEnvDeps(t, server.Config{Token: "secret"}, mem.CallLogConfig{}, func(d *server.Deps) {
		d.Console = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("console " + r.URL.Path))
		})
	})
	for path, want := range map[string]string{"/": "console /", "/assets/app.js": "console /assets/app.js"} {
		resp, b := e.do("GET", path, "", nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Equal(t, want, string(b))
	}
	for _, path := range []string{"/v1", "/v1/", "/v1/nope"} {
		resp, b := e.do("GET", path, "", nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		assert.Equal(t, "not_found", errCode(t, b), path)
	}
	resp, _ := e.do("GET", "/healthz", "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
