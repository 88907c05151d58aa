package router

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// binMsg is a binary-mode NATS message with a valid id, source and type,
// changed by kv (header name, value; a value of "<del>" deletes).
func binMsg(kv ...string) *nats.Msg {
	m := nats.NewMsg("events.x")
	m.Header.Set("ce-specversion", "1.0")
	m.Header.Set("ce-id", "1")
	m.Header.Set("ce-source", "/s")
	m.Header.Set("ce-type", "t")
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "<del>" {
			m.Header.Del(kv[i])
			continue
		}
		m.Header.Set(kv[i], kv[i+1])
	}
	return m
}

// structMsg is a structured-mode NATS message with attrs (JSON members,
// already encoded) after a valid specversion, id, source and type.
func structMsg(attrs string) *nats.Msg {
	b := `{"specversion":"1.0","id":"1","source":"/s","type":"t"`
	if attrs != "" {
		b += "," + attrs
	}
	return &nats.Msg{Subject: "events.x", Data: []byte(b + "}")}
}

func manyExts(n int) []string {
	var kv []string
	for i := range n {
		kv = append(kv, "ce-x"+strings.Repeat("a", i/26)+string(rune('a'+i%26)), "v")
	}
	return kv
}

// TestDecodeMsgAttributeLimits: the NATS binding applies CheckAttributes,
// so the rejecter moves an offender to the rejected stream with the reason.
func TestDecodeMsgAttributeLimits(t *testing.T) {
	tests := []struct {
		name   string
		msg    *nats.Msg
		reason string // substring of the error; "" means accepted
	}{
		{name: "NATS: ce-subject of 1024 bytes -> accepted", msg: binMsg("ce-subject", strings.Repeat("s", 1024))},
		{name: "NATS: ce-subject of 2000 bytes -> refused", msg: binMsg("ce-subject", strings.Repeat("s", 2000)), reason: "subject is 2000 bytes, limit 1024"},
		{name: "NATS: ce-id of 1024 bytes -> accepted", msg: binMsg("ce-id", strings.Repeat("i", 1024))},
		{name: "NATS: ce-id of 1025 bytes -> refused", msg: binMsg("ce-id", strings.Repeat("i", 1025)), reason: "id is 1025 bytes, limit 1024"},
		{name: "NATS: ce-source of 1025 bytes -> refused", msg: binMsg("ce-source", "/"+strings.Repeat("s", 1024)), reason: "source is 1025 bytes, limit 1024"},
		{name: "NATS: ce-type of 1025 bytes -> refused", msg: binMsg("ce-type", strings.Repeat("t", 1025)), reason: "type is 1025 bytes, limit 1024"},
		{name: "NATS: extension value of 4096 bytes -> accepted", msg: binMsg("ce-fleet", strings.Repeat("v", 4096))},
		{name: "NATS: extension value of 4097 bytes -> refused", msg: binMsg("ce-fleet", strings.Repeat("v", 4097)), reason: "extension fleet is 4097 bytes, limit 4096"},
		{name: "NATS: 32 extensions -> accepted", msg: binMsg(manyExts(32)...)},
		{name: "NATS: 33 extensions -> refused", msg: binMsg(manyExts(33)...), reason: "33 extensions, limit 32"},
		{name: "NATS: ce-id with NUL -> refused", msg: binMsg("ce-id", "nul\x00id"), reason: "id must be UTF-8 without control characters"},
		{name: "NATS: ce-subject with TAB -> refused", msg: binMsg("ce-subject", "a\tb"), reason: "subject must be UTF-8 without control characters"},
		{name: "NATS: ce-type with DEL -> refused", msg: binMsg("ce-type", "t\x7ft"), reason: "type must be UTF-8"},
		{name: "NATS: ce-type with C1 U+0085 -> refused", msg: binMsg("ce-type", "t\u0085t"), reason: "type must be UTF-8"},
		{name: "NATS: extension with ESC -> refused", msg: binMsg("ce-fleet", "\x1b[31mred"), reason: "extension fleet must be UTF-8"},
		{name: "NATS: ce-subject with invalid UTF-8 -> refused", msg: binMsg("ce-subject", "caf\xe9"), reason: "header ce-subject: value is not valid UTF-8"},
		{name: "NATS: ce-id nul%00id -> refused (percent-decoded to a NUL)", msg: binMsg("ce-id", "nul%00id"), reason: "id must be UTF-8 without control characters"},
		{name: "NATS: Content-Type with CR -> refused", msg: binMsg("Content-Type", "text/plain; a=\"x\ry\""), reason: "Content-Type"},
		{name: "NATS structured: subject of 2000 bytes -> refused", msg: structMsg(`"subject":"` + strings.Repeat("s", 2000) + `"`), reason: "subject is 2000 bytes, limit 1024"},
		{name: "NATS structured: id with escaped NUL -> refused", msg: &nats.Msg{Data: []byte(`{"specversion":"1.0","id":"nul\u0000id","source":"/s","type":"t"}`)}, reason: "id must be UTF-8 without control characters"},
		{name: "NATS structured: subject with escaped LF -> refused", msg: structMsg(`"subject":"a\nb"`), reason: "subject must be UTF-8"},
		{name: "NATS structured: integer extension -> accepted", msg: structMsg(`"count":7`)},
		{name: "NATS structured: datacontenttype with escaped LF -> refused", msg: structMsg(`"datacontenttype":"text/plain\n"`), reason: "datacontenttype must be UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMsg(tt.msg)
			if tt.reason == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidEvent)
			assert.Contains(t, err.Error(), tt.reason)
		})
	}
}

// TestEncodeMsgData: EncodeMsg encodes any event's data, and DecodeMsg
// gives back the same bytes and datacontenttype.
func TestEncodeMsgData(t *testing.T) {
	tests := []struct {
		name, ct string
		data     []byte
		base64   bool   // carried as data_base64
		gotCT    string // the datacontenttype read back, when not ct
	}{
		{name: "no content type, non-JSON -> data_base64", data: []byte("not json{"), base64: true},
		// The JSON event format reads "data" without datacontenttype as
		// application/json (ApplyJSONFormat).
		{name: "no content type, JSON -> data as is, read back as application/json", data: []byte(`{"a":1}`), gotCT: "application/json"},
		{name: "application/json, invalid JSON -> data_base64", ct: "application/json", data: []byte("not json{"), base64: true},
		{name: "application/json; charset=utf-8, JSON -> data as is", ct: "application/json; charset=utf-8", data: []byte(`[1,2]`)},
		{name: "text/plain UTF-8 -> data string", ct: "text/plain", data: []byte("héllo <&>")},
		{name: "text/plain invalid UTF-8 -> data_base64", ct: "text/plain", data: []byte("caf\xe9"), base64: true},
		{name: "application/octet-stream bytes -> data_base64", ct: "application/octet-stream", data: []byte{0, 1, 0xff, 0xfe}, base64: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := binMsg("Content-Type", tt.ct)
			if tt.ct == "" {
				m.Header.Del("Content-Type")
			}
			m.Data = tt.data
			ev, err := DecodeMsg(m)
			require.NoError(t, err)
			// Decoded from binary mode, so DataBase64 is as DecodeMsg set
			// it; force sdk-go's default to test EncodeMsg's own choice.
			ev.DataBase64 = false
			msg, err := EncodeMsg("events.x", ev)
			require.NoError(t, err)
			assert.Equal(t, tt.base64, strings.Contains(string(msg.Data), `"data_base64"`), string(msg.Data))
			got, err := DecodeMsg(msg)
			require.NoError(t, err)
			wantCT := tt.ct
			if tt.gotCT != "" {
				wantCT = tt.gotCT
			}
			assert.Equal(t, wantCT, got.DataContentType())
			assert.Equal(t, tt.data, got.Data())
		})
	}
}
