package host

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/internal/tracing"
	"github.com/wasmfaas/wasmfaas/store"
)

// hostFuncs implements every function of abi.Functions; instantiateABI
// refuses to start if one is missing, so the spec and the host cannot drift.
var hostFuncs = map[string]api.GoModuleFunc{
	"event_attr":            eventAttr,
	"event_data":            eventData,
	"event_extensions":      eventExtensions,
	"result_set":            resultSet,
	"error_set":             errorSet,
	"result_status":         resultStatus,
	"result_header":         resultHeader,
	"schedule_event":        scheduleEvent,
	"schedule_event_at":     scheduleEventAt,
	"schedule_cancel":       scheduleCancel,
	"log_write":             logWrite,
	"info_set":              infoSet,
	"info_get":              infoGet,
	"config_get":            configGet,
	"emit_event":            emitEvent,
	"kv_get":                kvGet,
	"kv_set":                kvSet,
	"kv_delete":             kvDelete,
	"kv_keys":               kvKeys,
	"props_get":             propsGet,
	"props_set":             propsSet,
	"props_delete":          propsDelete,
	"props_ext_get":         propsExtGet,
	"props_ext_set":         propsExtSet,
	"props_ext_delete":      propsExtDelete,
	"http_request":          httpRequest,
	"http_response_body":    httpResponseBody,
	"http_response_header":  httpResponseHeader,
	"http_response_headers": httpResponseHeaders,
	"http_error":            httpError,
}

// tracedGroups are the capabilities whose host calls are spans of their
// call (with tracing on when the host starts): those that reach the
// state store, other hosts or the event stream.
var tracedGroups = map[abi.Capability]bool{abi.CapKV: true, abi.CapProps: true, abi.CapEmit: true, abi.CapSchedule: true, abi.CapHTTP: true}

// traced wraps a host function in a span, a child of the call's span.
func traced(name string, impl api.GoModuleFunc) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		c := callFrom(ctx)
		if !tracing.Recording(c.parent) {
			impl(ctx, mod, stack)
			return
		}
		_, span := tracing.Tracer().Start(c.parent, name, trace.WithAttributes(attribute.String("wasmfaas.function", c.fn.name)))
		defer span.End()
		impl(ctx, mod, stack)
		if r := int64(stack[0]); r < 0 {
			span.SetAttributes(attribute.String("wasmfaas.status", abi.Status(r).String()))
		}
	}
}

func valType(t abi.ValType) api.ValueType {
	if t == abi.I64 {
		return api.ValueTypeI64
	}
	return api.ValueTypeI32
}

// instantiateABI registers the wasmfaas_v1 host module in rt. Stack-based
// Go functions cost tens of nanoseconds per call where reflection-based ones
// cost about a microsecond (docs/RATIONALE.md).
func instantiateABI(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.ImportModule)
	for _, f := range abi.Functions {
		impl, ok := hostFuncs[f.Name]
		if !ok {
			return fmt.Errorf("host function %s is not implemented", f.Name)
		}
		if tracing.On() && tracedGroups[f.Group] {
			impl = traced(f.Name, impl)
		}
		params := make([]api.ValueType, len(f.Types))
		for i, t := range f.Types {
			params[i] = valType(t)
		}
		b.NewFunctionBuilder().
			WithGoModuleFunction(impl, params, []api.ValueType{valType(f.Result)}).
			WithParameterNames(f.Params...).
			Export(f.Name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// instantiateYield registers the yield function instrument's checks call
// (yieldModule.yield () -> i32): the guest's safe point and interruption
// point.
func instantiateYield(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(yieldModule).
		NewFunctionBuilder().
		WithGoFunction(api.GoFunc(yield), nil, []api.ValueType{api.ValueTypeI32}).
		Export(yieldName).
		Instantiate(ctx)
	return err
}

// yield runs every yieldEvery checks of a guest, and at its next check
// once the caller cancelled (see instance.stop). Being Go code reached by
// an exit from compiled code, it is where the Go runtime can preempt the
// guest's goroutine, so a garbage collection never waits long for a
// looping guest. It ends the call if the deadline passed or the caller
// cancelled, and otherwise returns the new countdown.
func yield(ctx context.Context, stack []uint64) {
	if inst, _ := ctx.Value(instKey{}).(*instance); inst != nil {
		if inst.fired.Load() == 0 && !time.Now().Before(inst.deadline) {
			inst.stop(sys.ExitCodeDeadlineExceeded)
		}
		if code := inst.fired.Load(); code != 0 {
			panic(sys.NewExitError(code))
		}
	} else if deadline, ok := ctx.Value(startKey{}).(time.Time); ok {
		// A start section running while the instance is created.
		if !time.Now().Before(deadline) {
			panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
		}
		if ctx.Err() != nil {
			panic(sys.NewExitError(sys.ExitCodeContextCanceled))
		}
	}
	stack[0] = yieldEvery
}

// startKey carries the deadline of an instance's creation to yield, for
// the module's start section (see Function.newInstance).
type startKey struct{}

// region returns guest memory [ptr, ptr+n) or ends the call as a trap.
func region(mod api.Module, fn string, ptr, n uint32) []byte {
	mem := mod.Memory()
	if mem == nil {
		trapf("%s: module has no memory", fn)
	}
	b, ok := mem.Read(ptr, n)
	if !ok {
		trapf("%s: region [%#x, +%#x) outside memory of %#x bytes", fn, ptr, n, mem.Size())
	}
	return b
}

// output copies data into the guest buffer if it fits and returns its
// length either way (abi/README.md §3, "Buffers").
func output(mod api.Module, fn string, bufPtr, bufCap uint32, data []byte) uint64 {
	buf := region(mod, fn, bufPtr, bufCap)
	if len(data) > math.MaxInt32 {
		return status(abi.TooLarge)
	}
	if len(data) <= len(buf) {
		copy(buf, data)
	}
	return uint64(len(data))
}

func writeRev(mod api.Module, fn string, ptr uint32, rev uint64) {
	if ptr == 0 {
		return
	}
	binary.LittleEndian.PutUint64(region(mod, fn, ptr, 8), rev)
}

func status(s abi.Status) uint64 { return uint64(int64(s)) }

func u32(v uint64) uint32 { return uint32(v) }

// storeStatus maps a store error to an ABI status, recording the sticky
// failures of abi/README.md §4.
func (c *call) storeStatus(fn string, err error) uint64 {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return status(abi.NotFound)
	case errors.Is(err, store.ErrConflict):
		return status(abi.Conflict)
	case errors.Is(err, store.ErrTooLarge), errors.Is(err, abi.ErrTooLarge):
		return status(abi.TooLarge)
	case errors.Is(err, store.ErrInvalid), errors.Is(err, abi.ErrInvalid):
		return status(abi.Invalid)
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		c.fail(abi.KindUnavailable, "%s: %v", fn, err)
		return status(abi.Unavailable)
	default:
		c.fail(abi.KindInternal, "%s: %v", fn, err)
		return status(abi.Internal)
	}
}

func eventAttr(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	name := region(mod, "event_attr", u32(stack[0]), u32(stack[1]))
	v, ok := EventAttr(c.ev, string(name))
	if !ok {
		region(mod, "event_attr", u32(stack[2]), u32(stack[3]))
		stack[0] = status(abi.NotFound)
		return
	}
	stack[0] = output(mod, "event_attr", u32(stack[2]), u32(stack[3]), []byte(v))
}

func eventData(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	stack[0] = output(mod, "event_data", u32(stack[0]), u32(stack[1]), c.ev.Data())
}

func eventExtensions(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	stack[0] = output(mod, "event_extensions", u32(stack[0]), u32(stack[1]), abi.AppendNames(nil, extensionNames(c.ev)))
}

func resultSet(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	body := region(mod, "result_set", u32(stack[0]), u32(stack[1]))
	ct := region(mod, "result_set", u32(stack[2]), u32(stack[3]))
	if len(body) > c.fn.limits.MaxOutputBytes {
		c.fail(abi.KindLimit, "result is %d bytes; the function's max output is %d", len(body), c.fn.limits.MaxOutputBytes)
		stack[0] = status(abi.TooLarge)
		return
	}
	ctype := strings.ToValidUTF8(string(ct), "\uFFFD")
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	r := c.result()
	r.ContentType, r.Body = ctype, append([]byte(nil), body...)
	stack[0] = status(abi.OK)
}

const maxErrorMessage = 8 << 10

func errorSet(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	kind := string(region(mod, "error_set", u32(stack[0]), u32(stack[1])))
	msg := region(mod, "error_set", u32(stack[2]), u32(stack[3]))
	if len(msg) > maxErrorMessage {
		msg = msg[:maxErrorMessage]
	}
	text := strings.ToValidUTF8(string(msg), "\uFFFD")
	if err := abi.CheckErrorKind(kind); err != nil {
		c.guestErr = &ErrorInfo{Kind: abi.KindError, Message: text}
		stack[0] = status(abi.Invalid)
		return
	}
	c.guestErr = &ErrorInfo{Kind: kind, Message: text}
	stack[0] = status(abi.OK)
}

func levelName(l int32) string {
	switch {
	case l >= abi.LevelError:
		return "error"
	case l >= abi.LevelWarn:
		return "warn"
	case l >= abi.LevelInfo:
		return "info"
	default:
		return "debug"
	}
}

func logWrite(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	msg := region(mod, "log_write", u32(stack[1]), u32(stack[2]))
	if !c.addLog(levelName(int32(stack[0])), string(msg)) {
		stack[0] = status(abi.Limit)
		return
	}
	stack[0] = status(abi.OK)
}

func infoSet(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	key := string(region(mod, "info_set", u32(stack[0]), u32(stack[1])))
	val := region(mod, "info_set", u32(stack[2]), u32(stack[3]))
	if abi.CheckFieldKey(key) != nil || !jsonValid(val) {
		stack[0] = status(abi.Invalid)
		return
	}
	if c.logBytes+len(key)+len(val) > c.fn.limits.MaxLogBytes {
		c.info.LogsTruncated = true
		stack[0] = status(abi.Limit)
		return
	}
	c.logBytes += len(key) + len(val)
	if c.info.Fields == nil {
		c.info.Fields = map[string]json.RawMessage{}
	}
	c.info.Fields[key] = append(json.RawMessage(nil), val...)
	stack[0] = status(abi.OK)
}

func infoGet(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	name := region(mod, "info_get", u32(stack[0]), u32(stack[1]))
	var v string
	switch string(name) {
	case "call_id":
		v = c.info.CallID
	case "function":
		v = c.fn.name
	case "module_digest":
		v = c.fn.module.Digest
	case "attempt":
		v = strconv.Itoa(c.info.Attempt)
	case "deadline":
		v = c.deadline.UTC().Format(time.RFC3339Nano)
	default:
		region(mod, "info_get", u32(stack[2]), u32(stack[3]))
		stack[0] = status(abi.NotFound)
		return
	}
	stack[0] = output(mod, "info_get", u32(stack[2]), u32(stack[3]), []byte(v))
}

func configGet(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	key := region(mod, "config_get", u32(stack[0]), u32(stack[1]))
	v, ok := c.fn.config[string(key)]
	if !ok {
		region(mod, "config_get", u32(stack[2]), u32(stack[3]))
		stack[0] = status(abi.NotFound)
		return
	}
	stack[0] = output(mod, "config_get", u32(stack[2]), u32(stack[3]), []byte(v))
}

// EmittedID derives the id of the index-th event emitted while handling the
// event triggerID in scope: the trigger that delivered it (WithEmitScope) or,
// for a direct invoke, the function. A retried call re-emits the same ids, so
// a duplicate window can drop the repeats, and two triggers calling the same
// function on the same event emit distinct ids.
func EmittedID(triggerID, scope string, index int) string {
	h := sha256.New()
	h.Write([]byte(triggerID))
	h.Write([]byte{0})
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(index)))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// WriteID derives the write id (store.WithWriteID) of the index-th write a
// call made, counting only the writes the store applied: the call on the
// event (source, id) in scope (as for EmittedID) of function. A call run
// again on the same event through the same trigger, after a crash or a
// failure, derives the same ids in the same order, and the store does not
// apply its earlier writes twice (docs/RATIONALE.md, "Why atomic batches
// for idempotent writes?").
func WriteID(source, id, scope, function string, index int) string {
	h := sha256.New()
	for _, s := range []string{source, id, scope, function} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write([]byte(strconv.Itoa(index)))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// writeCtx is the context of the call's next write: storeCtx with the
// write's id. A write that fails (a conflict, not found) does not count,
// so a compare-and-set loop retries under the same id, and a re-run finds
// its applied writes at the same indexes.
func (c *call) writeCtx() context.Context {
	if c.fn.host.cfg.PlainWrites {
		return c.storeCtx()
	}
	return store.WithWriteID(c.storeCtx(), WriteID(c.ev.Source(), c.ev.ID(), c.scope, c.fn.name, c.writes))
}

func emitEvent(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	attrs := region(mod, "emit_event", u32(stack[0]), u32(stack[1]))
	data := region(mod, "emit_event", u32(stack[2]), u32(stack[3]))
	lim := c.fn.limits
	if c.scheduleOps() >= lim.MaxEmits {
		c.fail(abi.KindLimit, "more than %d emitted events (scheduled events and cancels count too)", lim.MaxEmits)
		stack[0] = status(abi.Limit)
		return
	}
	if len(attrs)+len(data) > lim.MaxOutputBytes {
		c.fail(abi.KindLimit, "emitted event %d is %d bytes; the function's max output is %d", len(c.info.Emitted), len(attrs)+len(data), lim.MaxOutputBytes)
		stack[0] = status(abi.TooLarge)
		return
	}
	ev, err := c.buildEvent(attrs, data, EmittedID(c.ev.ID(), c.scope, len(c.info.Emitted)))
	if err != nil {
		c.fail(abi.KindInvalidEmit, "emitted event %d: %v", len(c.info.Emitted), err)
		stack[0] = status(abi.Invalid)
		return
	}
	c.info.Emitted = append(c.info.Emitted, ev)
	stack[0] = uint64(len(c.info.Emitted) - 1)
}

// buildEvent makes the event of emit_event or schedule_event from its
// attrs block and data, with the given id.
func (c *call) buildEvent(attrs, data []byte, id string) (cloudevents.Event, error) {
	pairs, err := abi.SplitPairs(attrs)
	if err != nil {
		return cloudevents.Event{}, err
	}
	ev := cloudevents.NewEvent()
	ev.SetID(id)
	ev.SetSource("wasmfaas/functions/" + c.fn.name)
	ev.SetTime(time.Now().UTC())
	seen := map[string]bool{}
	for _, p := range pairs {
		if seen[p.Name] {
			return ev, fmt.Errorf("attribute %q given twice", p.Name)
		}
		seen[p.Name] = true
		if !utf8.ValidString(p.Value) {
			return ev, fmt.Errorf("attribute %q is not valid UTF-8", p.Name)
		}
		switch p.Name {
		case "type":
			ev.SetType(p.Value)
		case "subject":
			ev.SetSubject(p.Value)
		case "source":
			ev.SetSource(p.Value)
		case "datacontenttype":
			ev.SetDataContentType(p.Value)
		case "dataschema":
			ev.SetDataSchema(p.Value)
		case "id", "specversion", "time":
			return ev, fmt.Errorf("attribute %q is set by the host", p.Name)
		default:
			if err := abi.CheckExtName(p.Name); err != nil {
				return ev, err
			}
			if err := abi.CheckExtValue(p.Value); err != nil {
				return ev, err
			}
			ev.SetExtension(p.Name, p.Value)
		}
	}
	if ev.Type() == "" {
		return ev, errors.New("type is missing or empty")
	}
	if len(data) > 0 {
		// sdk-go reads data without a content type as JSON; say what it is
		// so the event always encodes (abi/README.md, emit_event).
		if ev.DataContentType() == "" {
			if jsonValid(data) {
				ev.SetDataContentType(cloudevents.ApplicationJSON)
			} else {
				ev.SetDataContentType("application/octet-stream")
			}
		}
		ev.DataEncoded = append([]byte(nil), data...)
	}
	if err := ev.Validate(); err != nil {
		return ev, err
	}
	return ev, nil
}

func (c *call) kv(fn string) (store.KV, bool) {
	kv := c.fn.host.cfg.KV
	if kv == nil {
		c.fail(abi.KindUnavailable, "%s: no KV store is configured", fn)
	}
	return kv, kv != nil
}

func (c *call) props(fn string) (store.Properties, bool) {
	p := c.fn.host.cfg.Properties
	if p == nil {
		c.fail(abi.KindUnavailable, "%s: no property store is configured", fn)
	}
	return p, p != nil
}

func kvGet(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	key := string(region(mod, "kv_get", u32(stack[0]), u32(stack[1])))
	region(mod, "kv_get", u32(stack[2]), u32(stack[3]))
	if p := u32(stack[4]); p != 0 {
		region(mod, "kv_get", p, 8)
	}
	kv, ok := c.kv("kv_get")
	if !ok {
		stack[0] = status(abi.Unavailable)
		return
	}
	e, err := kv.Get(c.storeCtx(), c.fn.name, key)
	if err != nil {
		stack[0] = c.storeStatus("kv_get", err)
		return
	}
	writeRev(mod, "kv_get", u32(stack[4]), e.Revision)
	stack[0] = output(mod, "kv_get", u32(stack[2]), u32(stack[3]), e.Value)
}

func kvSet(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	key := string(region(mod, "kv_set", u32(stack[0]), u32(stack[1])))
	val := region(mod, "kv_set", u32(stack[2]), u32(stack[3]))
	kv, ok := c.kv("kv_set")
	if !ok {
		stack[0] = status(abi.Unavailable)
		return
	}
	rev, err := kv.Put(c.writeCtx(), c.fn.name, key, val)
	if err != nil {
		stack[0] = c.storeStatus("kv_set", err)
		return
	}
	c.writes++
	c.info.KVChanges = append(c.info.KVChanges, KVChange{Key: key, Revision: rev, Size: len(val)})
	stack[0] = rev
}

func kvDelete(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	key := string(region(mod, "kv_delete", u32(stack[0]), u32(stack[1])))
	kv, ok := c.kv("kv_delete")
	if !ok {
		stack[0] = status(abi.Unavailable)
		return
	}
	if err := kv.Delete(c.writeCtx(), c.fn.name, key); err != nil {
		stack[0] = c.storeStatus("kv_delete", err)
		return
	}
	c.writes++
	c.info.KVChanges = append(c.info.KVChanges, KVChange{Key: key, Deleted: true})
	stack[0] = status(abi.OK)
}

func kvKeys(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	prefix := string(region(mod, "kv_keys", u32(stack[0]), u32(stack[1])))
	region(mod, "kv_keys", u32(stack[2]), u32(stack[3]))
	kv, ok := c.kv("kv_keys")
	if !ok {
		stack[0] = status(abi.Unavailable)
		return
	}
	keys, err := kv.Keys(c.storeCtx(), c.fn.name, prefix)
	if err != nil {
		stack[0] = c.storeStatus("kv_keys", err)
		return
	}
	stack[0] = output(mod, "kv_keys", u32(stack[2]), u32(stack[3]), abi.AppendNames(nil, keys))
}

func (c *call) recordChange(ch store.Change) {
	c.info.PropertyChanges = append(c.info.PropertyChanges, PropertyChange{
		Subject: ch.Subject, Name: ch.Name, Old: nullIfEmpty(ch.Old), New: nullIfEmpty(ch.New), Revision: ch.Revision,
	})
}

func nullIfEmpty(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

func propsGet(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	subj := string(region(mod, "props_get", u32(stack[0]), u32(stack[1])))
	name := string(region(mod, "props_get", u32(stack[2]), u32(stack[3])))
	region(mod, "props_get", u32(stack[4]), u32(stack[5]))
	if p := u32(stack[6]); p != 0 {
		region(mod, "props_get", p, 8)
	}
	ps, ok := c.props("props_get")
	if !ok {
		stack[0] = status(abi.Unavailable)
		return
	}
	p, err := ps.Get(c.storeCtx(), subj, name)
	if err != nil {
		stack[0] = c.storeStatus("props_get", err)
		return
	}
	writeRev(mod, "props_get", u32(stack[6]), p.Revision)
	stack[0] = output(mod, "props_get", u32(stack[4]), u32(stack[5]), p.Value)
}

func propsSet(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	subj := string(region(mod, "props_set", u32(stack[0]), u32(stack[1])))
	name := string(region(mod, "props_set", u32(stack[2]), u32(stack[3])))
	val := region(mod, "props_set", u32(stack[4]), u32(stack[5]))
	expect := int64(stack[6])
	ps, ok := c.props("props_set")
	if !ok {
		stack[0] = status(abi.Unavailable)
		return
	}
	ch, err := ps.Set(c.writeCtx(), subj, name, json.RawMessage(val), expect)
	if err != nil {
		stack[0] = c.storeStatus("props_set", err)
		return
	}
	c.writes++
	c.recordChange(ch)
	stack[0] = ch.Revision
}

func propsDelete(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	subj := string(region(mod, "props_delete", u32(stack[0]), u32(stack[1])))
	name := string(region(mod, "props_delete", u32(stack[2]), u32(stack[3])))
	expect := int64(stack[4])
	ps, ok := c.props("props_delete")
	if !ok {
		stack[0] = status(abi.Unavailable)
		return
	}
	ch, err := ps.Delete(c.writeCtx(), subj, name, expect)
	if err != nil {
		stack[0] = c.storeStatus("props_delete", err)
		return
	}
	c.writes++
	c.recordChange(ch)
	stack[0] = status(abi.OK)
}

func propsExtGet(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	subj := string(region(mod, "props_ext_get", u32(stack[0]), u32(stack[1])))
	name := string(region(mod, "props_ext_get", u32(stack[2]), u32(stack[3])))
	region(mod, "props_ext_get", u32(stack[4]), u32(stack[5]))
	ps, ok := c.props("props_ext_get")
	if !ok {
		stack[0] = status(abi.Unavailable)
		return
	}
	v, err := ps.GetExtended(c.storeCtx(), subj, name)
	if err != nil {
		stack[0] = c.storeStatus("props_ext_get", err)
		return
	}
	stack[0] = output(mod, "props_ext_get", u32(stack[4]), u32(stack[5]), []byte(v))
}

func propsExtSet(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	subj := string(region(mod, "props_ext_set", u32(stack[0]), u32(stack[1])))
	name := string(region(mod, "props_ext_set", u32(stack[2]), u32(stack[3])))
	val := string(region(mod, "props_ext_set", u32(stack[4]), u32(stack[5])))
	ps, ok := c.props("props_ext_set")
	if !ok {
		stack[0] = status(abi.Unavailable)
		return
	}
	if err := ps.SetExtended(c.writeCtx(), subj, name, val); err != nil {
		stack[0] = c.storeStatus("props_ext_set", err)
		return
	}
	c.writes++
	stack[0] = status(abi.OK)
}

func propsExtDelete(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	subj := string(region(mod, "props_ext_delete", u32(stack[0]), u32(stack[1])))
	name := string(region(mod, "props_ext_delete", u32(stack[2]), u32(stack[3])))
	ps, ok := c.props("props_ext_delete")
	if !ok {
		stack[0] = status(abi.Unavailable)
		return
	}
	if err := ps.DeleteExtended(c.writeCtx(), subj, name); err != nil {
		stack[0] = c.storeStatus("props_ext_delete", err)
		return
	}
	c.writes++
	stack[0] = status(abi.OK)
}
