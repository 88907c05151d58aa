// The sender side of the interop test: each real sender sends an event,
// the hello example (which echoes the data with the content type it saw)
// runs on it through a trigger, and the call log, read through the calls
// API, shows the event's attributes and what the guest saw. The read-back
// side, what the host publishes decoded with the same bindings, is
// published_test.go.
package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	cenats "github.com/cloudevents/sdk-go/protocol/nats/v2"
	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/internal/app"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
)

const (
	function  = "hello"
	eventType = "com.example.interop"
	// subject has a % that starts no escape, as sdk-go sends it (it does
	// not percent-encode): the host keeps it as it is.
	subject = "device|50%"
	data    = `{"n":1}`
)

// host is a running wasmfaas on a NATS server with TCP, hello deployed
// with a trigger on eventType and one on "T" (the plain nats.go case).
type testHost struct {
	ts  *httptest.Server
	url string // the NATS server
}

func startHost(t *testing.T) *testHost {
	t.Helper()
	srv := natstest.Start(t, natstest.WithTCP())
	a, err := app.New(t.Context(), app.Config{DataDir: t.TempDir(), NATS: app.NATSConfig{Conn: srv.Dial()}})
	require.NoError(t, err)
	ts := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, a.Shutdown(ctx))
	})
	h := &testHost{ts: ts, url: srv.URL()}

	path, err := hosttest.BuildGo(t.Context(), "../../examples/hello/go")
	require.NoError(t, err)
	wasm, err := os.ReadFile(path)
	require.NoError(t, err)
	b := h.call(t, "POST", "/v1/modules", "application/wasm", wasm, http.StatusCreated)
	var mf struct{ Digest string }
	require.NoError(t, json.Unmarshal(b, &mf))
	h.call(t, "PUT", "/v1/functions/"+function, "application/json", []byte(`{"module": "`+mf.Digest+`"}`), http.StatusOK)
	for name, typ := range map[string]string{"interop": eventType, "interop-t": "T"} {
		h.call(t, "PUT", "/v1/triggers/"+name, "application/json",
			[]byte(`{"function": "`+function+`", "filters": [{"exact": {"type": "`+typ+`"}}]}`), http.StatusOK)
	}
	return h
}

func (h *testHost) call(t *testing.T, method, path, ctype string, body []byte, want int) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, h.ts.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := h.ts.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	require.NoError(t, err)
	require.Equal(t, want, resp.StatusCode, "%s %s: %s", method, path, b.String())
	return b.Bytes()
}

// waitCall polls the calls API until the call of hello on the event with
// this id and source is logged, and returns its ExecutionInfo.
func (h *testHost) waitCall(t *testing.T, id, source string) host.ExecutionInfo {
	t.Helper()
	return h.waitCallOf(t, function, id, source)
}

// newEvent is the event every sender sends, with its own id and source.
func newEvent(t *testing.T, id, source string) cloudevents.Event {
	t.Helper()
	ev := cloudevents.NewEvent()
	ev.SetID(id)
	ev.SetSource(source)
	ev.SetType(eventType)
	ev.SetSubject(subject)
	ev.SetExtension("fleet", "north")
	require.NoError(t, ev.SetData(cloudevents.ApplicationJSON, []byte(data)))
	return ev
}

// assertAsSent checks that the call ran ok on an event with every
// attribute of sent, and that the guest saw its data and content type.
func assertAsSent(t *testing.T, info host.ExecutionInfo, sent cloudevents.Event) {
	t.Helper()
	require.Equal(t, host.StatusOK, info.Status, "call %+v", info.Error)
	assert.Equal(t, sent.ID(), info.Event.ID)
	assert.Equal(t, sent.Source(), info.Event.Source)
	assert.Equal(t, sent.Type(), info.Event.Type)
	assert.Equal(t, sent.Subject(), info.Event.Subject)
	assert.Equal(t, sent.DataContentType(), info.Event.DataContentType)
	assert.Equal(t, "north", info.Event.Extensions["fleet"])
	// hello echoes the data with the content type the guest saw.
	require.NotNil(t, info.Result)
	assert.Equal(t, sent.DataContentType(), info.Result.ContentType, "content type the guest saw")
	// The calls API indents its JSON, result included: the same JSON.
	assert.JSONEq(t, string(sent.Data()), string(info.Result.Body), "data the guest saw")
}

func TestSenders(t *testing.T) {
	h := startHost(t)
	httpClient, err := cloudevents.NewClientHTTP(cloudevents.WithTarget(h.ts.URL + "/v1/events"))
	require.NoError(t, err)
	nc, err := nats.Connect(h.url)
	require.NoError(t, err)
	t.Cleanup(nc.Close)

	t.Run("sdk-go HTTP binary mode", func(t *testing.T) {
		ev := newEvent(t, "http-binary", "/interop/http")
		res := httpClient.Send(cloudevents.WithEncodingBinary(t.Context()), ev)
		require.True(t, cloudevents.IsACK(res), "send: %v", res)
		assertAsSent(t, h.waitCall(t, ev.ID(), ev.Source()), ev)
	})

	t.Run("sdk-go HTTP structured mode", func(t *testing.T) {
		ev := newEvent(t, "http-structured", "/interop/http")
		res := httpClient.Send(cloudevents.WithEncodingStructured(t.Context()), ev)
		require.True(t, cloudevents.IsACK(res), "send: %v", res)
		assertAsSent(t, h.waitCall(t, ev.ID(), ev.Source()), ev)
	})

	t.Run("sdk-go HTTP batch", func(t *testing.T) {
		batch := []cloudevents.Event{newEvent(t, "http-batch-1", "/interop/http"), newEvent(t, "http-batch-2", "/interop/http")}
		req, err := cehttp.NewHTTPRequestFromEvents(t.Context(), h.ts.URL+"/v1/events", batch)
		require.NoError(t, err)
		resp, err := h.ts.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
		for _, ev := range batch {
			assertAsSent(t, h.waitCall(t, ev.ID(), ev.Source()), ev)
		}
	})

	t.Run("sdk-go nats/v2 sender", func(t *testing.T) {
		sender, err := cenats.NewSenderFromConn(nc, "events.interop.nats")
		require.NoError(t, err)
		c, err := cloudevents.NewClient(sender)
		require.NoError(t, err)
		ev := newEvent(t, "nats", "/interop/nats")
		res := c.Send(t.Context(), ev)
		require.True(t, cloudevents.IsACK(res), "send: %v", res)
		assertAsSent(t, h.waitCall(t, ev.ID(), ev.Source()), ev)
	})

	t.Run("sdk-go nats_jetstream/v2 sender", func(t *testing.T) {
		// The sender writes binary mode, datacontenttype as
		// ce-datacontenttype; the stream exists, so it creates none.
		sender, err := cejs.NewSenderFromConn(nc, layout.EventsStream, "events.interop.jetstream", nil)
		require.NoError(t, err)
		c, err := cloudevents.NewClient(sender)
		require.NoError(t, err)
		ev := newEvent(t, "jetstream", "/interop/jetstream")
		res := c.Send(t.Context(), ev)
		require.True(t, cloudevents.IsACK(res), "send: %v", res)
		assertAsSent(t, h.waitCall(t, ev.ID(), ev.Source()), ev)
	})

	t.Run("nats.go headers as nats pub -H writes them", func(t *testing.T) {
		// Header names exactly as typed, which nats.go keeps as they are.
		msg := &nats.Msg{Subject: "events.interop.plain", Data: []byte(data), Header: nats.Header{
			"Ce-Specversion": {"1.0"}, "Ce-Id": {"1"}, "Ce-Type": {"T"}, "Ce-Source": {"s"},
			"content-type": {"application/json"},
		}}
		require.NoError(t, nc.PublishMsg(msg))
		require.NoError(t, nc.Flush())
		info := h.waitCall(t, "1", "s")
		require.Equal(t, host.StatusOK, info.Status, "call %+v", info.Error)
		assert.Equal(t, "T", info.Event.Type)
		assert.Equal(t, "application/json", info.Event.DataContentType)
		require.NotNil(t, info.Result)
		assert.Equal(t, "application/json", info.Result.ContentType, "content type the guest saw")
		assert.JSONEq(t, data, string(info.Result.Body))
	})
}

// waitCallOf is waitCall for function fn.
func (h *testHost) waitCallOf(t *testing.T, fn, id, source string) host.ExecutionInfo {
	t.Helper()
	var found *host.ExecutionInfo
	require.Eventually(t, func() bool {
		var list struct{ Calls []host.ExecutionInfo }
		if err := json.Unmarshal(h.call(t, "GET", "/v1/calls?function="+fn, "", nil, http.StatusOK), &list); err != nil {
			return false
		}
		for i, c := range list.Calls {
			if c.Event.ID == id && c.Event.Source == source {
				found = &list.Calls[i]
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "a call of %s on event %s from %s", fn, id, source)
	return *found
}

// callRecord is the call's ExecutionInfo as the call log holds it.
func (h *testHost) callRecord(t *testing.T, id string) []byte {
	t.Helper()
	return h.call(t, "GET", "/v1/calls/"+url.PathEscape(id), "", nil, http.StatusOK)
}
