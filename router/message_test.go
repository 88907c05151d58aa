package router

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMessageRoundTrip(t *testing.T) {
	ev := cloudevents.NewEvent()
	ev.SetID("1")
	ev.SetSource("/s")
	ev.SetType("com.example.x")
	ev.SetSubject("device|1")
	ev.SetExtension("fleet", "north")
	require.NoError(t, ev.SetData(cloudevents.ApplicationJSON, map[string]int{"tempc": 3}))
	msg, err := EncodeMsg("events.x", ev)
	require.NoError(t, err)
	assert.Equal(t, MsgID(ev), msg.Header.Get(nats.MsgIdHdr))
	got, err := DecodeMsg(msg)
	require.NoError(t, err)
	assert.Equal(t, ev.ID(), got.ID())
	assert.Equal(t, "north", got.Extensions()["fleet"])
	assert.JSONEq(t, `{"tempc": 3}`, string(got.Data()))
}

func TestDecodeBinary(t *testing.T) {
	msg := nats.NewMsg("events.x")
	msg.Header.Set("ce-specversion", "1.0")
	msg.Header.Set("ce-id", "42")
	msg.Header.Set("ce-source", "/sensor")
	msg.Header.Set("ce-type", "com.example.reading")
	msg.Header.Set("ce-fleet", "south")
	msg.Header.Set("Content-Type", "application/json")
	msg.Data = []byte(`{"tempc": 21}`)
	ev, err := DecodeMsg(msg)
	require.NoError(t, err)
	assert.Equal(t, "42", ev.ID())
	assert.Equal(t, "south", ev.Extensions()["fleet"])
	assert.Equal(t, "application/json", ev.DataContentType())
}

func TestDecodeRefuses(t *testing.T) {
	bin := func(kv ...string) *nats.Msg {
		m := nats.NewMsg("events.x")
		for i := 0; i+1 < len(kv); i += 2 {
			m.Header.Set(kv[i], kv[i+1])
		}
		return m
	}
	tests := []struct {
		name string
		msg  *nats.Msg
		msg2 string
	}{
		{"not JSON", &nats.Msg{Data: []byte("hello")}, "structured JSON"},
		{"missing id", &nats.Msg{Data: []byte(`{"specversion":"1.0","source":"/s","type":"t"}`)}, "id"},
		{"unknown specversion", bin("ce-specversion", "9.9", "ce-id", "1", "ce-source", "/s", "ce-type", "t"), "specversion"},
		{"both content types, disagreeing", bin("ce-specversion", "1.0", "ce-id", "1", "ce-source", "/s", "ce-type", "t", "ce-datacontenttype", "a/b", "Content-Type", "a/c"), "disagree"},
		{"bad extension name", bin("ce-specversion", "1.0", "ce-id", "1", "ce-source", "/s", "ce-type", "t", "ce-Bad_Name", "x"), "extension name"},
		{"empty type", bin("ce-specversion", "1.0", "ce-id", "1", "ce-source", "/s"), "type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMsg(tt.msg)
			require.ErrorIs(t, err, ErrInvalidEvent)
			assert.Contains(t, err.Error(), tt.msg2)
		})
	}
}

// FuzzDecodeMsg feeds untrusted messages to DecodeMsg: no panic, and what
// it accepts survives EncodeMsg and DecodeMsg with the same attributes and
// data. An input that starts with "HDR\n" carries headers, "Name: value"
// a line up to an empty line, then the payload (fuzzMsg); any other input
// is a payload without headers.
func FuzzDecodeMsg(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":1}}`))
	f.Add([]byte(`{`))
	f.Add([]byte(`{"specversion":"1.0","id":"nul\u0000id","source":"/s","type":"t"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","subject":"a\nb","ext":"v"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"bm90IGpzb257"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"application/json","data_base64":"/w=="}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":"no datacontenttype"}`))
	f.Add([]byte("HDR\nCe-Specversion: 1.0\nCe-Id: 1\nCe-Type: T\nCe-Source: s\ncontent-type: application/json\n\n{\"a\":1}"))
	f.Add([]byte("HDR\nCE-SPECVERSION: 2.0\nCE-ID: 1\nCE-TYPE: T\nCE-SOURCE: s\n\n"))
	f.Add([]byte("HDR\nce-specversion: 1.0\nce-id: 1\nce-type: t\nce-source: /s\nce-datacontenttype: text/plain\nContent-Type: application/json\n\n{}"))
	f.Add([]byte("HDR\nce-specversion: 1.0\nce-id: 1\nce-type: t\nce-source: /s\nce-datacontenttype: text/plain\n\nhi"))
	f.Add([]byte("HDR\nce-specversion: 1.0\nce-id: 1\nCE-ID: 2\nce-type: t\nce-source: /s\n\n"))
	f.Add([]byte("HDR\nce-specversion: 1.0\nce-id: 100%\nce-type: t\nce-source: /src/%41\nce-subject: device|50%\n\n"))
	f.Add([]byte("HDR\nce-specversion: 1.0\nce-id: caf%C3%A9\nce-type: t\nce-source: /s\nce-subject: %C3%28\n\n"))
	f.Add([]byte("HDR\nContent-Type: application/cloudevents+json\nce-specversion: 1.0\n\n{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\",\"type\":\"t\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeMsg(fuzzMsg(b))
		if err != nil {
			return
		}
		msg, err := EncodeMsg("events.x", ev)
		require.NoError(t, err)
		got, err := DecodeMsg(msg)
		require.NoError(t, err)
		// The attributes as strings: sdk-go keeps a URI's parse (RawPath)
		// beside it, which a round trip may change without changing the
		// attribute ("Aycc " is "Aycc%20" either way).
		assert.Equal(t, attributes(ev), attributes(got))
		if json.Valid(ev.Data()) && !ev.DataBase64 {
			// Carried as a JSON value, which sdk-go re-marshals ("&"
			// becomes "\u0026"): the same JSON, not the same bytes.
			assert.JSONEq(t, string(ev.Data()), string(got.Data()))
		} else {
			assert.Equal(t, ev.Data(), got.Data())
		}
	})
}

// fuzzMsg is FuzzDecodeMsg's input as a message.
func fuzzMsg(b []byte) *nats.Msg {
	rest, ok := strings.CutPrefix(string(b), "HDR\n")
	if !ok {
		return &nats.Msg{Subject: "events.x", Data: b}
	}
	m := &nats.Msg{Subject: "events.x", Header: nats.Header{}}
	for {
		line, after, found := strings.Cut(rest, "\n")
		if !found || line == "" {
			m.Data = []byte(after)
			return m
		}
		rest = after
		if k, v, ok := strings.Cut(line, ": "); ok {
			m.Header[k] = append(m.Header[k], v)
		}
	}
}

// TestDecodeMsgHeaders: the NATS binding as senders write it. Header names
// in any casing, datacontenttype as ce-datacontenttype or Content-Type, and
// the JSON format's default datacontenttype in structured mode.
func TestDecodeMsgHeaders(t *testing.T) {
	// hdr builds a header map as sent, without nats.go touching the names.
	hdr := func(kv ...string) nats.Header {
		h := nats.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h[kv[i]] = append(h[kv[i]], kv[i+1])
		}
		return h
	}
	req := []string{"ce-specversion", "1.0", "ce-id", "1", "ce-source", "/s", "ce-type", "t"}
	with := func(kv ...string) nats.Header { return hdr(append(append([]string{}, req...), kv...)...) }
	tests := []struct {
		name   string
		h      nats.Header
		data   string
		reason string            // substring of the error; "" means accepted
		want   map[string]string // attributes of the accepted event
	}{
		{
			name: "NATS: Ce-Specversion, Ce-Id, Ce-Source, Ce-Type, Ce-Fleet -> binary, accepted",
			h:    hdr("Ce-Specversion", "1.0", "Ce-Id", "7", "Ce-Source", "/s", "Ce-Type", "T", "Ce-Fleet", "north"),
			want: map[string]string{"id": "7", "type": "T", "fleet": "north"},
		},
		{
			name: "NATS: CE-SPECVERSION, CE-ID, CE-SOURCE, CE-TYPE -> binary, accepted",
			h:    hdr("CE-SPECVERSION", "1.0", "CE-ID", "8", "CE-SOURCE", "/s", "CE-TYPE", "T"),
			want: map[string]string{"id": "8", "type": "T"},
		},
		{
			name: "NATS: content-type application/json (lower case) -> datacontenttype application/json",
			h:    with("content-type", "application/json"), data: `{"a":1}`,
			want: map[string]string{"datacontenttype": "application/json"},
		},
		{
			name: "NATS: CONTENT-TYPE text/plain -> datacontenttype text/plain",
			h:    with("CONTENT-TYPE", "text/plain"), data: "hi",
			want: map[string]string{"datacontenttype": "text/plain"},
		},
		{
			name: "NATS: ce-datacontenttype application/json alone -> datacontenttype application/json",
			h:    with("ce-datacontenttype", "application/json"), data: `{"a":1}`,
			want: map[string]string{"datacontenttype": "application/json"},
		},
		{
			name: "NATS: ce-datacontenttype application/json, Content-Type application/json -> accepted",
			h:    with("ce-datacontenttype", "application/json", "Content-Type", "application/json"), data: `{"a":1}`,
			want: map[string]string{"datacontenttype": "application/json"},
		},
		{
			name: "NATS: ce-datacontenttype text/plain; charset=utf-8, Content-Type text/plain;charset=utf-8 -> agree, accepted",
			h:    with("ce-datacontenttype", "text/plain; charset=utf-8", "Content-Type", "text/plain;charset=utf-8"), data: "hi",
			want: map[string]string{"datacontenttype": "text/plain; charset=utf-8"},
		},
		{
			name: "NATS: ce-datacontenttype text/plain, Content-Type application/json -> rejected",
			h:    with("ce-datacontenttype", "text/plain", "Content-Type", "application/json"), data: `{}`,
			reason: `ce-datacontenttype "text/plain" and Content-Type "application/json" disagree`,
		},
		{
			name:   "NATS: ce-datacontenttype \"not a media type\" -> rejected",
			h:      with("ce-datacontenttype", "not a media type"),
			reason: "ce-datacontenttype",
		},
		{
			name:   "NATS: ce-id and CE-ID -> rejected",
			h:      with("CE-ID", "2"),
			reason: `header ce-id given twice, as "CE-ID" and "ce-id"`,
		},
		{
			name:   "NATS: content-type and Content-Type -> rejected",
			h:      with("content-type", "application/json", "Content-Type", "application/json"),
			reason: `header content-type given twice`,
		},
		{
			name:   "NATS: ce-subject with two values -> rejected",
			h:      with("ce-subject", "a", "ce-subject", "b"),
			reason: "header ce-subject given 2 times, want once",
		},
		{
			name:   "NATS: CE-SPECVERSION 2.0 -> rejected",
			h:      hdr("CE-SPECVERSION", "2.0", "CE-ID", "1", "CE-SOURCE", "/s", "CE-TYPE", "t"),
			reason: `unknown specversion "2.0"`,
		},
		{
			name:   "NATS: Ce-Specversion 0.1 -> rejected",
			h:      hdr("Ce-Specversion", "0.1", "Ce-Id", "1", "Ce-Source", "/s", "Ce-Type", "t"),
			reason: `unknown specversion "0.1"`,
		},
		{
			name:   "NATS: Ce-Bad_Name -> rejected",
			h:      with("Ce-Bad_Name", "x"),
			reason: `extension name "bad_name"`,
		},
		{
			name: "NATS: Content-Type application/cloudevents+json with ce-specversion -> structured",
			h:    with("Content-Type", "application/cloudevents+json"),
			data: `{"specversion":"1.0","id":"s","source":"/s","type":"from-body","datacontenttype":"text/plain","data":"x"}`,
			want: map[string]string{"id": "s", "type": "from-body", "datacontenttype": "text/plain"},
		},
		{
			name: "NATS structured: data without datacontenttype -> application/json",
			data: `{"specversion":"1.0","id":"s","source":"/s","type":"t","data":{"a":1}}`,
			want: map[string]string{"datacontenttype": "application/json"},
		},
		{
			name: "NATS structured: data_base64 without datacontenttype -> no datacontenttype",
			data: `{"specversion":"1.0","id":"s","source":"/s","type":"t","data_base64":"/w=="}`,
			want: map[string]string{"datacontenttype": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodeMsg(&nats.Msg{Subject: "events.x", Header: tt.h, Data: []byte(tt.data)})
			if tt.reason != "" {
				require.ErrorIs(t, err, ErrInvalidEvent)
				assert.Contains(t, err.Error(), tt.reason)
				return
			}
			require.NoError(t, err)
			for attr, want := range tt.want {
				var got any
				switch attr {
				case "id":
					got = ev.ID()
				case "type":
					got = ev.Type()
				case "datacontenttype":
					got = ev.DataContentType()
				default:
					got = ev.Extensions()[attr]
				}
				assert.Equal(t, want, got, attr)
			}
		})
	}
}

// attributes returns ev's context attributes and extensions as strings.
func attributes(ev cloudevents.Event) map[string]string {
	a := map[string]string{
		"specversion": ev.SpecVersion(), "id": ev.ID(), "source": ev.Source(), "type": ev.Type(),
		"subject": ev.Subject(), "datacontenttype": ev.DataContentType(), "dataschema": ev.DataSchema(),
	}
	if !ev.Time().IsZero() {
		a["time"] = ev.Time().UTC().Format(time.RFC3339Nano)
	}
	for k, v := range ev.Extensions() {
		a["ext:"+k] = fmt.Sprint(v)
	}
	return a
}
