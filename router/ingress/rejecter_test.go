package ingress_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/router/ingress"
)

// runRejecter runs a Rejecter until the test ends.
func runRejecter(t *testing.T, e *env) {
	t.Helper()
	r, err := ingress.NewRejecter(ingress.Config{}, e.js, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		assert.NoError(t, r.Run(ctx))
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// TestNATSIngress publishes as an outside client would: plain nats.go over
// TCP, no wasmfaas code, structured and binary; the stream captures both and
// the rejecter moves the garbage, with its reason, and nothing else.
func TestNATSIngress(t *testing.T) {
	e := newEnv(t)
	runRejecter(t, e)

	nc, err := nats.Connect(e.srv.URL())
	require.NoError(t, err)
	defer nc.Close()

	// Structured mode, core NATS publish (fire and forget).
	require.NoError(t, nc.Publish("events.sensors.kitchen",
		[]byte(`{"specversion":"1.0","id":"n1","source":"/kitchen","type":"com.example.reading","data":{"tempc":20}}`)))
	// Binary mode with ce- headers, as a JetStream-aware request.
	bin := nats.NewMsg("events.anything")
	bin.Header.Set("ce-specversion", "1.0")
	bin.Header.Set("ce-id", "n2")
	bin.Header.Set("ce-source", "/kitchen")
	bin.Header.Set("ce-type", "com.example.reading")
	bin.Header.Set("Content-Type", "application/json")
	bin.Data = []byte(`{"tempc":21}`)
	reply, err := nc.RequestMsg(bin, 5*time.Second)
	require.NoError(t, err)
	assert.Contains(t, string(reply.Data), layout.EventsStream)
	// Garbage: not JSON, a JSON object missing type, binary with a bad
	// extension name.
	require.NoError(t, nc.Publish("events.junk", []byte("hello, not an event")))
	require.NoError(t, nc.Publish("events.junk", []byte(`{"specversion":"1.0","id":"n3","source":"/s"}`)))
	badBin := nats.NewMsg("events.junk")
	badBin.Header.Set("ce-specversion", "1.0")
	badBin.Header.Set("ce-id", "n4")
	badBin.Header.Set("ce-source", "/s")
	badBin.Header.Set("ce-type", "t")
	badBin.Header.Set("ce-Bad_Name", "v")
	require.NoError(t, nc.PublishMsg(badBin))
	require.NoError(t, nc.Flush())

	require.Eventually(t, func() bool {
		return len(e.msgs(t, layout.RejectedStream)) == 3
	}, 10*time.Second, 20*time.Millisecond)
	// Every message of the events stream is still there (routing reads it).
	events := e.msgs(t, layout.EventsStream)
	require.Len(t, events, 5)
	assert.Equal(t, "n1", decodeRaw(t, events[0]).ID())
	assert.Equal(t, "n2", decodeRaw(t, events[1]).ID())

	rejected := e.msgs(t, layout.RejectedStream)
	reasons := []string{"structured JSON", "type", "extension name"}
	for i, m := range rejected {
		assert.Equal(t, "rejected.events", m.Subject)
		assert.Equal(t, "events.junk", m.Header.Get(ingress.HeaderOriginalSubject))
		assert.Contains(t, m.Header.Get(ingress.HeaderRejectReason), reasons[i])
		seq := events[2+i].Sequence
		assert.Equal(t, ingress.RejectedMsgID(layout.EventsStream, seq), m.Header.Get(nats.MsgIdHdr))
		assert.Equal(t, events[2+i].Data, m.Data, "the original bytes are kept")
	}
	assert.Equal(t, "v", rejected[2].Header.Get("ce-Bad_Name"), "original headers are kept")

	// Everything was acked: nothing pending or waiting for redelivery.
	cons, err := e.js.Consumer(t.Context(), layout.EventsStream, ingress.RejecterConsumer)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := cons.Info(t.Context())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0
	}, 5*time.Second, 20*time.Millisecond)
}

// TestRejecterTwoHosts runs two rejecters on the one durable consumer and a
// restart; each invalid message is rejected exactly once.
func TestRejecterTwoHosts(t *testing.T) {
	e := newEnv(t)
	runRejecter(t, e)
	runRejecter(t, e)
	const n = 200
	for i := range n {
		if i%2 == 0 {
			require.NoError(t, e.nc.Publish("events.junk", []byte("garbage")))
			continue
		}
		require.NoError(t, e.nc.Publish("events.ok",
			[]byte(`{"specversion":"1.0","id":"`+string(rune('a'+i%26))+`","source":"/s","type":"t"}`)))
	}
	require.NoError(t, e.nc.Flush())
	require.Eventually(t, func() bool {
		return len(e.msgs(t, layout.RejectedStream)) == n/2
	}, 10*time.Second, 20*time.Millisecond)
	// A marker, garbage too: once it is rejected and the rejecters' consumer
	// has nothing pending or unacked, no second rejection of an earlier
	// message is coming.
	require.NoError(t, e.nc.Publish("events.junk", []byte("marker")))
	require.Eventually(t, func() bool {
		return slices.ContainsFunc(e.msgs(t, layout.RejectedStream), func(m *jetstream.RawStreamMsg) bool {
			return string(m.Data) == "marker"
		})
	}, 10*time.Second, 20*time.Millisecond)
	cons, err := e.js.Consumer(t.Context(), layout.EventsStream, ingress.RejecterConsumer)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := cons.Info(t.Context())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	}, 10*time.Second, 20*time.Millisecond)
	assert.Len(t, e.msgs(t, layout.RejectedStream), n/2+1, "each invalid message rejected once")
}

// TestRejecterAttributeRule: messages that break router.CheckAttributes
// are moved to the rejected stream with the reason naming the attribute;
// a valid one published after them is the marker that all were handled.
func TestRejecterAttributeRule(t *testing.T) {
	e := newEnv(t)
	runRejecter(t, e)
	bin := func(kv ...string) *nats.Msg {
		m := nats.NewMsg("events.attrs")
		m.Header.Set("ce-specversion", "1.0")
		m.Header.Set("ce-id", "a1")
		m.Header.Set("ce-source", "/s")
		m.Header.Set("ce-type", "t")
		for i := 0; i+1 < len(kv); i += 2 {
			m.Header.Set(kv[i], kv[i+1])
		}
		return m
	}
	tests := []struct {
		name   string
		msg    *nats.Msg
		reason string
	}{
		{name: "NATS: ce-subject of 2000 bytes -> rejected stream with reason", msg: bin("ce-subject", strings.Repeat("s", 2000)), reason: "subject is 2000 bytes, limit 1024"},
		{name: "NATS: ce-id with NUL -> rejected stream with reason", msg: bin("ce-id", "nul\x00id"), reason: "id must be UTF-8 without control characters"},
		{name: "NATS structured: subject with LF -> rejected stream with reason", msg: &nats.Msg{Subject: "events.attrs", Data: []byte(`{"specversion":"1.0","id":"a2","source":"/s","type":"t","subject":"a\nb"}`)}, reason: "subject must be UTF-8 without control characters"},
		{name: "NATS: CE-SPECVERSION 2.0 -> rejected stream with reason", msg: &nats.Msg{Subject: "events.attrs", Header: nats.Header{"CE-SPECVERSION": {"2.0"}, "CE-ID": {"a3"}, "CE-SOURCE": {"/s"}, "CE-TYPE": {"t"}}}, reason: `unknown specversion "2.0"`},
		{name: "NATS: ce-datacontenttype text/plain, Content-Type application/json -> rejected stream with reason", msg: bin("ce-datacontenttype", "text/plain", "Content-Type", "application/json"), reason: `ce-datacontenttype "text/plain" and Content-Type "application/json" disagree`},
		{name: "NATS: ce-subject %C3%28 -> rejected stream with reason", msg: bin("ce-subject", "%C3%28"), reason: "header ce-subject: percent-decoded value"},
	}
	for _, tt := range tests {
		require.NoError(t, e.nc.PublishMsg(tt.msg), tt.name)
	}
	require.NoError(t, e.nc.PublishMsg(bin("ce-id", "marker")))
	require.NoError(t, e.nc.Flush())
	// The rejecter creates its consumer when it starts, which may be after
	// the publishes: look it up inside the wait.
	require.Eventually(t, func() bool {
		cons, err := e.js.Consumer(t.Context(), layout.EventsStream, ingress.RejecterConsumer)
		if err != nil {
			return false
		}
		info, err := cons.Info(t.Context())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.AckFloor.Stream == uint64(len(tests)+1)
	}, 10*time.Second, 20*time.Millisecond)

	rejected := e.msgs(t, layout.RejectedStream)
	require.Len(t, rejected, len(tests), "the marker is valid and stays")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Contains(t, rejected[i].Header.Get(ingress.HeaderRejectReason), tt.reason)
			assert.Equal(t, "events.attrs", rejected[i].Header.Get(ingress.HeaderOriginalSubject))
		})
	}
}
