package router

import (
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host"
)

// TestLoopDeadLettered: a function that re-emits the event type it reacts
// to runs MaxHops+1 times; the next event is dead-lettered with reason loop.
func TestLoopDeadLettered(t *testing.T) {
	_, js := startNATS(t)
	inv := newFake(func(fn string, ev cloudevents.Event, attempt int) host.ExecutionInfo {
		out := cloudevents.NewEvent()
		out.SetID(host.EmittedID(ev.ID(), fn, 0))
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
