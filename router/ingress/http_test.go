package ingress_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/router/ingress"
)

func newHTTP(t *testing.T, e *env, cfg ingress.Config) *httptest.Server {
	t.Helper()
	h, err := ingress.NewHTTP(cfg, e.js, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

const structured = `{"specversion":"1.0","id":"s1","source":"/test","type":"com.example.t","datacontenttype":"application/json","data":{"a":1}}`

func binaryHeaders(extra map[string]string) map[string]string {
	h := map[string]string{"ce-specversion": "1.0", "ce-id": "b1", "ce-source": "/test", "ce-type": "com.example.t", "Content-Type": "application/json"}
	for k, v := range extra {
		if v == "<del>" {
			delete(h, k)
			continue
		}
		h[k] = v
	}
	return h
}

func TestHTTPBindingTable(t *testing.T) {
	e := newEnv(t)
	ts := newHTTP(t, e, ingress.Config{MaxBodyBytes: 1024})

	tests := []struct {
		name    string
		method  string
		headers map[string]string
		rawHdr  [][2]string // sent as is, for bytes net/http would not let us set through the map
		body    string
		status  int
		reason  string // substring of the error message
	}{
		{name: "binary ok", headers: binaryHeaders(nil), body: `{"a":1}`, status: 202},
		{name: "binary percent-encoded ok", headers: binaryHeaders(map[string]string{"ce-id": "b2", "ce-subject": "caf%C3%A9%20au%20lait"}), body: `{}`, status: 202},
		{name: "binary no data ok", headers: binaryHeaders(map[string]string{"ce-id": "b3", "Content-Type": "<del>"}), status: 202},
		{name: "structured ok", headers: map[string]string{"Content-Type": "application/cloudevents+json; charset=utf-8"}, body: structured, status: 202},
		{name: "batch ok", headers: map[string]string{"Content-Type": "application/cloudevents-batch+json"}, body: "[" + strings.Replace(structured, `"s1"`, `"s2"`, 1) + "," + strings.Replace(structured, `"s1"`, `"s3"`, 1) + "]", status: 202},
		{name: "empty batch ok", headers: map[string]string{"Content-Type": "application/cloudevents-batch+json"}, body: "[]", status: 202},

		{name: "missing id", headers: binaryHeaders(map[string]string{"ce-id": "<del>"}), status: 400, reason: "id"},
		{name: "empty id", headers: binaryHeaders(map[string]string{"ce-id": ""}), status: 400, reason: "id"},
		{name: "blank id", headers: binaryHeaders(map[string]string{"ce-id": "   "}), status: 400, reason: "id"},
		{name: "missing source", headers: binaryHeaders(map[string]string{"ce-source": "<del>"}), status: 400, reason: "source"},
		{name: "empty type", headers: binaryHeaders(map[string]string{"ce-type": ""}), status: 400, reason: "type"},
		{name: "structured missing type", headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: `{"specversion":"1.0","id":"x","source":"/s"}`, status: 400, reason: "type"},
		{name: "structured empty id", headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: `{"specversion":"1.0","id":"","source":"/s","type":"t"}`, status: 400, reason: "id"},
		{name: "structured missing specversion", headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: `{"id":"x","source":"/s","type":"t"}`, status: 400, reason: "specversion"},
		{name: "binary unknown specversion", headers: binaryHeaders(map[string]string{"ce-specversion": "2.0"}), status: 400, reason: "unknown specversion"},
		{name: "binary empty specversion", headers: binaryHeaders(map[string]string{"ce-specversion": ""}), status: 400, reason: "unknown specversion"},
		{name: "structured unknown specversion", headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: `{"specversion":"0.1","id":"x","source":"/s","type":"t"}`, status: 400, reason: "unknown specversion"},
		{name: "both content types", headers: binaryHeaders(map[string]string{"ce-datacontenttype": "application/json"}), body: `{}`, status: 400, reason: "both Content-Type and ce-datacontenttype"},
		{name: "ce-datacontenttype alone", headers: binaryHeaders(map[string]string{"Content-Type": "<del>", "ce-datacontenttype": "application/json"}), status: 400, reason: "ce-datacontenttype is not allowed"},
		// A % that starts no escape is kept (router.DecodeHeaderValue); the
		// id is b1's, so the event is a duplicate and stores nothing more.
		{name: "ce-subject 100%zz -> 202, kept as is", headers: binaryHeaders(map[string]string{"ce-subject": "100%zz"}), status: 202},
		{name: "ce-subject abc%4 -> 202, kept as is", headers: binaryHeaders(map[string]string{"ce-subject": "abc%4"}), status: 202},
		{name: "percent-encoded invalid UTF-8", headers: binaryHeaders(map[string]string{"ce-subject": "%C3%28"}), status: 400, reason: "not valid UTF-8"},
		{name: "raw invalid UTF-8 header", headers: binaryHeaders(nil), rawHdr: [][2]string{{"ce-subject", "caf\xe9"}}, status: 400, reason: "not valid UTF-8"},
		{name: "repeated header", headers: binaryHeaders(nil), rawHdr: [][2]string{{"ce-id", "again"}}, status: 400, reason: "given 2 times"},
		{name: "extension with dash", headers: binaryHeaders(map[string]string{"ce-my-ext": "v"}), status: 400, reason: "attribute name"},
		{name: "extension with underscore", headers: binaryHeaders(map[string]string{"ce-my_ext": "v"}), status: 400, reason: "attribute name"},
		{name: "extension too long", headers: binaryHeaders(map[string]string{"ce-abcdefghijklmnopqrstu": "v"}), status: 400, reason: "attribute name"},
		{name: "structured extension upper case", headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: `{"specversion":"1.0","id":"x","source":"/s","type":"t","MyExt":"v"}`, status: 400, reason: "attribute name"},
		{name: "structured extension too long", headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: `{"specversion":"1.0","id":"x","source":"/s","type":"t","abcdefghijklmnopqrstu":"v"}`, status: 400, reason: "attribute name"},
		{name: "malformed structured body", headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: `{"specversion":"1.0",`, status: 400, reason: "structured body"},
		{name: "structured trailing bytes", headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: structured + `garbage`, status: 400, reason: "structured body"},
		{name: "structured array", headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: `[` + structured + `]`, status: 400, reason: "want one JSON object"},
		{name: "structured invalid UTF-8", headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: strings.Replace(structured, "com.example.t", "com.\xff", 1), status: 400, reason: "UTF-8"},
		{name: "structured data and data_base64", headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: `{"specversion":"1.0","id":"x","source":"/s","type":"t","data":1,"data_base64":"AA=="}`, status: 400, reason: "both data and data_base64"},
		{name: "batch trailing bytes", headers: map[string]string{"Content-Type": "application/cloudevents-batch+json"}, body: "[" + structured + "]x", status: 400, reason: "batch body"},
		{name: "batch invalid event", headers: map[string]string{"Content-Type": "application/cloudevents-batch+json"}, body: "[" + structured + `,{"specversion":"1.0","id":"x","source":"/s"}]`, status: 400, reason: "batch event 1"},
		{name: "batch not an array", headers: map[string]string{"Content-Type": "application/cloudevents-batch+json"}, body: structured, status: 400, reason: "JSON array"},
		{name: "binary invalid Content-Type", headers: binaryHeaders(map[string]string{"Content-Type": "application/json; =x"}), status: 400, reason: "Content-Type"},

		{name: "unknown event format", headers: map[string]string{"Content-Type": "application/cloudevents+xml"}, body: `<e/>`, status: 415, reason: "unknown event format"},
		{name: "unknown event format with ce headers", headers: binaryHeaders(map[string]string{"Content-Type": "application/cloudevents+protobuf"}), status: 415, reason: "unknown event format"},
		{name: "plain JSON without ce headers", headers: map[string]string{"Content-Type": "application/json"}, body: `{}`, status: 415, reason: "not a CloudEvent"},
		{name: "no Content-Type, no ce headers", body: `x`, status: 415, reason: "not a CloudEvent"},

		{name: "GET", method: http.MethodGet, status: 405, reason: "GET"},
		{name: "PUT", method: http.MethodPut, headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: structured, status: 405, reason: "PUT"},

		{name: "too large structured", headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: strings.Repeat(" ", 1025) + structured, status: 413, reason: "limit"},
		{name: "too large binary", headers: binaryHeaders(nil), body: `"` + strings.Repeat("x", 2000) + `"`, status: 413, reason: "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+"/v1/events", strings.NewReader(tt.body))
			require.NoError(t, err)
			for k, v := range tt.headers {
				req.Header[k] = []string{v}
			}
			for _, kv := range tt.rawHdr {
				req.Header.Add(kv[0], kv[1])
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			require.Equal(t, tt.status, resp.StatusCode, string(b))
			if tt.status == http.StatusAccepted {
				var ok struct {
					Accepted []ingress.Accepted `json:"accepted"`
				}
				require.NoError(t, json.Unmarshal(b, &ok))
				for _, a := range ok.Accepted {
					assert.Equal(t, layout.EventsStream, a.Stream)
					assert.NotZero(t, a.Seq)
				}
				return
			}
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			require.NoError(t, json.Unmarshal(b, &body), string(b))
			assert.Contains(t, body.Error.Message, tt.reason)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			if tt.status == http.StatusMethodNotAllowed {
				assert.Equal(t, "POST, OPTIONS", resp.Header.Get("Allow"))
				assert.Equal(t, "method_not_allowed", body.Error.Code)
			}
		})
	}

	// Only the accepted rows stored anything: 1+1+1+1+2 events (distinct
	// ids; the same source and id is deduplicated), each decodable by the
	// router.
	msgs := e.msgs(t, layout.EventsStream)
	require.Len(t, msgs, 6)
	for _, m := range msgs {
		assert.Equal(t, "events.http", m.Subject)
	}
	ev := decodeRaw(t, msgs[1])
	assert.Equal(t, "café au lait", ev.Subject(), "percent-decoded")
}

// decodeRaw decodes a stored message as the router will.
func decodeRaw(t *testing.T, m *jetstream.RawStreamMsg) cloudevents.Event {
	t.Helper()
	ev, err := router.DecodeMsg(toNats(m))
	require.NoError(t, err)
	return ev
}

func toNats(m *jetstream.RawStreamMsg) *nats.Msg {
	return &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data}
}

func TestHTTPStoresBeforeAccepting(t *testing.T) {
	e := newEnv(t)
	ts := newHTTP(t, e, ingress.Config{})
	post := func() *http.Response {
		req, _ := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader(structured))
		req.Header.Set("Content-Type", "application/cloudevents+json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	require.Equal(t, http.StatusAccepted, post().StatusCode)
	// The same event again is acknowledged but stored once (dedupe).
	require.Equal(t, http.StatusAccepted, post().StatusCode)
	require.Len(t, e.msgs(t, layout.EventsStream), 1)

	// Without the stream JetStream cannot store anything: 503, retry later.
	require.NoError(t, e.js.DeleteStream(t.Context(), layout.EventsStream))
	resp := post()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
}

func TestHTTPUnavailableWhenNATSDown(t *testing.T) {
	e := newEnv(t)
	ts := newHTTP(t, e, ingress.Config{PublishTimeout: 300 * time.Millisecond})
	e.srv.Shutdown()
	req, _ := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader(structured))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
}

// TestHTTPWithSDKClient sends events as an outside caller would, with the
// cloudevents sdk-go client, in binary and structured mode and as a batch.
func TestHTTPWithSDKClient(t *testing.T) {
	e := newEnv(t)
	ts := newHTTP(t, e, ingress.Config{})
	c, err := cloudevents.NewClientHTTP(cloudevents.WithTarget(ts.URL + "/v1/events"))
	require.NoError(t, err)

	mk := func(id string) cloudevents.Event {
		ev := cloudevents.NewEvent()
		ev.SetID(id)
		ev.SetSource("/sdk/client")
		ev.SetType("com.example.reading")
		ev.SetSubject("sensor é 1") // sent as raw UTF-8: sdk-go does not percent-encode
		ev.SetExtension("sensorid", "s-1")
		require.NoError(t, ev.SetData(cloudevents.ApplicationJSON, map[string]any{"tempc": 21.5}))
		return ev
	}
	res := c.Send(cloudevents.WithEncodingBinary(t.Context()), mk("bin-1"))
	require.True(t, cloudevents.IsACK(res), "binary: %v", res)
	res = c.Send(cloudevents.WithEncodingStructured(t.Context()), mk("str-1"))
	require.True(t, cloudevents.IsACK(res), "structured: %v", res)

	// A request the ingress refuses comes back to the client as a NACK
	// carrying the status.
	bad := mk("bad-1")
	bad.SetType("")
	res = c.Send(cloudevents.WithEncodingBinary(t.Context()), bad)
	require.False(t, cloudevents.IsACK(res))

	batch := []cloudevents.Event{mk("batch-1"), mk("batch-2"), mk("batch-3")}
	breq, err := cehttp.NewHTTPRequestFromEvents(t.Context(), ts.URL+"/v1/events", batch)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(breq)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	msgs := e.msgs(t, layout.EventsStream)
	require.Len(t, msgs, 5)
	var ids []string
	for _, m := range msgs {
		ev := decodeRaw(t, m)
		ids = append(ids, ev.ID())
		assert.Equal(t, "sensor é 1", ev.Subject())
		assert.Equal(t, "s-1", ev.Extensions()["sensorid"])
		var data map[string]any
		require.NoError(t, ev.DataAs(&data))
		assert.Equal(t, 21.5, data["tempc"])
	}
	assert.Equal(t, []string{"bin-1", "str-1", "batch-1", "batch-2", "batch-3"}, ids)
}

// TestWebhookHandshake: OPTIONS on the events endpoint answers the
// CloudEvents HTTP webhook spec's validation request, and a plain OPTIONS
// with Allow.
func TestWebhookHandshake(t *testing.T) {
	e := newEnv(t)
	ts := newHTTP(t, e, ingress.Config{})
	tests := []struct {
		name, origin string
	}{
		{name: "OPTIONS with WebHook-Request-Origin eventemitter.example.com -> 200, origin echoed, rate *", origin: "eventemitter.example.com"},
		{name: "OPTIONS without WebHook-Request-Origin -> 200 with Allow, no webhook headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodOptions, ts.URL, nil)
			require.NoError(t, err)
			if tt.origin != "" {
				req.Header.Set(ingress.HeaderWebhookRequestOrigin, tt.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "POST, OPTIONS", resp.Header.Get("Allow"))
			assert.Equal(t, tt.origin, resp.Header.Get(ingress.HeaderWebhookAllowedOrigin))
			if tt.origin != "" {
				assert.Equal(t, "*", resp.Header.Get(ingress.HeaderWebhookAllowedRate))
			} else {
				assert.Empty(t, resp.Header.Values(ingress.HeaderWebhookAllowedRate))
			}
			assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
		})
	}
	assert.Empty(t, e.msgs(t, layout.EventsStream), "a handshake stores nothing")
}
