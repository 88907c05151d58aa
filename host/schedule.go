package host

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmfaas/wasmfaas/abi"
)

// The schedule capability (abi/README.md §4, "schedule") and the HTTP
// response a guest shapes with result_status and result_header.

// scheduleScope is what a scheduled event's id is derived under, so it
// never equals the id of an event the same call emitted.
func scheduleScope(scope string) string { return scope + "/schedule" }

// scheduleOps counts what a call did against max emitted events: emits,
// schedules and cancels together.
func (c *call) scheduleOps() int { return len(c.info.Emitted) + len(c.info.Scheduled) }

func scheduleEvent(ctx context.Context, mod api.Module, stack []uint64) {
	scheduleAt(ctx, mod, stack, "schedule_event", func(v int64) (time.Time, error) {
		if v < 0 {
			return time.Time{}, fmt.Errorf("delay %dms is negative", v)
		}
		return time.Now().UTC().Add(time.Duration(v) * time.Millisecond), nil
	})
}

func scheduleEventAt(ctx context.Context, mod api.Module, stack []uint64) {
	scheduleAt(ctx, mod, stack, "schedule_event_at", func(v int64) (time.Time, error) {
		if v <= 0 {
			return time.Time{}, fmt.Errorf("time %d is not a positive number of milliseconds since the Unix epoch", v)
		}
		return time.UnixMilli(v).UTC(), nil
	})
}

func scheduleAt(ctx context.Context, mod api.Module, stack []uint64, name string, when func(int64) (time.Time, error)) {
	c := callFrom(ctx)
	key := string(region(mod, name, u32(stack[0]), u32(stack[1])))
	attrs := region(mod, name, u32(stack[2]), u32(stack[3]))
	data := region(mod, name, u32(stack[4]), u32(stack[5]))
	index := len(c.info.Scheduled)
	lim := c.fn.limits
	if err := abi.CheckScheduleKey(key); err != nil {
		c.fail(abi.KindInvalidSchedule, "scheduled event %d: %v", index, err)
		stack[0] = status(abi.Invalid)
		return
	}
	at, err := when(int64(stack[6]))
	if err != nil {
		c.fail(abi.KindInvalidSchedule, "scheduled event %d (key %q): %v", index, key, err)
		stack[0] = status(abi.Invalid)
		return
	}
	if c.scheduleOps() >= lim.MaxEmits {
		c.fail(abi.KindLimit, "more than %d emitted events (scheduled events and cancels count too)", lim.MaxEmits)
		stack[0] = status(abi.Limit)
		return
	}
	if len(attrs)+len(data) > lim.MaxOutputBytes {
		c.fail(abi.KindLimit, "scheduled event %d is %d bytes; the function's max output is %d", index, len(attrs)+len(data), lim.MaxOutputBytes)
		stack[0] = status(abi.TooLarge)
		return
	}
	if code, ok := c.checkPending(name, key); !ok {
		stack[0] = code
		return
	}
	ev, err := c.buildEvent(attrs, data, EmittedID(c.ev.ID(), scheduleScope(c.scope), index))
	if err != nil {
		c.fail(abi.KindInvalidSchedule, "scheduled event %d (key %q): %v", index, key, err)
		stack[0] = status(abi.Invalid)
		return
	}
	ev.SetTime(at)
	c.info.Scheduled = append(c.info.Scheduled, Scheduled{Key: key, At: at, Event: &ev})
	stack[0] = uint64(index)
}

// checkPending enforces max pending schedules for a new key: the keys
// pending in the store, plus the new keys this call scheduled (a key the
// store already has, or one this call scheduled before, is a replace).
func (c *call) checkPending(name, key string) (uint64, bool) {
	for _, s := range c.info.Scheduled {
		if s.Key == key {
			return 0, true
		}
	}
	count := 0
	if sc := c.fn.host.cfg.Schedules; sc != nil {
		n, exists, err := sc.Pending(c.storeCtx(), c.fn.name, key)
		if err != nil {
			c.fail(abi.KindUnavailable, "%s: count pending schedules: %v", name, err)
			return status(abi.Unavailable), false
		}
		if exists {
			return 0, true
		}
		count = n
	}
	if c.newKeys == nil {
		c.newKeys = map[string]bool{}
	}
	if count+len(c.newKeys) >= c.fn.limits.MaxSchedules {
		c.fail(abi.KindLimit, "%s: %d scheduled events are pending, the function's maximum", name, count+len(c.newKeys))
		return status(abi.Limit), false
	}
	c.newKeys[key] = true
	return 0, true
}

func scheduleCancel(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	key := string(region(mod, "schedule_cancel", u32(stack[0]), u32(stack[1])))
	if err := abi.CheckScheduleKey(key); err != nil {
		c.fail(abi.KindInvalidSchedule, "schedule_cancel: %v", err)
		stack[0] = status(abi.Invalid)
		return
	}
	if c.scheduleOps() >= c.fn.limits.MaxEmits {
		c.fail(abi.KindLimit, "more than %d emitted events (scheduled events and cancels count too)", c.fn.limits.MaxEmits)
		stack[0] = status(abi.Limit)
		return
	}
	c.info.Scheduled = append(c.info.Scheduled, Scheduled{Key: key, Cancel: true})
	stack[0] = status(abi.OK)
}

func resultStatus(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	code := int32(u32(stack[0]))
	if code < 100 || code > 599 {
		c.fail(abi.KindInvalidResponse, "result_status: %d is not an HTTP status code (100-599)", code)
		stack[0] = status(abi.Invalid)
		return
	}
	c.result().Status = int(code)
	stack[0] = status(abi.OK)
}

func resultHeader(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	name := string(region(mod, "result_header", u32(stack[0]), u32(stack[1])))
	value := string(region(mod, "result_header", u32(stack[2]), u32(stack[3])))
	if err := abi.CheckHeader(name, value); err != nil {
		c.fail(abi.KindInvalidResponse, "result_header: %v", err)
		if errors.Is(err, abi.ErrTooLarge) {
			stack[0] = status(abi.TooLarge)
		} else {
			stack[0] = status(abi.Invalid)
		}
		return
	}
	r := c.result()
	r.Headers = append(r.Headers, Header{Name: textproto.CanonicalMIMEHeaderKey(name), Value: value})
	stack[0] = status(abi.OK)
}

// result returns the call's result, made empty on first use, so status
// and headers can be set before or after the body.
func (c *call) result() *Result {
	if c.info.Result == nil {
		c.info.Result = &Result{ContentType: "application/octet-stream"}
	}
	return c.info.Result
}
