package router

import (
	"testing"

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
		{"both content types", bin("ce-specversion", "1.0", "ce-id", "1", "ce-source", "/s", "ce-type", "t", "ce-datacontenttype", "a/b", "Content-Type", "a/b"), "datacontenttype"},
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

func FuzzDecodeMsg(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":1}}`))
	f.Add([]byte(`{`))
	f.Add([]byte(`{"specversion":"1.0","id":"nul\u0000id","source":"/s","type":"t"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","subject":"a\nb","ext":"v"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"bm90IGpzb257"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"application/json","data_base64":"/w=="}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeMsg(&nats.Msg{Data: b})
		if err != nil {
			return
		}
		msg, err := EncodeMsg("events.x", ev)
		require.NoError(t, err)
		_, err = DecodeMsg(msg)
		require.NoError(t, err)
	})
}
