package functions

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/tracing"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/store"
)

var _ router.Invoker = (*Catalog)(nil)

// invokeScope is the emit scope of a synchronous invoke of function: ids
// of what it emits derive from it as a trigger's derive from the trigger's
// name. The "/" keeps it apart from every trigger name.
func invokeScope(function string) string { return function + "/invoke" }

// Invoke runs function on ev for cause trigger (empty for a synchronous
// invoke) as delivery attempt attempt (1 for the first): it invokes the
// host, records the call, and when the call is ok stores what it emitted,
// each event one hop further than ev, with ids derived from ev, the
// function and trigger so that a retry re-emits the same ids. It returns
// the ExecutionInfo of every call that ran.
//
// The error is non-nil when the call did not run (ErrNotFound: no such
// function; ErrUnavailable: the catalog is draining) or when it ran ok but
// its emitted events could not be stored (ErrUnavailable, with the
// ExecutionInfo): calling again with the same event is then safe.
func (c *Catalog) Invoke(ctx context.Context, function, trigger string, ev cloudevents.Event, attempt int) (host.ExecutionInfo, error) {
	if !c.drain.enter() {
		return host.ExecutionInfo{}, errorf(ErrUnavailable, "the host is shutting down; retry on another")
	}
	defer c.drain.leave()
	d, err := c.acquire(function)
	if err != nil {
		return host.ExecutionInfo{}, err
	}
	defer d.release(context.WithoutCancel(ctx))
	var span trace.Span
	if tracing.On() {
		ctx, span = tracing.Tracer().Start(ctx, "call "+function, trace.WithAttributes(
			attribute.String("wasmfaas.function", function), attribute.String("wasmfaas.trigger", trigger),
			attribute.String("cloudevents.event_id", ev.ID()), attribute.String("cloudevents.event_type", ev.Type()),
			attribute.Int("wasmfaas.attempt", attempt)))
		defer span.End()
	}
	scope := trigger
	if scope == "" {
		scope = invokeScope(function)
	}
	var info host.ExecutionInfo
	if ts := c.triggerSchema(trigger); d.schema != nil || ts != nil {
		check := func(ev *cloudevents.Event) error {
			if err := d.schema.check("function "+function, ev); err != nil {
				return err
			}
			return ts.check("trigger "+trigger, ev)
		}
		info = c.deps.Host.Invoke(ctx, d.fn, ev, host.WithAttempt(attempt), host.WithEmitScope(scope), host.WithCheck(check))
	} else {
		// The common case, without a closure or an options slice to build.
		info = c.deps.Host.Invoke(ctx, d.fn, ev, host.WithAttempt(attempt), host.WithEmitScope(scope))
	}
	if span != nil && span.IsRecording() {
		info.TraceID, info.SpanID = tracing.IDs(ctx)
		span.SetAttributes(attribute.String("wasmfaas.call_id", info.CallID), attribute.String("wasmfaas.status", string(info.Status)))
		if info.Status != host.StatusOK && info.Error != nil {
			span.SetStatus(codes.Error, info.Error.Kind+": "+info.Error.Message)
		}
	}
	router.CallEnded(ctx) // the router may start its next call while this one is recorded
	if err := c.record(ctx, info, ev, trigger); err != nil {
		// A call is recorded before its event is settled: the caller
		// retries (the router NAKs; HTTP answers 503), and the call runs
		// again with its writes and emitted events idempotent.
		return info, wrapf(ErrUnavailable, err, "call %s of %s ran but could not be recorded; send the event again", info.CallID, function)
	}
	if info.Status == host.StatusOK && len(info.Emitted) > 0 && c.deps.Emitter != nil {
		if err := c.deps.Emitter.Publish(context.WithoutCancel(ctx), function, scope, ev, info.Emitted); err != nil {
			return info, wrapf(ErrUnavailable, err, "call %s of %s ran ok but its %d emitted events are not stored; send the event again", info.CallID, function, len(info.Emitted))
		}
	}
	if info.Status == host.StatusOK && len(info.Scheduled) > 0 && c.deps.Scheduler != nil {
		if err := c.deps.Scheduler.Commit(context.WithoutCancel(ctx), function, ev, info.Scheduled); err != nil {
			return info, wrapf(ErrUnavailable, err, "call %s of %s ran ok but its %d schedule operations are not stored; send the event again", info.CallID, function, len(info.Scheduled))
		}
	}
	return info, nil
}

// record writes the call to the call log, the log and the metrics: the
// ExecutionInfo is the wide event of the call. The call log entry is also
// the call's execution event (store.Call.Event), about the subject of ev,
// the event that caused the call, one hop further than ev so that
// functions reacting to each other's executions stop at the router's
// maximum hop count.
//
// It returns an error when the call log could not store the call: the
// call must not be settled then.
func (c *Catalog) record(ctx context.Context, info host.ExecutionInfo, ev cloudevents.Event, trigger string) error {
	c.metrics.observe(info)
	// Encoded once, for the log line and the call log.
	rec, err := json.Marshal(info)
	if err != nil {
		// The ExecutionInfo is built from checked values; this is a bug.
		c.log.Error("encode call", "call_id", info.CallID, "error", err)
		return nil
	}
	c.log.Info("call", "call", json.RawMessage(rec))
	if c.deps.Calls == nil {
		return nil
	}
	call := store.Call{
		ID: info.CallID, Function: info.Function, Status: string(info.Status), Start: info.Start, Record: rec, RecordEncoded: true,
		Subject: ev.Subject(),
		Extensions: map[string]string{
			store.ExtAttempt:     strconv.Itoa(max(info.Attempt, 1)),
			router.ExtHops:       strconv.Itoa(router.Hops(ev) + 1),
			store.ExtCauseID:     ev.ID(),
			store.ExtCauseSource: ev.Source(),
		},
	}
	if trigger != "" {
		call.Extensions[store.ExtTrigger] = trigger
	}
	if info.Error != nil && info.Error.Kind != "" {
		call.Extensions[store.ExtErrorKind] = info.Error.Kind
	}
	actx := context.WithoutCancel(ctx)
	err = c.deps.Calls.Append(actx, call)
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrTooLarge) {
		// A subject or event id no CloudEvents attribute can carry (a
		// control character, over store's limits) must not cost the call
		// its record; the ExecutionInfo keeps them in full. Retrying on
		// the error, rather than checking first, keeps the check to one
		// pass over the record on the hot path.
		call.Subject = ""
		delete(call.Extensions, store.ExtCauseID)
		delete(call.Extensions, store.ExtCauseSource)
		err = c.deps.Calls.Append(actx, call)
	}
	if err != nil {
		c.log.Warn("call not recorded in the call log; not settled", "call_id", info.CallID, "error", err)
		return err
	}
	return nil
}

// Drain refuses new calls and waits for the calls in flight until ctx is
// done, then retires every function.
func (c *Catalog) Drain(ctx context.Context) error {
	err := c.drain.wait(ctx)
	c.mu.Lock()
	funcs := c.funcs
	c.funcs = map[string]*deployed{}
	c.mu.Unlock()
	for _, d := range funcs {
		d.retire(context.WithoutCancel(ctx))
	}
	return err
}

// drainer counts calls in flight and, once closed, refuses new ones.
type drainer struct {
	mu       sync.Mutex
	closed   bool
	inflight int
	idle     chan struct{} // closed when inflight drops to 0 after close
}

func (d *drainer) enter() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	d.inflight++
	return true
}

func (d *drainer) leave() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inflight--
	if d.closed && d.inflight == 0 && d.idle != nil {
		close(d.idle)
		d.idle = nil
	}
}

// wait closes the drainer and waits for the calls in flight.
func (d *drainer) wait(ctx context.Context) error {
	d.mu.Lock()
	d.closed = true
	if d.inflight == 0 {
		d.mu.Unlock()
		return nil
	}
	if d.idle == nil {
		d.idle = make(chan struct{})
	}
	idle := d.idle
	d.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return errorf(ErrUnavailable, "drain: calls still in flight: %v", ctx.Err())
	}
}

// Draining reports whether Drain has been called.
func (c *Catalog) Draining() bool {
	c.drain.mu.Lock()
	defer c.drain.mu.Unlock()
	return c.drain.closed
}
