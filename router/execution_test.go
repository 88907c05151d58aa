package router

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host"
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
	_, js := startNATS(t)
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
	time.Sleep(300 * time.Millisecond) // anything extra would arrive now

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
	assert.Empty(t, readStream(t, js, DefaultDeadLetterStream, "deadletter.>"))

	// The catch-all trigger has no consumer on the call log at all.
	_, err = js.Consumer(t.Context(), storejs.DefaultCallStream, DurableName("catch-all"))
	assert.Error(t, err)
}
