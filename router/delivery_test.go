package router

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
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

// fakeInvoker is an in-process Invoker: behave decides each call's
// outcome; every call is recorded. Like the host with WithEmitScope, it
// sets the ids of the emitted events from (event id, trigger, index), and
// like the call path it stores what an ok call emitted (startRouter gives
// it the Emitter) and fails the call when that cannot be stored.
type fakeInvoker struct {
	emit    *Emitter
	mu      sync.Mutex
	behave  func(fn string, ev cloudevents.Event, attempt int) host.ExecutionInfo
	calls   map[string][]int      // fn/event id -> attempts, in call order
	oks     map[string]int        // fn/event id -> attempt that ended ok
	okN     map[string]int        // fn/event id -> number of ok calls
	emitted map[string][][]string // trigger/event id -> emitted ids, per call
	total   int
	active  int
	peak    int
}

func newFake(behave func(fn string, ev cloudevents.Event, attempt int) host.ExecutionInfo) *fakeInvoker {
	return &fakeInvoker{behave: behave, calls: map[string][]int{}, oks: map[string]int{}, okN: map[string]int{}, emitted: map[string][][]string{}}
}

func (f *fakeInvoker) Invoke(ctx context.Context, fn, trigger string, ev cloudevents.Event, attempt int) (host.ExecutionInfo, error) {
	f.mu.Lock()
	f.active++
	f.peak = max(f.peak, f.active)
	behave := f.behave
	f.mu.Unlock()
	info := host.ExecutionInfo{Function: fn, Status: host.StatusOK, Attempt: attempt, Event: host.EventInfo{ID: ev.ID(), Source: ev.Source(), Type: ev.Type()}}
	if behave != nil {
		info = behave(fn, ev, attempt)
		info.Function, info.Attempt = fn, attempt
		info.Event = host.EventInfo{ID: ev.ID(), Source: ev.Source(), Type: ev.Type()}
	}
	info.CallID = fmt.Sprintf("%s/%s/%s/%d", fn, trigger, ev.ID(), attempt)
	ids := make([]string, len(info.Emitted))
	for i := range info.Emitted {
		info.Emitted[i].SetID(host.EmittedID(ev.ID(), trigger, i))
		ids[i] = info.Emitted[i].ID()
	}
	var err error
	if info.Status == host.StatusOK && f.emit != nil {
		err = f.emit.Publish(ctx, fn, trigger, ev, info.Emitted)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.active--
	k := fn + "/" + ev.ID()
	f.calls[k] = append(f.calls[k], attempt)
	tk := trigger + "/" + ev.ID()
	f.emitted[tk] = append(f.emitted[tk], ids)
	f.total++
	if info.Status == host.StatusOK && err == nil {
		f.oks[k] = attempt
		f.okN[k]++
	}
	return info, err
}

func (f *fakeInvoker) setBehave(b func(fn string, ev cloudevents.Event, attempt int) host.ExecutionInfo) {
	f.mu.Lock()
	f.behave = b
	f.mu.Unlock()
}

func (f *fakeInvoker) okCount(fn string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k := range f.oks {
		if len(k) > len(fn) && k[:len(fn)+1] == fn+"/" {
			n++
		}
	}
	return n
}

// emittedIDs returns the ids emitted by each call through trigger on the
// event id, in call order.
func (f *fakeInvoker) emittedIDs(trigger, id string) [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.emitted[trigger+"/"+id]...)
}

func (f *fakeInvoker) attempts(fn, id string) []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.calls[fn+"/"+id]...)
}

func failed(status host.Status, msg string) host.ExecutionInfo {
	return host.ExecutionInfo{Status: status, Error: &host.ErrorInfo{Kind: string(status), Message: msg}}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func startRouter(t *testing.T, cfg Config, js jetstream.JetStream, inv Invoker, triggers ...Trigger) *Router {
	t.Helper()
	r, err := New(cfg, js, inv, testLogger(t))
	require.NoError(t, err)
	if f, ok := inv.(*fakeInvoker); ok && f.emit == nil {
		f.emit = NewEmitter(js, r.cfg.Prefix, r.cfg.PublishTimeout)
	}
	require.NoError(t, r.SetTriggers(t.Context(), triggers))
	require.NoError(t, r.Start(t.Context()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
	return r
}

func reading(i int) cloudevents.Event {
	ev := cloudevents.NewEvent()
	ev.SetID(fmt.Sprintf("r-%05d", i))
	ev.SetSource(fmt.Sprintf("/sensors/%d", i%10))
	ev.SetType("com.example.reading")
	ev.SetSubject(fmt.Sprintf("device|%d", i%10))
	if i%2 == 0 {
		ev.SetExtension("fleet", "north")
	}
	_ = ev.SetData(cloudevents.ApplicationJSON, map[string]int{"tempc": i % 40})
	return ev
}

// publish stores events in the events stream and waits for every PubAck.
func publish(t *testing.T, js jetstream.JetStream, evs ...cloudevents.Event) {
	t.Helper()
	futures := make([]jetstream.PubAckFuture, 0, len(evs))
	for _, ev := range evs {
		msg, err := EncodeMsg("events.test", ev)
		require.NoError(t, err)
		f, err := js.PublishMsgAsync(msg)
		require.NoError(t, err)
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("no PubAck")
		}
	}
}

// eventually polls cond every 20ms until it holds, failing the test after
// timeout.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: "+msg, args...)
		}
		<-tick.C
	}
}

// settledStreams are the streams a trigger's consumers read.
var settledStreams = []string{layout.EventsStream, layout.PropsStream, layout.CallsStream}

// settled waits until the consumers of triggers have nothing left: every
// message of the streams they read delivered and acked, none due for a
// retry, no call running (a running call holds its message unacked). It
// is how a test asserts "nothing else happened": once settled, no call can
// start and no emitted event or execution event can be published, because
// each is the work of a call in flight. A pass counts only if no stream
// grew while it ran.
func settled(t *testing.T, js jetstream.JetStream, triggers ...string) {
	t.Helper()
	ctx := t.Context()
	lastSeqs := func() []uint64 {
		var seqs []uint64
		for _, name := range settledStreams {
			st, err := js.Stream(ctx, name)
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				seqs = append(seqs, 0)
				continue
			}
			require.NoError(t, err)
			info, err := st.Info(ctx)
			require.NoError(t, err)
			seqs = append(seqs, info.State.LastSeq)
		}
		return seqs
	}
	idle := func() bool {
		for _, tr := range triggers {
			for _, name := range settledStreams {
				cons, err := js.Consumer(ctx, name, DurableName(tr))
				if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
					continue
				}
				require.NoError(t, err)
				info, err := cons.Info(ctx)
				require.NoError(t, err)
				if info.NumPending > 0 || info.NumAckPending > 0 {
					return false
				}
			}
		}
		return true
	}
	eventually(t, 30*time.Second, func() bool {
		before := lastSeqs()
		return idle() && slices.Equal(before, lastSeqs())
	}, "triggers %v settled", triggers)
}

var fastDelivery = Delivery{Retries: 3, Backoff: Duration(10 * time.Millisecond), BackoffPolicy: "linear"}

func filter(t *testing.T, s string) Filter {
	var f Filter
	require.NoError(t, f.UnmarshalJSON([]byte(s)))
	return f
}

// readStream returns every message under subject in stream.
func readStream(t *testing.T, js jetstream.JetStream, stream, subject string) []jetstream.Msg {
	t.Helper()
	ctx := t.Context()
	st, err := js.Stream(ctx, stream)
	require.NoError(t, err)
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
	require.NoError(t, err)
	var total uint64
	for _, n := range info.State.Subjects {
		total += n
	}
	if total == 0 {
		return nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	require.NoError(t, err)
	var out []jetstream.Msg
	for uint64(len(out)) < total {
		batch, err := cons.Fetch(int(min(total-uint64(len(out)), 1000)), jetstream.FetchMaxWait(5*time.Second))
		require.NoError(t, err)
		for m := range batch.Messages() {
			out = append(out, m)
		}
		require.NoError(t, batch.Error())
	}
	return out
}

// TestFanOutAndRetries is the routing scenario "Fan-out and retries": 3 triggers on
// overlapping filters, 10,000 events published over NATS, one function
// failing each event's first 2 attempts.
func TestFanOutAndRetries(t *testing.T) {
	const n = 10000
	js := natstest.Start(t).JetStream()
	inv := newFake(func(fn string, ev cloudevents.Event, attempt int) host.ExecutionInfo {
		switch fn {
		case "fb":
			if attempt <= 2 {
				return failed(host.StatusTrap, "unreachable")
			}
		case "fa":
			out := cloudevents.NewEvent()
			out.SetSource("wasmfaas/functions/" + fn)
			out.SetType("com.example.derived")
			return host.ExecutionInfo{Status: host.StatusOK, Emitted: []cloudevents.Event{out}}
		}
		return host.ExecutionInfo{Status: host.StatusOK}
	})
	triggers := []Trigger{
		{Name: "all-readings", Function: "fa", Filters: []Filter{filter(t, `{"exact": {"type": "com.example.reading"}}`)}, Delivery: fastDelivery},
		{Name: "north", Function: "fb", Filters: []Filter{filter(t, `{"exact": {"fleet": "north"}}`)}, Delivery: fastDelivery},
		{Name: "sensors", Function: "fc", Filters: []Filter{filter(t, `{"prefix": {"source": "/sensors/"}}`)}, Delivery: fastDelivery},
	}
	startRouter(t, Config{AckWait: 5 * time.Second}, js, inv, triggers...)
	evs := make([]cloudevents.Event, n)
	for i := range evs {
		evs[i] = reading(i)
	}
	start := time.Now()
	publish(t, js, evs...)
	eventually(t, 3*time.Minute, func() bool {
		return inv.okCount("fa") == n && inv.okCount("fb") == n/2 && inv.okCount("fc") == n
	}, "fa %d fb %d fc %d", inv.okCount("fa"), inv.okCount("fb"), inv.okCount("fc"))
	t.Logf("%d events, %d calls in %s", n, inv.total, time.Since(start))

	for i, ev := range evs {
		assert.Len(t, inv.attempts("fa", ev.ID()), 1, "fa %s", ev.ID())
		assert.Len(t, inv.attempts("fc", ev.ID()), 1, "fc %s", ev.ID())
		if i%2 == 0 {
			assert.Equal(t, []int{1, 2, 3}, inv.attempts("fb", ev.ID()), "fb %s", ev.ID())
		} else {
			assert.Empty(t, inv.attempts("fb", ev.ID()))
		}
	}
	// The emitted events: one per reading, none twice.
	var msgs []jetstream.Msg
	eventually(t, 30*time.Second, func() bool {
		msgs = readStream(t, js, layout.EventsStream, "events.emitted.>")
		return len(msgs) >= n
	}, "emitted events")
	ids, msgIDs := map[string]bool{}, map[string]bool{}
	for _, m := range msgs {
		ev, err := DecodeMsg(&nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
		require.NoError(t, err)
		assert.False(t, ids[ev.ID()], "emitted id %s twice", ev.ID())
		ids[ev.ID()] = true
		msgIDs[m.Headers().Get(nats.MsgIdHdr)] = true
		assert.Equal(t, 1, Hops(ev))
	}
	assert.Len(t, ids, n)
	assert.Len(t, msgIDs, n)
	assert.Empty(t, readStream(t, js, layout.DeadLetterStream, "deadletter.>"))
}

// TestPropertyChangedEvents: events of the store's property-changed stream
// reach triggers like any other.
func TestPropertyChangedEvents(t *testing.T) {
	js := natstest.Start(t).JetStream()
	inv := newFake(nil)
	startRouter(t, Config{AckWait: 5 * time.Second}, js, inv, Trigger{
		Name: "on-tempc", Function: "temperature", Delivery: fastDelivery,
		Filters: []Filter{filter(t, `{"exact": {"type": "wasmfaas.property.changed", "propertyname": "tempc"}}`)},
	})
	changed := func(i int, prop string) {
		ev := cloudevents.NewEvent()
		ev.SetID(fmt.Sprintf("p-%d", i))
		ev.SetSource("wasmfaas/store")
		ev.SetType("wasmfaas.property.changed")
		ev.SetSubject("device|1")
		ev.SetExtension("propertyname", prop)
		msg, err := EncodeMsg("wasmfaas.props.changed.ZGV2aWNlfDE", ev)
		require.NoError(t, err)
		_, err = js.PublishMsg(t.Context(), msg)
		require.NoError(t, err)
	}
	for i, prop := range []string{"tempc", "temp_status", "tempc"} {
		changed(i, prop)
	}
	eventually(t, 10*time.Second, func() bool { return inv.okCount("temperature") == 2 }, "2 tempc changes")
	// A later tempc change is the marker: once it ran and the trigger has
	// nothing pending, p-1 would have run if it were going to.
	changed(3, "tempc")
	eventually(t, 10*time.Second, func() bool { return inv.okCount("temperature") == 3 }, "the marker")
	settled(t, js, "on-tempc")
	assert.Equal(t, 3, inv.okCount("temperature"))
	assert.Empty(t, inv.attempts("temperature", "p-1"))
	for _, id := range []string{"p-0", "p-2", "p-3"} {
		assert.Equal(t, []int{1}, inv.attempts("temperature", id), id)
	}
}

// TestPoisonAndReplay: an always-trapping event ends in the dead-letter
// stream after max attempts with its ExecutionInfo; replayed after the fix
// it succeeds, and only for that trigger.
func TestPoisonAndReplay(t *testing.T) {
	js := natstest.Start(t).JetStream()
	long := "trap: wasm error: unreachable\n" + string(make([]byte, 3000))
	fixed := false
	var mu sync.Mutex
	inv := newFake(func(fn string, ev cloudevents.Event, attempt int) host.ExecutionInfo {
		mu.Lock()
		defer mu.Unlock()
		if fn == "poison" && !fixed {
			return failed(host.StatusTrap, long)
		}
		return host.ExecutionInfo{Status: host.StatusOK}
	})
	r := startRouter(t, Config{AckWait: 5 * time.Second}, js, inv,
		Trigger{Name: "poison", Function: "poison", Delivery: Delivery{Retries: 2, Backoff: Duration(10 * time.Millisecond), BackoffPolicy: "exponential"}},
		Trigger{Name: "other", Function: "other", Delivery: fastDelivery},
	)
	ev := reading(1)
	publish(t, js, ev)
	var dls []DeadLetter
	eventually(t, 10*time.Second, func() bool {
		var err error
		dls, err = r.ListDeadLetters(t.Context(), "poison", 10)
		require.NoError(t, err)
		return len(dls) == 1
	}, "dead letter")
	dl := dls[0]
	assert.Equal(t, []int{1, 2, 3}, inv.attempts("poison", ev.ID()))
	assert.Equal(t, ReasonFailed, dl.Reason)
	assert.Equal(t, "poison", dl.Trigger)
	assert.Equal(t, 3, dl.Attempts)
	require.NotNil(t, dl.Execution)
	assert.Equal(t, host.StatusTrap, dl.Execution.Status)
	assert.Equal(t, 3, dl.Execution.Attempt)
	assert.Equal(t, ev.ID(), dl.Event.ID())
	assert.Equal(t, "500", dl.Event.Extensions()[ExtErrorCode])
	assert.Equal(t, "wasmfaas:functions/poison", dl.Event.Extensions()[ExtErrorDest])
	assert.Equal(t, "trap: "+long, dl.Error, "the whole error message")
	// The dead letter is a structured CloudEvent: the original event plus
	// the dead-letter extensions, knativeerrordata the ExecutionInfo.
	raw := readStream(t, js, layout.DeadLetterStream, "deadletter.>")
	require.Len(t, raw, 1)
	assert.Equal(t, "application/cloudevents+json", raw[0].Headers().Get("Content-Type"))
	for name := range raw[0].Headers() {
		assert.NotRegexp(t, "(?i)^ce-", name, "a structured message has no ce- header")
	}
	stored, err := decodeStructured(raw[0].Data())
	require.NoError(t, err)
	assert.Equal(t, dl.Event, stored)
	data, err := base64.StdEncoding.DecodeString(stored.Extensions()[ExtErrorData].(string))
	require.NoError(t, err)
	info, err := json.Marshal(dl.Execution)
	require.NoError(t, err)
	assert.JSONEq(t, string(info), string(data), "knativeerrordata is the ExecutionInfo")
	meta, err := raw[0].Metadata()
	require.NoError(t, err)
	wantExt := map[string]any{ExtDLTrigger: "poison", ExtDLFunction: "poison", ExtDLReason: ReasonFailed, ExtDLAttempts: "3",
		ExtDLCallID: dl.Execution.CallID, ExtDLStream: layout.EventsStream, ExtDLStreamSeq: "1", ExtDLSubject: "events.test",
		ExtErrorCode: "500", ExtErrorDest: "wasmfaas:functions/poison", ExtErrorData: stored.Extensions()[ExtErrorData]}
	for k, v := range ev.Extensions() {
		wantExt[k] = v
	}
	assert.Equal(t, wantExt, stored.Extensions())
	assert.Equal(t, meta.Timestamp.UTC(), dl.Time)
	assert.Equal(t, layout.EventsStream, dl.Stream)
	assert.Equal(t, uint64(1), dl.StreamSeq)
	assert.Equal(t, "events.test", dl.NATSSubject)
	assert.Equal(t, "poison", dl.Function)
	assert.Equal(t, 500, dl.Code)
	orig := dl.OriginalEvent()
	assert.Equal(t, ev.Extensions(), orig.Extensions(), "OriginalEvent removes every dead-letter extension")
	assert.Equal(t, ev.ID(), orig.ID())
	assert.Equal(t, ev.Source(), orig.Source())
	assert.Equal(t, ev.Type(), orig.Type())
	assert.Equal(t, ev.Subject(), orig.Subject())
	assert.Equal(t, ev.DataContentType(), orig.DataContentType())
	assert.JSONEq(t, string(ev.Data()), string(orig.Data()))

	got, err := r.GetDeadLetter(t.Context(), dl.Seq)
	require.NoError(t, err)
	assert.Equal(t, dl.Error, got.Error)
	all, err := r.ListDeadLetters(t.Context(), "", 10)
	require.NoError(t, err)
	assert.Len(t, all, 1)

	mu.Lock()
	fixed = true
	mu.Unlock()
	_, err = r.ReplayDeadLetter(t.Context(), dl.Seq)
	require.NoError(t, err)
	eventually(t, 10*time.Second, func() bool { return inv.okCount("poison") == 1 }, "replayed call")
	assert.Equal(t, []int{1, 2, 3, 1}, inv.attempts("poison", ev.ID()))
	// A marker after the replay: once "other" ran on it and has nothing
	// pending, it has seen the replayed message too.
	marker := reading(2)
	publish(t, js, marker)
	eventually(t, 10*time.Second, func() bool { return len(inv.attempts("other", marker.ID())) == 1 }, "the marker")
	settled(t, js, "poison", "other")
	assert.Equal(t, []int{1}, inv.attempts("other", ev.ID()), "the replay is for the dead letter's trigger only")
	left, err := r.ListDeadLetters(t.Context(), "poison", 10)
	require.NoError(t, err)
	assert.Empty(t, left)
	_, err = r.GetDeadLetter(t.Context(), dl.Seq)
	assert.ErrorIs(t, err, ErrNotDeadLetter)
}

// TestRejectedNotRetried: invalid input is dead-lettered at once.
func TestRejectedNotRetried(t *testing.T) {
	js := natstest.Start(t).JetStream()
	inv := newFake(func(fn string, ev cloudevents.Event, attempt int) host.ExecutionInfo {
		return failed(host.StatusRejected, "tempc must be a number")
	})
	r := startRouter(t, Config{AckWait: 5 * time.Second}, js, inv, Trigger{Name: "strict", Function: "strict", Delivery: fastDelivery})
	ev := reading(7)
	publish(t, js, ev)
	var dls []DeadLetter
	eventually(t, 10*time.Second, func() bool {
		dls, _ = r.ListDeadLetters(t.Context(), "strict", 10)
		return len(dls) == 1
	}, "dead letter")
	// A marker behind it: once it is dead-lettered too and the trigger has
	// nothing pending, no retry of the first is coming.
	marker := reading(8)
	publish(t, js, marker)
	eventually(t, 10*time.Second, func() bool {
		all, _ := r.ListDeadLetters(t.Context(), "strict", 10)
		return len(all) == 2
	}, "the marker's dead letter")
	settled(t, js, "strict")
	assert.Equal(t, []int{1}, inv.attempts("strict", ev.ID()))
	assert.Equal(t, []int{1}, inv.attempts("strict", marker.ID()))
	assert.Equal(t, ReasonRejected, dls[0].Reason)
	assert.Equal(t, "400", dls[0].Event.Extensions()[ExtErrorCode])
	require.NotNil(t, dls[0].Execution)
	assert.Equal(t, host.StatusRejected, dls[0].Execution.Status)
}

// TestUnavailableFunction: an Invoker error is retried, then dead-lettered.
func TestUnavailableFunction(t *testing.T) {
	js := natstest.Start(t).JetStream()
	var mu sync.Mutex
	var attempts []int
	inv := invokerFunc(func(ctx context.Context, fn, trigger string, ev cloudevents.Event, attempt int) (host.ExecutionInfo, error) {
		mu.Lock()
		attempts = append(attempts, attempt)
		mu.Unlock()
		return host.ExecutionInfo{}, fmt.Errorf("function %q not found", fn)
	})
	r := startRouter(t, Config{AckWait: 5 * time.Second}, js, inv, Trigger{Name: "ghost", Function: "ghost", Delivery: Delivery{Retries: 1, Backoff: Duration(10 * time.Millisecond), BackoffPolicy: "linear"}})
	publish(t, js, reading(1))
	var dls []DeadLetter
	eventually(t, 10*time.Second, func() bool {
		dls, _ = r.ListDeadLetters(t.Context(), "ghost", 10)
		return len(dls) == 1
	}, "dead letter")
	mu.Lock()
	assert.Equal(t, []int{1, 2}, attempts)
	mu.Unlock()
	assert.Equal(t, ReasonUnavailable, dls[0].Reason)
	assert.Contains(t, dls[0].Error, "not found")
	assert.Nil(t, dls[0].Execution)
}

type invokerFunc func(ctx context.Context, fn, trigger string, ev cloudevents.Event, attempt int) (host.ExecutionInfo, error)

func (f invokerFunc) Invoke(ctx context.Context, fn, trigger string, ev cloudevents.Event, attempt int) (host.ExecutionInfo, error) {
	return f(ctx, fn, trigger, ev, attempt)
}

// TestLongCallKeepsMessage: a call three times the ack wait runs once.
func TestLongCallKeepsMessage(t *testing.T) {
	js := natstest.Start(t).JetStream()
	inv := newFake(func(fn string, ev cloudevents.Event, attempt int) host.ExecutionInfo {
		// The slow call is what is under test: it outlasts the ack wait
		// three times over.
		time.Sleep(1500 * time.Millisecond)
		return host.ExecutionInfo{Status: host.StatusOK}
	})
	startRouter(t, Config{AckWait: 500 * time.Millisecond}, js, inv, Trigger{Name: "slow", Function: "slow", Delivery: fastDelivery})
	ev := reading(3)
	publish(t, js, ev)
	eventually(t, 10*time.Second, func() bool { return inv.okCount("slow") == 1 }, "slow call")
	settled(t, js, "slow")
	cons, err := js.Consumer(t.Context(), layout.EventsStream, DurableName("slow"))
	require.NoError(t, err)
	info, err := cons.Info(t.Context())
	require.NoError(t, err)
	assert.Equal(t, uint64(1), info.Delivered.Consumer, "the server delivered the event once")
	assert.Equal(t, []int{1}, inv.attempts("slow", ev.ID()), "no duplicate run")
}

// TestSetTriggersReconciles: consumers follow the trigger set at runtime.
func TestSetTriggersReconciles(t *testing.T) {
	js := natstest.Start(t).JetStream()
	inv := newFake(nil)
	r := startRouter(t, Config{AckWait: 5 * time.Second}, js, inv, Trigger{Name: "a", Function: "fa", Delivery: fastDelivery})
	_, err := js.Consumer(t.Context(), layout.EventsStream, DurableName("a"))
	require.NoError(t, err)
	require.NoError(t, r.SetTriggers(t.Context(), []Trigger{{Name: "b.c/d", Function: "fb", Delivery: fastDelivery}}))
	_, err = js.Consumer(t.Context(), layout.EventsStream, DurableName("a"))
	assert.ErrorIs(t, err, jetstream.ErrConsumerNotFound)
	_, err = js.Consumer(t.Context(), layout.EventsStream, DurableName("b.c/d"))
	require.NoError(t, err)
	publish(t, js, reading(1))
	eventually(t, 10*time.Second, func() bool { return inv.okCount("fb") == 1 }, "new trigger")
	assert.Zero(t, inv.okCount("fa"))
	assert.NotEqual(t, DurableName("b.c/d"), DurableName("b_c_d"))
	assert.Error(t, r.SetTriggers(t.Context(), []Trigger{{Name: "x", Function: "f", Delivery: Delivery{Retries: 1, DeadLetter: "elsewhere.x"}}}))
}

// TestDeadLetterTooLarge: an ExecutionInfo that would take the dead letter
// past the server's max payload is left out; knativeerrordata is then the
// error message, and the call id still names the call.
func TestDeadLetterTooLarge(t *testing.T) {
	js := natstest.Start(t, natstest.WithMaxPayload(64<<10)).JetStream()
	inv := newFake(func(fn string, ev cloudevents.Event, attempt int) host.ExecutionInfo {
		info := failed(host.StatusRejected, "tempc must be a number")
		info.Logs = []host.LogLine{{Level: "info", Message: strings.Repeat("x", 60<<10)}}
		return info
	})
	r := startRouter(t, Config{AckWait: 5 * time.Second}, js, inv, Trigger{Name: "big", Function: "big", Delivery: fastDelivery})
	ev := reading(3)
	publish(t, js, ev)
	var dls []DeadLetter
	eventually(t, 10*time.Second, func() bool {
		dls, _ = r.ListDeadLetters(t.Context(), "big", 10)
		return len(dls) == 1
	}, "dead letter")
	dl := dls[0]
	assert.Nil(t, dl.Execution, "left out")
	assert.Equal(t, "rejected: tempc must be a number", dl.Error)
	data, err := base64.StdEncoding.DecodeString(dl.Event.Extensions()[ExtErrorData].(string))
	require.NoError(t, err)
	assert.Equal(t, "rejected: tempc must be a number", string(data))
	assert.Equal(t, "big/big/"+ev.ID()+"/1", dl.Event.Extensions()[ExtDLCallID])
	assert.Equal(t, ReasonRejected, dl.Reason)
	assert.Equal(t, 400, dl.Code)
}

// TestDeadLetterOldFormat: a dead letter stored by an earlier version, a
// JSON object with the event inside, is still listed, shown and replayed.
func TestDeadLetterOldFormat(t *testing.T) {
	js := natstest.Start(t).JetStream()
	inv := newFake(nil)
	r := startRouter(t, Config{AckWait: 5 * time.Second}, js, inv, Trigger{Name: "old", Function: "old", Delivery: fastDelivery})
	ev := reading(4)
	withExt := ev.Clone()
	withExt.SetExtension(ExtErrorDest, "wasmfaas:functions/old")
	withExt.SetExtension(ExtErrorCode, "500")
	withExt.SetExtension(ExtErrorData, base64.StdEncoding.EncodeToString([]byte("trap: boom")))
	stored := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	body, err := json.Marshal(DeadLetter{Trigger: "old", Function: "old", Reason: ReasonFailed, Code: 500, Error: "trap: boom",
		Attempts: 3, Time: stored, Stream: layout.EventsStream, StreamSeq: 9, NATSSubject: "events.test", Event: withExt,
		Execution: &host.ExecutionInfo{CallID: "c9", Function: "old", Status: host.StatusTrap}})
	require.NoError(t, err)
	msg := nats.NewMsg("deadletter.old")
	msg.Data = body
	msg.Header.Set("Content-Type", "application/json")
	ack, err := js.PublishMsg(t.Context(), msg)
	require.NoError(t, err)

	dl, err := r.GetDeadLetter(t.Context(), ack.Sequence)
	require.NoError(t, err)
	assert.Equal(t, ack.Sequence, dl.Seq)
	assert.Equal(t, "trap: boom", dl.Error)
	assert.Equal(t, stored, dl.Time)
	assert.Equal(t, uint64(9), dl.StreamSeq)
	require.NotNil(t, dl.Execution)
	assert.Equal(t, "c9", dl.Execution.CallID)
	list, err := r.ListDeadLetters(t.Context(), "old", 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, dl.Error, list[0].Error)

	_, err = r.ReplayDeadLetter(t.Context(), ack.Sequence)
	require.NoError(t, err)
	eventually(t, 10*time.Second, func() bool { return inv.okCount("old") == 1 }, "replayed call")
	replayed := readStream(t, js, layout.EventsStream, "events.replay.>")
	require.Len(t, replayed, 1)
	got, err := DecodeMsg(&nats.Msg{Subject: replayed[0].Subject(), Header: replayed[0].Headers(), Data: replayed[0].Data()})
	require.NoError(t, err)
	assert.Equal(t, ev.Extensions(), got.Extensions(), "the original event, without the Knative extensions")
	assert.Equal(t, ev.ID(), got.ID())
	assert.JSONEq(t, string(ev.Data()), string(got.Data()))
}
