package host

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmfaas/wasmfaas/abi"
)

// CallOption sets a detail of one call.
type CallOption func(*callOptions)

type callOptions struct {
	attempt   int
	callID    string
	emitScope string
	check     func(*cloudevents.Event) error
}

// WithCheck runs check on the event before any instance is taken: an
// error rejects the call (status rejected, kind invalid_input, the error's
// text as the message) without running the guest. The call path checks
// declared data schemas with it.
func WithCheck(check func(*cloudevents.Event) error) CallOption {
	return func(o *callOptions) { o.check = check }
}

// WithAttempt records the delivery attempt (1 for the first); an attempt
// above 1 marks the call redelivered (ExecutionInfo.Redelivered): the event
// was delivered before, and that delivery may have run the function, or
// part of it, already.
func WithAttempt(n int) CallOption { return func(o *callOptions) { o.attempt = n } }

// WithCallID sets the call id instead of a fresh UUIDv7.
func WithCallID(id string) CallOption { return func(o *callOptions) { o.callID = id } }

// WithEmitScope derives the ids of the events the call emits from scope
// (for the router, the trigger's name) instead of the function's name, so
// two triggers calling the same function on the same event emit distinct
// ids while a retry through the same trigger re-emits the same ones.
func WithEmitScope(scope string) CallOption { return func(o *callOptions) { o.emitScope = scope } }

// call is the state of one call, reachable from host functions through the
// context wazero hands them.
type call struct {
	fn       *Function
	event    cloudevents.Event // the caller's, copied
	record   ExecutionInfo
	ev       *cloudevents.Event // &event
	scope    string             // emitted ids' scope (see EmittedID)
	info     *ExecutionInfo     // &record
	deadline time.Time
	parent   context.Context // the caller's context
	inst     *instance       // the instance running the call, for yield

	// The call is itself the context of its store calls (see storeCtx);
	// sctx is the real deadline context behind Done, made on first use.
	once    sync.Once
	inited  atomic.Bool
	sctx    context.Context
	scancel context.CancelFunc

	logBytes int
	newKeys  map[string]bool // schedule keys new to the store this call scheduled
	writes   int             // store writes applied so far (see writeCtx)
	sticky   *ErrorInfo      // a host-recorded failure the guest cannot clear
	guestErr *ErrorInfo      // from error_set
	stderr   *guestWriter

	httpState httpState // the http capability's last response or error
}

type callKey struct{}

func callFrom(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	if c == nil {
		trapf("host function called outside wasmfaas_handle")
	}
	return c
}

// storeCtx is the context store calls run under: the caller's, bounded by
// the call's deadline, so a slow store can never hold a guest past it. It
// is the call itself: a context.WithDeadline per call cost a timer and
// three allocations, and the in-memory store never waits on Done.
func (c *call) storeCtx() context.Context { return c }

// Deadline implements context.Context.
func (c *call) Deadline() (time.Time, bool) { return c.deadline, true }

// Value implements context.Context. The call is also the context guest
// code runs under: callFrom and yield find it and its instance here
// without a context.WithValue per call.
func (c *call) Value(key any) any {
	switch key.(type) {
	case callKey:
		return c
	case instKey:
		return c.inst
	}
	return c.parent.Value(key)
}

// Done implements context.Context.
func (c *call) Done() <-chan struct{} {
	c.once.Do(func() {
		c.sctx, c.scancel = context.WithDeadline(c.parent, c.deadline)
		c.inited.Store(true)
	})
	return c.sctx.Done()
}

// Err implements context.Context.
func (c *call) Err() error {
	if c.inited.Load() {
		return c.sctx.Err()
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *call) done() {
	if c.inited.Load() {
		c.scancel()
	}
}

func (c *call) fail(kind, format string, args ...any) {
	if c.sticky == nil {
		c.sticky = &ErrorInfo{Kind: kind, Message: fmt.Sprintf(format, args...)}
	}
}

// addLog appends a line if the log budget allows; it reports false when the
// line was dropped.
func (c *call) addLog(level, msg string) bool {
	if c.logBytes+len(msg) > c.fn.limits.MaxLogBytes {
		c.info.LogsTruncated = true
		return false
	}
	c.logBytes += len(msg)
	c.info.Logs = append(c.info.Logs, LogLine{Level: level, Message: strings.ToValidUTF8(msg, "\uFFFD")})
	return true
}

// Invoke runs fn on ev and returns the call's ExecutionInfo. It never panics
// and always returns a record, whatever the guest does.
func (h *Host) Invoke(ctx context.Context, fn *Function, ev cloudevents.Event, opts ...CallOption) ExecutionInfo {
	// One allocation holds the call, its copy of the event and its record
	// (each escaped on its own before: three allocations per call).
	c := &call{fn: fn, parent: ctx, event: ev}
	c.ev, c.info = &c.event, &c.record
	h.invoke(ctx, c, opts)
	return c.record
}

func (h *Host) invoke(ctx context.Context, c *call, opts []CallOption) {
	fn, info := c.fn, c.info
	o := callOptions{attempt: 1}
	if len(opts) > 0 {
		// Options write through a pointer; taking o's address only here
		// keeps a call without options from allocating it.
		po := &callOptions{attempt: 1}
		for _, opt := range opts {
			opt(po)
		}
		o = *po
	}
	start := time.Now()
	if o.callID == "" {
		o.callID = newCallID(start)
	}
	*info = ExecutionInfo{
		CallID:       o.callID,
		Function:     fn.name,
		ModuleDigest: fn.module.Digest,
		Mode:         string(fn.module.Mode),
		Event:        eventInfo(c.ev),
		Start:        start.UTC(),
		Attempt:      o.attempt,
		Redelivered:  o.attempt > 1,
	}
	defer func() {
		if r := recover(); r != nil {
			// A bug of ours, not the guest's: log the stack, never return it.
			h.log.Error("invoke panicked", LogKeyCall, info.CallID, LogKeyFunction, fn.name, "panic", r, "stack", string(debug.Stack()))
			info.Status = StatusError
			info.Error = &ErrorInfo{Kind: abi.KindInternal, Message: "internal host error; see the host log for call " + info.CallID}
		}
		info.DurationNS = int64(time.Since(start))
	}()

	if err := checkEvent(c.ev, &info.Event); err != nil {
		info.Status = StatusRejected
		info.Error = &ErrorInfo{Kind: abi.KindInvalidInput, Message: "invalid event: " + err.Error()}
		return
	}
	if o.check != nil {
		if err := o.check(c.ev); err != nil {
			info.Status = StatusRejected
			info.Error = &ErrorInfo{Kind: abi.KindInvalidInput, Message: err.Error()}
			return
		}
	}

	deadline := start.Add(fn.limits.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.scope = o.emitScope
	if c.scope == "" {
		c.scope = fn.name
	}
	c.deadline = deadline
	defer c.done()

	if fn.module.Mode == abi.ModeCommand {
		cctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		h.runCommand(context.WithValue(cctx, callKey{}, c), ctx, c)
		return
	}

	inst, err := fn.acquire(ctx, deadline)
	if err != nil {
		c.finishAcquireError(ctx, err)
		return
	}
	// yield, not the context, stops the guest at the deadline or on
	// cancellation (docs/RATIONALE.md).
	c.inst = inst
	inst.out.c, inst.errw.c = c, c
	c.stderr = inst.errw
	inst.errw.reset()
	inst.arm(ctx, deadline)
	callErr := inst.handle.CallWithStack(c, inst.stack)
	fired := inst.disarm()
	if fired != 0 {
		callErr = sys.NewExitError(fired)
	}
	inst.out.flush()
	inst.errw.flush()
	inst.out.c, inst.errw.c = nil, nil
	if mem := inst.mod.Memory(); mem != nil {
		info.MemoryBytes = uint64(mem.Size())
	}
	if callErr != nil {
		c.finishError(ctx, callErr)
	} else {
		c.finish(int32(inst.stack[0]))
	}
	c.checkBudget(inst.mem)
	fn.release(ctx, inst, callErr == nil)
}

// finish decides the status of a call that returned normally
// (abi/README.md §2, "Outcome of a call").
func (c *call) finish(ret int32) {
	info := c.info
	switch {
	case c.sticky != nil:
		info.Status, info.Error = StatusError, c.sticky
	case c.guestErr != nil:
		info.Status, info.Error = StatusError, c.guestErr
		if c.guestErr.Kind == abi.KindInvalidInput {
			info.Status = StatusRejected
		}
	case ret != 0:
		info.Status = StatusError
		info.Error = &ErrorInfo{Kind: abi.KindError, Message: fmt.Sprintf("handler returned %d", ret)}
	default:
		info.Status = StatusOK
		return
	}
	// Emitted events of a failed call are kept in the record, for the
	// post-mortem; callers publish them only for ok calls.
}

// finishError classifies an error from the guest call: deadline, caller
// cancellation, exit, a trap raised by a host function, or a wasm trap.
func (c *call) finishError(parent context.Context, err error) {
	info := c.info
	var exit *sys.ExitError
	var trap *trapError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		info.Status = StatusTimeout
		if parent.Err() != nil {
			info.Error = &ErrorInfo{Kind: abi.KindTimeout, Message: "caller's deadline passed during the call"}
		} else {
			info.Error = &ErrorInfo{Kind: abi.KindTimeout, Message: fmt.Sprintf("call exceeded the function's timeout of %s", c.fn.limits.Timeout)}
		}
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled:
		info.Status = StatusTimeout
		info.Error = &ErrorInfo{Kind: "canceled", Message: "call canceled by the caller"}
	case errors.As(err, &trap):
		info.Status = StatusTrap
		info.Error = &ErrorInfo{Kind: abi.KindTrap, Message: trap.msg}
	case errors.As(err, &exit):
		info.Status = StatusTrap
		msg := fmt.Sprintf("guest exited with code %d during %s", exit.ExitCode(), abi.HandleExport)
		if t := c.stderrHead(); t != "" {
			msg += ": " + t
		}
		info.Error = &ErrorInfo{Kind: abi.KindTrap, Message: msg}
	default:
		info.Status = StatusTrap
		msg := trapMessage(err)
		// A Go or Rust panic prints its reason to stderr before trapping;
		// the reason is what the author needs first.
		if t := c.stderrHead(); t != "" {
			msg = t + "\n" + msg
		}
		info.Error = &ErrorInfo{Kind: abi.KindTrap, Message: msg}
	}
}

func (c *call) stderrHead() string {
	if c.stderr == nil {
		return ""
	}
	return c.stderr.headString()
}

func (c *call) finishAcquireError(parent context.Context, err error) {
	info := c.info
	var ie *instantiateError
	var be *budgetError
	switch {
	case errors.As(err, &be):
		info.Status = StatusError
		info.Error = &ErrorInfo{Kind: abi.KindLimit, Message: "instantiate: " + be.Error()}
	case errors.Is(err, errOverloaded) && parent.Err() == nil:
		info.Status = StatusRejected
		info.Error = &ErrorInfo{Kind: abi.KindOverloaded, Message: fmt.Sprintf("overloaded: all %d instances of %s stayed busy until the call's deadline", c.fn.limits.MaxConcurrency, c.fn.name)}
	case errors.Is(err, errOverloaded):
		info.Status = StatusRejected
		info.Error = &ErrorInfo{Kind: abi.KindOverloaded, Message: fmt.Sprintf("overloaded: the caller gave up waiting for one of %d busy instances of %s", c.fn.limits.MaxConcurrency, c.fn.name)}
	case errors.As(err, &ie):
		c.finishError(parent, ie.err)
		if ie.tail != "" && !strings.Contains(info.Error.Message, ie.tail) {
			info.Error.Message += ": " + ie.tail
		}
		info.Error.Message = "instantiate: " + info.Error.Message
	default:
		info.Status = StatusError
		info.Error = &ErrorInfo{Kind: abi.KindInternal, Message: err.Error()}
	}
}

// trapMessage keeps wazero's message and the top of the wasm stack trace,
// which is the guest's, so it is safe and useful to show.
func trapMessage(err error) string {
	lines := strings.Split(err.Error(), "\n")
	if len(lines) > 12 {
		lines = append(lines[:12], "\t...")
	}
	return strings.Join(lines, "\n")
}

func eventInfo(ev *cloudevents.Event) EventInfo {
	ei := EventInfo{
		ID:              ev.ID(),
		Source:          ev.Source(),
		Type:            ev.Type(),
		Subject:         ev.Subject(),
		DataContentType: ev.DataContentType(),
	}
	if t := ev.Time(); !t.IsZero() {
		ei.Time = t.UTC().Format(time.RFC3339Nano)
	}
	if exts := ev.Extensions(); len(exts) > 0 {
		ei.Extensions = make(map[string]string, len(exts))
		for k, v := range exts {
			s, err := types.Format(v)
			if err != nil {
				s = fmt.Sprint(v)
			}
			ei.Extensions[k] = s
		}
	}
	return ei
}

// EventAttr returns an event's context attribute or extension in its
// canonical CloudEvents string form: what event_attr copies to a guest and
// what trigger filters compare, so the two can never disagree.
func EventAttr(ev *cloudevents.Event, name string) (string, bool) {
	switch name {
	case "specversion":
		return ev.SpecVersion(), true
	case "id":
		return ev.ID(), true
	case "source":
		return ev.Source(), true
	case "type":
		return ev.Type(), true
	case "subject":
		s := ev.Subject()
		return s, s != ""
	case "time":
		t := ev.Time()
		if t.IsZero() {
			return "", false
		}
		return t.UTC().Format(time.RFC3339Nano), true
	case "datacontenttype":
		s := ev.DataContentType()
		return s, s != ""
	case "dataschema":
		s := ev.DataSchema()
		return s, s != ""
	}
	v, ok := ev.Extensions()[name]
	if !ok {
		return "", false
	}
	s, err := types.Format(v)
	if err != nil {
		return "", false
	}
	return s, true
}

func extensionNames(ev *cloudevents.Event) []string {
	exts := ev.Extensions()
	names := make([]string, 0, len(exts))
	for k := range exts {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// guestWriter turns a guest's stdout or stderr into log lines of the current
// call and keeps the last stderr lines for trap messages.
type guestWriter struct {
	c      *call
	level  string
	stderr bool
	buf    []byte
	head   []string
	tail   []string
}

// A trap message carries the first stderr lines of the call, where Go and
// Rust print a panic's reason; a command's exit message carries the last,
// where CLIs print theirs.
const (
	headLines = 3
	tailLines = 6
)

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s + "…"
}

func (w *guestWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	// A guest that writes without newlines must not grow the buffer forever.
	if len(w.buf) > 4096 {
		w.line(string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

func (w *guestWriter) line(s string) {
	if w.stderr && len(w.head) < headLines && strings.TrimSpace(s) != "" {
		w.head = append(w.head, truncate(strings.TrimSpace(s), 512))
	}
	if w.stderr {
		if len(w.tail) == tailLines {
			copy(w.tail, w.tail[1:])
			w.tail = w.tail[:tailLines-1]
		}
		w.tail = append(w.tail, truncate(s, 512))
	}
	if w.c != nil {
		w.c.addLog(w.level, s)
	}
}

func (w *guestWriter) flush() {
	if len(w.buf) > 0 {
		w.line(string(w.buf))
		w.buf = w.buf[:0]
	}
}

func (w *guestWriter) reset() { w.tail, w.head = w.tail[:0], w.head[:0] }

// headString is the call's first stderr lines, joined.
func (w *guestWriter) headString() string { return strings.Join(w.head, " | ") }

// jsonValid is json.Valid, named for the reader of host functions.
func jsonValid(b []byte) bool { return json.Valid(b) }

// checkEvent checks what the ABI promises a guest: the required attributes.
// Ingress validates events fully (sdk-go's Validate costs about 300 ns, a
// sixth of a pooled call, and would run twice). ei is eventInfo(ev), whose
// strings it reuses (the source is formatted anew, and allocated, per call).
func checkEvent(ev *cloudevents.Event, ei *EventInfo) error {
	switch {
	case ev.Context == nil:
		return errors.New("event has no context")
	case ei.ID == "":
		return errors.New("id: MUST be a non-empty string")
	case ei.Source == "":
		return errors.New("source: REQUIRED but MISSING")
	case ei.Type == "":
		return errors.New("type: MUST be a non-empty string")
	case ev.SpecVersion() == "":
		return errors.New("specversion: MUST be a non-empty string")
	}
	for name, err := range ev.FieldErrors {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// newCallID returns a UUIDv7 (time-ordered, so call logs sort by start)
// from the runtime's per-thread ChaCha8 generator: unique, not secret, and
// a tenth of the cost of reading crypto/rand per call.
func newCallID(t time.Time) string {
	var u [16]byte
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint64(u[0:8], ms<<16)
	r1, r2 := rand.Uint64(), rand.Uint64()
	binary.BigEndian.PutUint16(u[6:8], uint16(r1)&0x0fff|0x7000)
	binary.BigEndian.PutUint64(u[8:16], r2&0x3fffffffffffffff|0x8000000000000000)
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}
