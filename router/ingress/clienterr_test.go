package ingress_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
	"github.com/wasmfaas/wasmfaas/router/ingress"
)

// post sends body with headers (a value of "<del>" drops a binaryHeaders
// default) and returns the status and the error message, if any.
func post(t *testing.T, url string, headers map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range headers {
		req.Header[k] = []string{v}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.StatusCode == http.StatusAccepted {
		return resp.StatusCode, ""
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	require.NoError(t, json.Unmarshal(b, &e), string(b))
	return resp.StatusCode, e.Error.Message
}

func exts(n int) map[string]string {
	h := map[string]string{}
	for i := range n {
		h[fmt.Sprintf("ce-x%d", i)] = "v"
	}
	return h
}

func structuredWith(members string) string {
	return `{"specversion":"1.0","id":"s1","source":"/test","type":"com.example.t",` + members + `}`
}

// TestHTTPClientErrors: every refusal the request causes is a 4xx naming
// the reason, and what is accepted is stored as sent; 503 is only for an
// unavailable event store (TestHTTPStoresBeforeAccepting,
// TestHTTPUnavailableWhenNATSDown).
func TestHTTPClientErrors(t *testing.T) {
	e := newEnv(t)
	ts := newHTTP(t, e, ingress.Config{MaxBodyBytes: 64 << 10})
	const structuredCT = "application/cloudevents+json"
	const batchCT = "application/cloudevents-batch+json"

	tests := []struct {
		name    string
		headers map[string]string
		body    string
		status  int
		reason  string // substring of the error message
		// For 202: the stored event's data and datacontenttype.
		data, ct string
	}{
		{name: "binary, no content type, non-JSON body -> 202 stored as opaque bytes", headers: binaryHeaders(map[string]string{"ce-id": "o1", "Content-Type": "<del>"}), body: "not json{", status: 202, data: "not json{"},
		{name: "binary, no content type, JSON body -> 202 stored byte for byte", headers: binaryHeaders(map[string]string{"ce-id": "o2", "Content-Type": "<del>"}), body: `{ "a" : 1 }`, status: 202, data: `{ "a" : 1 }`},
		{name: "binary, no content type, invalid UTF-8 body -> 202 stored byte for byte", headers: binaryHeaders(map[string]string{"ce-id": "o3", "Content-Type": "<del>"}), body: "\xff\x00\xfe", status: 202, data: "\xff\x00\xfe"},
		{name: "binary, application/json, non-JSON body -> 202 stored as sent", headers: binaryHeaders(map[string]string{"ce-id": "o4"}), body: "not json{", status: 202, data: "not json{", ct: "application/json"},
		{name: "binary, text/plain, invalid UTF-8 body -> 202 stored as sent", headers: binaryHeaders(map[string]string{"ce-id": "o5", "Content-Type": "text/plain"}), body: "caf\xe9", status: 202, data: "caf\xe9", ct: "text/plain"},

		{name: "ce-subject of 1024 bytes -> 202", headers: binaryHeaders(map[string]string{"ce-id": "l1", "ce-subject": strings.Repeat("s", 1024)}), body: `{}`, status: 202, data: `{}`, ct: "application/json"},
		{name: "ce-subject of 1025 bytes -> 400", headers: binaryHeaders(map[string]string{"ce-subject": strings.Repeat("s", 1025)}), body: `{}`, status: 400, reason: "subject is 1025 bytes, limit 1024"},
		{name: "ce-subject of 1 MiB -> 400", headers: binaryHeaders(map[string]string{"ce-subject": strings.Repeat("s", 1<<20)}), body: `{}`, status: 400, reason: "subject is 1048576 bytes, limit 1024"},
		{name: "ce-subject of 1024 bytes percent-encoded to 3072 -> 202", headers: binaryHeaders(map[string]string{"ce-id": "l2", "ce-subject": strings.Repeat("%20", 1023) + "x"}), body: `{}`, status: 202, data: `{}`, ct: "application/json"},
		{name: "ce-id of 1025 bytes -> 400", headers: binaryHeaders(map[string]string{"ce-id": strings.Repeat("i", 1025)}), body: `{}`, status: 400, reason: "id is 1025 bytes, limit 1024"},
		{name: "ce-source of 1025 bytes -> 400", headers: binaryHeaders(map[string]string{"ce-source": "/" + strings.Repeat("s", 1024)}), body: `{}`, status: 400, reason: "source is 1025 bytes, limit 1024"},
		{name: "ce-type of 1025 bytes -> 400", headers: binaryHeaders(map[string]string{"ce-type": strings.Repeat("t", 1025)}), body: `{}`, status: 400, reason: "type is 1025 bytes, limit 1024"},
		{name: "extension value of 4097 bytes -> 400", headers: binaryHeaders(map[string]string{"ce-fleet": strings.Repeat("v", 4097)}), body: `{}`, status: 400, reason: "extension fleet is 4097 bytes, limit 4096"},
		{name: "33 extensions -> 400", headers: binaryHeaders(exts(33)), body: `{}`, status: 400, reason: "33 extensions, limit 32"},

		{name: "ce-id nul%00id -> 400", headers: binaryHeaders(map[string]string{"ce-id": "nul%00id"}), body: `{}`, status: 400, reason: "id must be UTF-8 without control characters"},
		{name: "ce-subject cr%0Dlf%0A -> 400", headers: binaryHeaders(map[string]string{"ce-subject": "cr%0Dlf%0A"}), body: `{}`, status: 400, reason: "subject must be UTF-8 without control characters"},
		{name: "ce-type del%7Ft -> 400", headers: binaryHeaders(map[string]string{"ce-type": "del%7Ft"}), body: `{}`, status: 400, reason: "type must be UTF-8 without control characters"},
		{name: "ce-source /s%09tab -> 400", headers: binaryHeaders(map[string]string{"ce-source": "/s%09tab"}), body: `{}`, status: 400, reason: "header Ce-Source: invalid event: source must be UTF-8 without control characters"},
		{name: "structured source with \\t -> 400", headers: map[string]string{"Content-Type": structuredCT}, body: `{"specversion":"1.0","id":"s9","source":"/s\ttab","type":"t"}`, status: 400, reason: "source must be UTF-8 without control characters"},
		{name: "extension esc%1B -> 400", headers: binaryHeaders(map[string]string{"ce-fleet": "esc%1B[31m"}), body: `{}`, status: 400, reason: "extension fleet must be UTF-8 without control characters"},
		{name: "extension C1 %C2%85 -> 400", headers: binaryHeaders(map[string]string{"ce-fleet": "a%C2%85b"}), body: `{}`, status: 400, reason: "extension fleet must be UTF-8"},
		{name: "structured subject of 2000 bytes -> 400", headers: map[string]string{"Content-Type": structuredCT}, body: structuredWith(`"subject":"` + strings.Repeat("s", 2000) + `"`), status: 400, reason: "subject is 2000 bytes, limit 1024"},
		{name: "structured id with \\u0000 -> 400", headers: map[string]string{"Content-Type": structuredCT}, body: `{"specversion":"1.0","id":"nul\u0000id","source":"/test","type":"t"}`, status: 400, reason: "id must be UTF-8 without control characters"},
		{name: "structured extension with \\n -> 400", headers: map[string]string{"Content-Type": structuredCT}, body: structuredWith(`"fleet":"a\nb"`), status: 400, reason: "extension fleet must be UTF-8"},
		{name: "batch, second event's subject of 2000 bytes -> 400, nothing stored", headers: map[string]string{"Content-Type": batchCT}, body: "[" + structuredWith(`"subject":"ok"`) + "," + structuredWith(`"subject":"`+strings.Repeat("s", 2000)+`"`) + "]", status: 400, reason: "batch event 1: invalid event: subject is 2000 bytes"},
	}
	var stored []string // ids of the accepted rows, in order
	want := map[string][2]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			for k, v := range tt.headers {
				if v != "<del>" {
					hdr[k] = v
				}
			}
			status, msg := post(t, ts.URL+"/v1/events", hdr, tt.body)
			require.Equal(t, tt.status, status, msg)
			if status == http.StatusAccepted {
				stored = append(stored, hdr["ce-id"])
				want[hdr["ce-id"]] = [2]string{tt.data, tt.ct}
				return
			}
			assert.Contains(t, msg, tt.reason)
		})
	}

	msgs := e.msgs(t, layout.EventsStream)
	require.Len(t, msgs, len(stored), "only the accepted rows stored anything")
	for _, m := range msgs {
		ev := decodeRaw(t, m)
		w := want[ev.ID()]
		assert.Equal(t, w[0], string(ev.Data()), ev.ID())
		assert.Equal(t, w[1], ev.DataContentType(), ev.ID())
	}
}

// TestHTTPLargerThanMaxPayload: an event within the body limit but larger
// than the NATS server's max payload is the client's to make smaller: 413
// saying so, not 503, and nothing of the request is stored.
func TestHTTPLargerThanMaxPayload(t *testing.T) {
	srv := natstest.Start(t, natstest.WithMaxPayload(1<<20))
	e := newEnvOn(t, srv)
	ts := newHTTP(t, e, ingress.Config{MaxBodyBytes: 4 << 20})
	big := `"` + strings.Repeat("x", 2<<20) + `"`
	small := structuredWith(`"datacontenttype":"application/json","data":1`)

	tests := []struct {
		name    string
		headers map[string]string
		body    string
		reason  string
	}{
		{name: "binary, body of 2 MiB, max payload 1 MiB -> 413", headers: binaryHeaders(nil), body: big, reason: "event is 2097"},
		{name: "batch, second event of 2 MiB, max payload 1 MiB -> 413, first not stored", headers: map[string]string{"Content-Type": "application/cloudevents-batch+json"},
			body: "[" + small + "," + strings.Replace(small, `"data":1`, `"data":`+big, 1) + "]", reason: "batch event 1 is 2097"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, msg := post(t, ts.URL, tt.headers, tt.body)
			require.Equal(t, http.StatusRequestEntityTooLarge, status, msg)
			assert.Contains(t, msg, tt.reason)
			assert.Contains(t, msg, "max payload of 1048576 bytes")
		})
	}
	assert.Empty(t, e.msgs(t, layout.EventsStream))
}
