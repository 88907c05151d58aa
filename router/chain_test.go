package router

import (
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
)

// TestLoopDeadLettered: a function that re-emits the event type it reacts
// to runs MaxHops+1 times; the next event is dead-lettered with reason loop.
func TestLoopDeadLettered(t *testing.T) {
	js := natstest.Start(t).JetStream()
	inv := newFake(func(fn string, ev cloudevents.Event, attempt int) host.ExecutionInfo {
		out := cloudevents.NewEvent()
		out.SetSource("wasmfaas/functions/" + fn)
		out.SetType("com.example.ping")
		return host.ExecutionInfo{Status: host.StatusOK, Emitted: []cloudevents.Event{out}}
	})
	r := startRouter(t, Config{AckWait: 5 * time.Second, MaxHops: 4}, js, inv, Trigger{
		Name: "ping", Function: "ping", Delivery: fastDelivery,
		Filters: []Filter{filter(t, `{"exact": {"type": "com.example.ping"}}`)},
	})
	ev := cloudevents.NewEvent()
	ev.SetID("ping-0")
	ev.SetSource("/test")
	ev.SetType("com.example.ping")
	publish(t, js, ev)
	var dls []DeadLetter
	eventually(t, 10*time.Second, func() bool {
		dls, _ = r.ListDeadLetters(t.Context(), "ping", 10)
		return len(dls) == 1
	}, "loop dead letter")
	assert.Equal(t, 5, inv.okCount("ping"), "hops 0 to 4 run")
	dl := dls[0]
	assert.Equal(t, ReasonLoop, dl.Reason)
	assert.Equal(t, "508", dl.Event.Extensions()[ExtErrorCode])
	assert.Equal(t, 5, Hops(dl.Event))
	assert.Nil(t, dl.Execution, "no call was made")
	assert.Contains(t, dl.Error, "more than the maximum of 4")
}

func TestHops(t *testing.T) {
	ev := cloudevents.NewEvent()
	assert.Equal(t, 0, Hops(ev))
	ev.SetExtension(ExtHops, 3)
	assert.Equal(t, 3, Hops(ev))
	ev.SetExtension(ExtHops, "7")
	assert.Equal(t, 7, Hops(ev))
	// Structured JSON round trip keeps the count.
	ev.SetID("1")
	ev.SetSource("/s")
	ev.SetType("t")
	ev.SetExtension(ExtHops, 5)
	msg, err := EncodeMsg("events.x", ev)
	require.NoError(t, err)
	got, err := DecodeMsg(msg)
	require.NoError(t, err)
	assert.Equal(t, 5, Hops(got))
}

func TestEmittedMsgIDPerTrigger(t *testing.T) {
	ev := cloudevents.NewEvent()
	ev.SetID(host.EmittedID("e1", "f", 0))
	ev.SetSource("wasmfaas/functions/f")
	assert.NotEqual(t, EmittedMsgID("t1", ev), EmittedMsgID("t2", ev))
	assert.Equal(t, EmittedMsgID("t1", ev), EmittedMsgID("t1", ev.Clone()))
}

// TestEmittedIDsPerTrigger: two triggers calling the same function on the
// same event emit distinct CloudEvent ids, both published; a retried call
// re-emits the ids of the failed attempt.
func TestEmittedIDsPerTrigger(t *testing.T) {
	js := natstest.Start(t).JetStream()
	inv := newFake(func(fn string, ev cloudevents.Event, attempt int) host.ExecutionInfo {
		out := cloudevents.NewEvent()
		out.SetSource("wasmfaas/functions/" + fn)
		out.SetType("com.example.derived")
		info := host.ExecutionInfo{Status: host.StatusOK, Emitted: []cloudevents.Event{out}}
		if attempt == 1 {
			info.Status, info.Error = host.StatusError, &host.ErrorInfo{Kind: "error", Message: "first attempt fails"}
		}
		return info
	})
	readings := []Filter{filter(t, `{"exact": {"type": "com.example.reading"}}`)}
	startRouter(t, Config{AckWait: 5 * time.Second}, js, inv,
		Trigger{Name: "t1", Function: "f", Filters: readings, Delivery: fastDelivery},
		Trigger{Name: "t2", Function: "f", Filters: readings, Delivery: fastDelivery},
	)
	ev := reading(1)
	publish(t, js, ev)
	var msgs []jetstream.Msg
	eventually(t, 10*time.Second, func() bool {
		msgs = readStream(t, js, layout.EventsStream, "events.emitted.>")
		return len(msgs) >= 2
	}, "emitted events")
	settled(t, js, "t1", "t2")
	msgs = readStream(t, js, layout.EventsStream, "events.emitted.>")
	require.Len(t, msgs, 2, "one emitted event per trigger")

	published := map[string]bool{}
	for _, m := range msgs {
		out, err := DecodeMsg(&nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
		require.NoError(t, err)
		published[out.ID()] = true
	}
	want := map[string]bool{host.EmittedID(ev.ID(), "t1", 0): true, host.EmittedID(ev.ID(), "t2", 0): true}
	assert.Len(t, want, 2, "distinct ids per trigger")
	assert.Equal(t, want, published)
	for _, trig := range []string{"t1", "t2"} {
		calls := inv.emittedIDs(trig, ev.ID())
		require.Len(t, calls, 2, "%s: a failed attempt and its retry", trig)
		assert.Equal(t, calls[0], calls[1], "%s: the retry re-emits the same ids", trig)
		assert.Equal(t, []string{host.EmittedID(ev.ID(), trig, 0)}, calls[1])
	}
}
