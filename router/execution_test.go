package router

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
	"github.com/wasmfaas/wasmfaas/store"
	storejs "github.com/wasmfaas/wasmfaas/store/jetstream"
)

// recordingInvoker records every call in a JetStream call log the way
// the server does, so each call's execution event enters the calls stream.
type recordingInvoker struct {
	*fakeInvoker
	log *storejs.CallLog

	mu   sync.Mutex
	seen map[string][]cloudevents.Event // function -> execution events it ran on
}

func (r *recordingInvoker) Invoke(ctx context.Context, fn, trigger string, ev cloudevents.Event, attempt int) (host.ExecutionInfo, error) {
	info, err := r.fakeInvoker.Invoke(ctx, fn, trigger, ev, attempt)
	if err != nil {
		return info, err
	}
	if ev.Type() == store.ExecutionType {
		r.mu.Lock()
		r.seen[fn] = append(r.seen[fn], ev)
		r.mu.Unlock()
	}
	info.CallID = fn + "/" + trigger + "/" + ev.ID() + "/" + strconv.Itoa(attempt)
	info.Start = time.Now()
	rec, err := json.Marshal(info)
	if err != nil {
		return info, err
	}
	c := store.Call{ID: info.CallID, Function: fn, Status: string(info.Status), Start: info.Start, Record: rec,
		Subject: ev.Subject(), Extensions: map[string]string{ExtHops: strconv.Itoa(Hops(ev) + 1), "trigger": trigger}}
	return info, r.log.Append(ctx, c)
}

func (r *recordingInvoker) executions(fn string) []cloudevents.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]cloudevents.Event(nil), r.seen[fn]...)
}

// TestExecutionEvents: every call's execution event reaches the triggers
// that select the execution type (here: one on failures, one on every
// execution), with the call's subject, function and status; never a
// catch-all trigger, and never a function's own executions.
func TestExecutionEvents(t *testing.T) {
	const n = 20
	js := natstest.Start(t).JetStream()
	log, err := storejs.NewCallLog(t.Context(), js, storejs.CallLogConfig{})
	require.NoError(t, err)
	inv := &recordingInvoker{log: log, seen: map[string][]cloudevents.Event{}, fakeInvoker: newFake(func(fn string, ev cloudevents.Event, attempt int) host.ExecutionInfo {
		if fn == "readings" && ev.ID() == "r-00003" && attempt == 1 {
			return failed(host.StatusError, "sensor offline")
		}
		return host.ExecutionInfo{Status: host.StatusOK}
	})}
	startRouter(t, Config{AckWait: 5 * time.Second}, js, inv,
		Trigger{Name: "readings", Function: "readings", Delivery: fastDelivery,
			Filters: []Filter{filter(t, `{"exact": {"type": "com.example.reading"}}`)}},
		Trigger{Name: "catch-all", Function: "everything", Delivery: fastDelivery},
		Trigger{Name: "on-failure", Function: "failures", Delivery: fastDelivery,
			Filters: []Filter{filter(t, `{"exact": {"type": "wasmfaas.execution"}}`), filter(t, `{"not": {"exact": {"status": "ok"}}}`)}},
		Trigger{Name: "audit", Function: "audit", Delivery: fastDelivery,
			Filters: []Filter{filter(t, `{"prefix": {"type": "wasmfaas.exec"}}`)}},
	)
	evs := make([]cloudevents.Event, n)
	for i := range evs {
		evs[i] = reading(i)
	}
	publish(t, js, evs...)

	// readings: n+1 calls, everything: n, failures: 1; audit sees the
	// executions of all three but not its own.
	wantAudit := (n + 1) + n + 1
	eventually(t, 30*time.Second, func() bool {
		return len(inv.executions("failures")) == 1 && len(inv.executions("audit")) == wantAudit
	}, "failures %d audit %d", len(inv.executions("failures")), len(inv.executions("audit")))
	settled(t, js, "readings", "catch-all", "on-failure", "audit")

	fails := inv.executions("failures")
	require.Len(t, fails, 1)
	f := fails[0]
	assert.Equal(t, "readings", f.Extensions()[store.ExtFunction])
	assert.Equal(t, "error", f.Extensions()[store.ExtStatus])
	assert.Equal(t, evs[3].Subject(), f.Subject(), "a failure is about the subject that failed")
	assert.Equal(t, 1, Hops(f))
	var info host.ExecutionInfo
	require.NoError(t, json.Unmarshal(f.Data(), &info))
	assert.Equal(t, "sensor offline", info.Error.Message)
	assert.Equal(t, 1, info.Attempt)

	byFn := map[string]int{}
	for _, ev := range inv.executions("audit") {
		byFn[ev.Extensions()[store.ExtFunction].(string)]++
	}
	assert.Equal(t, map[string]int{"readings": n + 1, "everything": n, "failures": 1}, byFn)
	assert.Len(t, inv.executions("audit"), wantAudit, "audit never runs on its own executions")
	assert.Empty(t, inv.executions("everything"), "a catch-all trigger does not get execution events")
	assert.Empty(t, readStream(t, js, layout.DeadLetterStream, "deadletter.>"))

	// The catch-all trigger has no consumer on the call log at all.
	_, err = js.Consumer(t.Context(), layout.CallsStream, DurableName("catch-all"))
	assert.Error(t, err)
}

// TestHandledBeforeRestart: a call that ended ok is in the call log but
// its event was not acked (the embedded server lost the ack in a crash).
// A router started on that log acks the redelivered event without calling
// the function again and publishes the call's emitted events (once); an
// event with no such call, or handled by another trigger, runs as usual.
func TestHandledBeforeRestart(t *testing.T) {
	js := natstest.Start(t).JetStream()
	ctx := t.Context()
	log, err := storejs.NewCallLog(ctx, js, storejs.CallLogConfig{})
	require.NoError(t, err)

	done, fresh := reading(1), reading(2)
	out := cloudevents.NewEvent()
	out.SetID(host.EmittedID(done.ID(), "readings", 0))
	out.SetSource("wasmfaas/functions/readings")
	out.SetType("com.example.derived")
	rec, err := json.Marshal(host.ExecutionInfo{CallID: "before", Function: "readings", Status: host.StatusOK, Emitted: []cloudevents.Event{out}})
	require.NoError(t, err)
	ext := func(trigger string) map[string]string {
		return map[string]string{store.ExtTrigger: trigger, store.ExtCauseID: done.ID(), store.ExtCauseSource: done.Source()}
	}
	require.NoError(t, log.Append(ctx, store.Call{ID: "before", Function: "readings", Status: "ok", Start: time.Now(), Record: rec, Extensions: ext("readings")}))
	// A failed call of the same event does not count as handled.
	require.NoError(t, log.Append(ctx, store.Call{ID: "failed", Function: "other", Status: "error", Start: time.Now(), Record: json.RawMessage(`{}`), Extensions: ext("other")}))
	publish(t, js, done, fresh)

	inv := newFake(nil)
	startRouter(t, Config{AckWait: 5 * time.Second}, js, inv,
		// The events were stored before the triggers existed (the restart
		// is simulated): replay them.
		Trigger{Name: "readings", Function: "readings", Delivery: fastDelivery, ReplayFrom: ReplayAll, Filters: []Filter{filter(t, `{"exact": {"type": "com.example.reading"}}`)}},
		Trigger{Name: "other", Function: "other", Delivery: fastDelivery, ReplayFrom: ReplayAll, Filters: []Filter{filter(t, `{"exact": {"type": "com.example.reading"}}`)}},
	)
	eventually(t, 10*time.Second, func() bool {
		return len(inv.attempts("readings", fresh.ID())) == 1 && len(inv.attempts("other", done.ID())) == 1 && len(inv.attempts("other", fresh.ID())) == 1
	}, "the calls not made before run")
	var emitted []cloudevents.Event
	eventually(t, 10*time.Second, func() bool {
		emitted = nil
		for _, m := range readStream(t, js, layout.EventsStream, "events.emitted.>") {
			ev, err := DecodeMsg(&nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
			require.NoError(t, err)
			emitted = append(emitted, ev)
		}
		return len(emitted) == 1
	}, "the recorded call's emitted event is published")
	assert.Equal(t, out.ID(), emitted[0].ID())
	settled(t, js, "readings", "other")
	assert.Empty(t, inv.attempts("readings", done.ID()), "the call made before the restart is not made again")
	cons, err := js.Consumer(ctx, layout.EventsStream, DurableName("readings"))
	require.NoError(t, err)
	info, err := cons.Info(ctx)
	require.NoError(t, err)
	assert.Zero(t, info.NumAckPending)
	assert.Zero(t, info.NumPending)
}

// TestExecutionEventPercent: a call about the subject "50%41" (a literal
// percent sign, as non-encoding senders write) is the execution event of
// that same subject: the call log writes it in structured mode, where no
// percent-decoding applies, and DecodeMsg gives it back unchanged.
func TestExecutionEventPercent(t *testing.T) {
	js := natstest.Start(t).JetStream()
	log, err := storejs.NewCallLog(t.Context(), js, storejs.CallLogConfig{})
	require.NoError(t, err)
	require.NoError(t, log.Append(t.Context(), store.Call{ID: "c1", Function: "fn", Status: "ok", Start: time.Now(),
		Record: json.RawMessage(`{}`), Subject: "50%41", Extensions: map[string]string{store.ExtCauseSource: "/a%20b", store.ExtCauseID: "id%"}}))
	s, err := js.Stream(t.Context(), layout.CallsStream)
	require.NoError(t, err)
	raw, err := s.GetMsg(t.Context(), 1)
	require.NoError(t, err)
	ev, err := DecodeMsg(&nats.Msg{Subject: raw.Subject, Header: raw.Header, Data: raw.Data})
	require.NoError(t, err)
	assert.Equal(t, "50%41", ev.Subject())
	src, _ := Attr(&ev, store.ExtCauseSource)
	assert.Equal(t, "/a%20b", src)
	id, _ := Attr(&ev, store.ExtCauseID)
	assert.Equal(t, "id%", id)
}

// TestCallHeader: the restart scan reads a call's status, trigger and
// cause from the call log's own headers, and from the ce- headers of
// entries older versions wrote in binary mode (percent-encoded).
func TestCallHeader(t *testing.T) {
	tests := []struct {
		name string
		h    nats.Header
		want string
	}{
		{name: "structured entry", h: nats.Header{store.HeaderCallCauseID: {"e%41"}}, want: "e%41"},
		{name: "binary entry", h: nats.Header{"ce-causeid": {"e%2541"}}, want: "e%41"},
		{name: "neither", h: nats.Header{}, want: ""},
		{name: "binary entry not UTF-8", h: nats.Header{"ce-causeid": {"%C3%28"}}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, callHeader(tt.h, store.HeaderCallCauseID, store.ExtCauseID))
		})
	}
}
