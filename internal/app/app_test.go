package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/internal/app"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/server"
)

func start(t *testing.T, cfg app.Config) (*app.App, *httptest.Server) {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	a, err := app.New(t.Context(), cfg)
	require.NoError(t, err)
	ts := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, a.Shutdown(ctx))
	})
	return a, ts
}

func call(t *testing.T, ts *httptest.Server, method, path, ctype string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ts.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	require.NoError(t, err)
	return resp, b.Bytes()
}

// deploy uploads the Go example in dir and makes it function name.
func deploy(t *testing.T, ts *httptest.Server, name, dir, spec string) {
	t.Helper()
	deployWith(t, ts, hosttest.BuildGo, name, dir, spec)
}

// deployWith builds the guest at path with one of hosttest's builders,
// uploads it and makes it function name, with spec's other fields.
func deployWith(t *testing.T, ts *httptest.Server, builder func(context.Context, string) (string, error), name, path, spec string) {
	t.Helper()
	out, err := builder(t.Context(), path)
	require.NoError(t, err)
	wasm, err := os.ReadFile(out)
	require.NoError(t, err)
	resp, b := call(t, ts, "POST", "/v1/modules", "application/wasm", wasm)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
	var mf struct{ Digest string }
	require.NoError(t, json.Unmarshal(b, &mf))
	resp, b = call(t, ts, "PUT", "/v1/functions/"+name, "application/json", []byte(`{"module": "`+mf.Digest+`", `+spec+`}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
}

// TestSyncInvokePublishesEmitted: a synchronous invoke goes through the same
// call path as trigger delivery, so what the function emits is published
// and a function with a trigger on that type runs.
func TestSyncInvokePublishesEmitted(t *testing.T) {
	_, ts := start(t, app.Config{})
	deploy(t, ts, "temperature", "../../examples/temperature/go", `"grants": ["props", "emit"]`)
	deploy(t, ts, "counter", "../../examples/counter/go", `"grants": ["props"]`)
	resp, b := call(t, ts, "PUT", "/v1/triggers/on-status", "application/json",
		[]byte(`{"function": "counter", "filters": [{"exact": {"type": "com.example.temperature.status.changed"}}]}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))

	resp, b = call(t, ts, "POST", "/v1/functions/temperature/invoke?subject=device%7C1", "application/json", []byte(`{"tempc": 45}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	require.NotEmpty(t, resp.Header.Get(server.HeaderCallID))

	// The emitted event reached the trigger: counter ran on it, about the
	// same subject, and counted once.
	require.Eventually(t, func() bool {
		_, b := call(t, ts, "GET", "/v1/subjects/device%7C1/properties", "", nil)
		return strings.Contains(string(b), `"count"`)
	}, 20*time.Second, 20*time.Millisecond, "counter runs on the emitted event")
	var list struct {
		Calls []struct {
			Status string
			Event  struct {
				Type, Subject string
				Extensions    map[string]any `json:"extensions"`
			}
		}
	}
	// The call is recorded after the guest's property write returns, so
	// the count can be visible before the call is.
	require.Eventually(t, func() bool {
		_, b = call(t, ts, "GET", "/v1/calls?function=counter", "", nil)
		return json.Unmarshal(b, &list) == nil && len(list.Calls) > 0
	}, 20*time.Second, 20*time.Millisecond, "counter's call is recorded")
	require.Len(t, list.Calls, 1, string(b))
	assert.Equal(t, "ok", list.Calls[0].Status)
	assert.Equal(t, "com.example.temperature.status.changed", list.Calls[0].Event.Type)
	assert.Equal(t, "device|1", list.Calls[0].Event.Subject)

}

// TestLayout: a fresh host creates exactly the layout's streams, buckets
// and object stores, each with the configured replicas (the table in
// docs/ARCHITECTURE.md is checked against the layout in internal/layout).
func TestLayout(t *testing.T) {
	a, _ := start(t, app.Config{})
	ctx := t.Context()
	js := a.JetStream()
	lay := a.Layout()

	var streams []string
	lister := js.ListStreams(ctx)
	for si := range lister.Info() {
		streams = append(streams, si.Config.Name)
		assert.Equal(t, lay.Replicas(), si.Config.Replicas, si.Config.Name)
	}
	require.NoError(t, lister.Err())
	var want []string
	for _, r := range lay.Resources() {
		switch r.Kind {
		case layout.KindStream:
			want = append(want, r.Name)
		case layout.KindKV:
			want = append(want, "KV_"+r.Name)
		case layout.KindObjectStore:
			want = append(want, "OBJ_"+r.Name)
		}
	}
	assert.ElementsMatch(t, want, streams, "every stream JetStream holds is declared by the layout, and only those")

	for _, sc := range lay.Streams() {
		s, err := js.Stream(ctx, sc.Name)
		require.NoError(t, err)
		got := s.CachedInfo().Config
		assert.Equal(t, sc.Subjects, got.Subjects, sc.Name)
		assert.Equal(t, sc.Duplicates, got.Duplicates, sc.Name)
		assert.Equal(t, sc.MaxAge, got.MaxAge, sc.Name)
		assert.Equal(t, jetstream.FileStorage, got.Storage, sc.Name)
	}
}

// TestDamagedDefinitions: a stored trigger that no longer validates and a
// function whose module is gone do not keep the host down: it starts,
// serves the rest, and names both with the reason in /readyz, the trigger
// list and the log; a valid change afterwards works.
func TestDamagedDefinitions(t *testing.T) {
	dir := t.TempDir()
	a, ts := start(t, app.Config{DataDir: dir})
	deploy(t, ts, "counter", "../../examples/counter/go", `"grants": ["props"]`)
	kv, err := a.JetStream().KeyValue(t.Context(), layout.DefsBucket)
	require.NoError(t, err)
	_, err = kv.Put(t.Context(), "trigger.bad", []byte(`{"name": "bad", "function": "counter", "delivery": {"dead_letter": "events.loop"}}`))
	require.NoError(t, err)
	_, err = kv.Put(t.Context(), "function.ghost", []byte(`{"revision": 1, "spec": {"module": "sha256:`+strings.Repeat("0", 64)+`"}}`))
	require.NoError(t, err)
	ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, a.Shutdown(ctx))

	_, ts = start(t, app.Config{DataDir: dir})
	resp, b := call(t, ts, "GET", "/readyz", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	var ready struct {
		Status            string
		InvalidTriggers   map[string]string `json:"invalid_triggers"`
		UnloadedFunctions map[string]string `json:"unloaded_functions"`
	}
	require.NoError(t, json.Unmarshal(b, &ready))
	assert.Equal(t, "degraded", ready.Status)
	assert.Contains(t, ready.InvalidTriggers["bad"], "dead_letter")
	assert.Contains(t, ready.UnloadedFunctions["ghost"], "not uploaded")

	_, b = call(t, ts, "GET", "/v1/triggers", "", nil)
	assert.Contains(t, string(b), `"invalid"`, "the trigger list marks it")
	resp, b = call(t, ts, "POST", "/v1/functions/counter/invoke?subject=s", "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the other functions run: %s", b)
	resp, b = call(t, ts, "POST", "/v1/functions/ghost/invoke", "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, string(b))
	assert.Contains(t, string(b), "could not be loaded")

	// Repair: a valid PUT replaces the bad trigger; deleting the ghost works.
	resp, b = call(t, ts, "PUT", "/v1/triggers/bad", "application/json", []byte(`{"function": "counter"}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	resp, b = call(t, ts, "DELETE", "/v1/functions/ghost", "", nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, string(b))
	_, b = call(t, ts, "GET", "/readyz", "", nil)
	assert.JSONEq(t, `{"status": "ready"}`, string(b))
}

// TestTruncatedDefinitions: the definitions bucket's block file cut in half
// (a disk that lost the end of a file) loses functions; the host starts,
// and /readyz and the log say which bucket lost how much, instead of the
// functions silently going missing.
func TestTruncatedDefinitions(t *testing.T) {
	dir := t.TempDir()
	a, ts := start(t, app.Config{DataDir: dir})
	for i := range 11 {
		deploy(t, ts, fmt.Sprintf("counter-%d", i), "../../examples/counter/go", `"grants": ["props"]`)
	}
	ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, a.Shutdown(ctx))

	blocks, err := filepath.Glob(filepath.Join(dir, "nats", "jetstream", "*", "streams", "KV_"+layout.DefsBucket, "msgs", "*.blk"))
	require.NoError(t, err)
	require.NotEmpty(t, blocks)
	last := blocks[len(blocks)-1]
	st, err := os.Stat(last)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(last, st.Size()/2))
	// The index would let the server trust the old state without reading
	// the block; a crash leaves no fresh index either.
	idx, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Dir(last)), "msgs", "*.idx"))
	for _, f := range idx {
		require.NoError(t, os.Remove(f))
	}

	_, ts = start(t, app.Config{DataDir: dir})
	resp, b := call(t, ts, "GET", "/readyz", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	var ready struct {
		Status   string
		LostData map[string]string `json:"lost_data"`
	}
	require.NoError(t, json.Unmarshal(b, &ready))
	_, fb := call(t, ts, "GET", "/v1/functions", "", nil)
	var fns struct{ Functions []struct{ Name string } }
	require.NoError(t, json.Unmarshal(fb, &fns))
	require.Less(t, len(fns.Functions), 11, "the truncation lost functions: %s", fb)
	assert.Equal(t, "degraded", ready.Status, string(b))
	assert.Contains(t, ready.LostData[layout.DefsBucket], "lost", string(b))
}

// TestEventsBodyLimit: --http-max-body-bytes (app.Config.HTTP.MaxBodyBytes)
// is the limit of POST /v1/events too, and an event within it but over the
// embedded NATS server's max payload (natsserver.MaxPayload, 4 MiB) is a
// 413 saying so, never a 503.
func TestEventsBodyLimit(t *testing.T) {
	body := func(n int) []byte { return []byte(`"` + strings.Repeat("x", n-2) + `"`) }
	tests := []struct {
		name     string
		maxBody  int64
		bodySize int
		status   int
		reason   string
	}{
		{name: "body of 2 MiB, limit 4 MiB -> 202", maxBody: 4 << 20, bodySize: 2 << 20, status: http.StatusAccepted},
		{name: "body of 2 MiB, limit 1 MiB -> 413", maxBody: 1 << 20, bodySize: 2 << 20, status: http.StatusRequestEntityTooLarge, reason: "limit of 1048576"},
		{name: "body of 5 MiB, limit 8 MiB, over the 4 MiB max payload -> 413", maxBody: 8 << 20, bodySize: 5 << 20, status: http.StatusRequestEntityTooLarge, reason: "max payload of 4194304 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ts := start(t, app.Config{HTTP: server.Config{MaxBodyBytes: tt.maxBody}})
			resp, b := call(t, ts, "POST", "/v1/events", "application/json", body(tt.bodySize),
				"ce-specversion", "1.0", "ce-id", "big-1", "ce-source", "/test", "ce-type", "com.example.big")
			require.Equal(t, tt.status, resp.StatusCode, string(b))
			if tt.reason != "" {
				assert.Contains(t, string(b), tt.reason)
			}
		})
	}
}

// TestNewTriggerSeesNewEvents: a trigger created after 10 matching events
// runs 0 calls until the 11th arrives (a 12th, the marker, shows nothing
// older came late); a trigger asking for replay_from "all" runs on all of
// them.
func TestNewTriggerSeesNewEvents(t *testing.T) {
	_, ts := start(t, app.Config{})
	deploy(t, ts, "counter", "../../examples/counter/go", `"grants": ["props"]`)
	deploy(t, ts, "replayer", "../../examples/counter/go", `"grants": ["props"]`)
	post := func(i int) {
		t.Helper()
		resp, b := call(t, ts, "POST", "/v1/events", "application/json", []byte(`{}`),
			"Ce-Specversion", "1.0", "Ce-Id", fmt.Sprintf("e%d", i), "Ce-Source", "/t", "Ce-Type", "com.example.tick", "Ce-Subject", fmt.Sprintf("s%d", i))
		require.Equal(t, http.StatusAccepted, resp.StatusCode, string(b))
	}
	calls := func(fn string) []string {
		_, b := call(t, ts, "GET", "/v1/calls?limit=100&function="+fn, "", nil)
		var list struct {
			Calls []struct{ Event struct{ ID string } }
		}
		require.NoError(t, json.Unmarshal(b, &list), string(b))
		var ids []string
		for _, c := range list.Calls {
			ids = append(ids, c.Event.ID)
		}
		return ids
	}
	for i := 1; i <= 10; i++ {
		post(i)
	}
	resp, b := call(t, ts, "PUT", "/v1/triggers/counter", "application/json", []byte(`{"function": "counter", "filters": [{"exact": {"type": "com.example.tick"}}]}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	resp, b = call(t, ts, "PUT", "/v1/triggers/replayer", "application/json", []byte(`{"function": "replayer", "replay_from": "all", "filters": [{"exact": {"type": "com.example.tick"}}]}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	resp, b = call(t, ts, "PUT", "/v1/triggers/bad-replay", "application/json", []byte(`{"function": "counter", "replay_from": "yesterday"}`))
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, string(b))

	post(11)
	require.Eventually(t, func() bool { return len(calls("counter")) >= 1 }, 20*time.Second, 20*time.Millisecond)
	post(12)
	require.Eventually(t, func() bool { return len(calls("counter")) >= 2 }, 20*time.Second, 20*time.Millisecond)
	assert.ElementsMatch(t, []string{"e11", "e12"}, calls("counter"), "none of the 10 older events ran")
	require.Eventually(t, func() bool { return len(calls("replayer")) == 12 }, 20*time.Second, 20*time.Millisecond, "replay_from all runs on every retained event")

	// A change to the trigger keeps its start: no replay.
	resp, b = call(t, ts, "PUT", "/v1/triggers/counter", "application/json", []byte(`{"function": "counter", "filters": [{"prefix": {"type": "com.example."}}]}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	post(13)
	require.Eventually(t, func() bool { return len(calls("counter")) >= 3 }, 20*time.Second, 20*time.Millisecond)
	assert.ElementsMatch(t, []string{"e11", "e12", "e13"}, calls("counter"))
}

// TestIdempotentWritesSwitch: the same CloudEvent invoked twice applies the
// counter's write once (write ids, the default), or twice with PlainWrites
// (state.idempotent_writes false).
func TestIdempotentWritesSwitch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plain bool
		want  string
	}{{"write ids", false, "1"}, {"plain writes", true, "2"}} {
		t.Run(tc.name, func(t *testing.T) {
			_, ts := start(t, app.Config{PlainWrites: tc.plain})
			deploy(t, ts, "counter", "../../examples/counter/go", `"grants": ["props"]`)
			for range 2 {
				resp, b := call(t, ts, "POST", "/v1/functions/counter/invoke", "application/json", []byte(`{}`),
					"Ce-Specversion", "1.0", "Ce-Id", "same", "Ce-Source", "/t", "Ce-Type", "com.example.tick", "Ce-Subject", "door")
				require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
			}
			_, b := call(t, ts, "GET", "/v1/subjects/door/properties", "", nil)
			var props struct {
				Properties map[string]struct{ Value json.RawMessage }
			}
			require.NoError(t, json.Unmarshal(b, &props))
			assert.JSONEq(t, tc.want, string(props.Properties["count"].Value), string(b))
		})
	}
}
