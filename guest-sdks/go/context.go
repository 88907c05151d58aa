package wasmfaas

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Context gives a handler the host's services for the current call: its
// result, logs, domain fields, config, emitted events, KV store and subject
// properties. It is only valid during the call it was passed to.
//
// Context is a concrete type on purpose: the linker keeps only the host
// functions a handler actually calls, so a module imports, and must be
// granted, only the capabilities it uses.
type Context struct{}

// Level is a log level; the values are log/slog's.
type Level int32

// Log levels.
const (
	LevelDebug Level = -4
	LevelInfo  Level = 0
	LevelWarn  Level = 4
	LevelError Level = 8
)

// Result sets the call's result: body with its content type ("" means
// application/octet-stream). A later call replaces an earlier one. It fails
// with ErrTooLarge past the function's max output bytes, which also fails the
// call whatever the handler returns.
func (c *Context) Result(contentType string, body []byte) error {
	return check("set result", int64(resultSet(bptr(body), blen(body), sptr(contentType), slen(contentType))))
}

// ResultJSON sets the call's result to v encoded as JSON.
func (c *Context) ResultJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	return c.Result("application/json", b)
}

// Log appends a line to the call's logs. Past the function's max log bytes
// the host drops the line and marks the logs truncated; that is not the
// handler's problem, so Log reports nothing.
func (c *Context) Log(level Level, msg string) {
	logWrite(int32(level), sptr(msg), slen(msg))
}

// Logf is Log with fmt.Sprintf formatting.
func (c *Context) Logf(level Level, format string, args ...any) {
	c.Log(level, fmt.Sprintf(format, args...))
}

// Field adds the domain field key, with value encoded as JSON, to the call's
// ExecutionInfo; the same key again replaces it. Keys are 1-64 characters of
// [A-Za-z0-9_.-]. It returns ErrLimit past the function's max log bytes.
func (c *Context) Field(key string, value any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("field %q: encode: %w", key, err)
	}
	return checkf(int64(infoSet(sptr(key), slen(key), bptr(b), blen(b))), "field %q", key)
}

// CallInfo returns a fact about the call: "call_id", "function",
// "module_digest", "attempt" (from 1) or "deadline" (RFC 3339).
func (c *Context) CallInfo(name string) (string, bool) {
	b, n := fill(func(buf []byte) int64 {
		return int64(infoGet(sptr(name), slen(name), bptr(buf), blen(buf)))
	})
	if n < 0 {
		return "", false
	}
	return string(b), true
}

// Config returns the function's config entry key. It needs the "config"
// capability.
func (c *Context) Config(key string) (string, bool) {
	b, n := fill(func(buf []byte) int64 {
		return int64(configGet(sptr(key), slen(key), bptr(buf), blen(buf)))
	})
	if n < 0 {
		return "", false
	}
	return string(b), true
}

// EmitEvent is a CloudEvent for Emit. The host sets id, specversion and time,
// and Source defaults to wasmfaas/functions/<function>.
type EmitEvent struct {
	Type            string // required
	Subject         string
	Source          string
	DataContentType string
	DataSchema      string
	// Extensions are extension attributes; names are 1-20 characters of [a-z0-9].
	Extensions map[string]string
	Data       []byte
}

// Emit emits ev. It needs the "emit" capability. Emitted events are
// published only if the call ends ok. A malformed event or one past the
// function's limits fails the call whatever the handler returns.
func (c *Context) Emit(ev EmitEvent) error {
	attrs, err := encodeAttrs(ev)
	if err != nil {
		return fmt.Errorf("emit %q: %w", ev.Type, err)
	}
	return checkf(int64(emitEvent(bptr(attrs), blen(attrs), bptr(ev.Data), blen(ev.Data))), "emit %q", ev.Type)
}

// encodeAttrs builds emit_event's attrs block: name NUL value NUL pairs,
// type first, extensions sorted so the same event always crosses as the same
// bytes. A NUL inside a name or value would shift every pair after it, so it
// is refused here rather than misread by the host.
func encodeAttrs(ev EmitEvent) ([]byte, error) {
	if ev.Type == "" {
		return nil, fmt.Errorf("%w: empty type", ErrInvalid)
	}
	var b []byte
	add := func(name, value string) error {
		if strings.IndexByte(name, 0) >= 0 || strings.IndexByte(value, 0) >= 0 {
			return fmt.Errorf("%w: attribute %q contains NUL", ErrInvalid, name)
		}
		b = appendAttr(b, name, value)
		return nil
	}
	if err := add("type", ev.Type); err != nil {
		return nil, err
	}
	for _, a := range [...]struct{ name, value string }{
		{"subject", ev.Subject},
		{"source", ev.Source},
		{"datacontenttype", ev.DataContentType},
		{"dataschema", ev.DataSchema},
	} {
		if a.value == "" {
			continue
		}
		if err := add(a.name, a.value); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(ev.Extensions)) {
		if err := add(name, ev.Extensions[name]); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// EmitJSON emits an event of type typ about subject ("" for none) with v
// encoded as JSON as its data.
func (c *Context) EmitJSON(typ, subject string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("emit %q: encode data: %w", typ, err)
	}
	return c.Emit(EmitEvent{Type: typ, Subject: subject, DataContentType: "application/json", Data: b})
}

// ScheduleIn schedules ev to be delivered delay after the call ends, under
// key: scheduling again under the same key replaces the pending event. It
// needs the "schedule" capability. Like emitted events, schedules take
// effect only if the call ends ok.
func (c *Context) ScheduleIn(key string, delay time.Duration, ev EmitEvent) error {
	if delay < 0 {
		return fmt.Errorf("schedule %q: %w: negative delay %s", key, ErrInvalid, delay)
	}
	attrs, err := encodeAttrs(ev)
	if err != nil {
		return fmt.Errorf("schedule %q: %w", key, err)
	}
	return checkf(int64(scheduleEvent(sptr(key), slen(key), bptr(attrs), blen(attrs), bptr(ev.Data), blen(ev.Data), delay.Milliseconds())), "schedule %q", key)
}

// ScheduleAt schedules ev to be delivered at t under key (see ScheduleIn);
// a time in the past is delivered at once.
func (c *Context) ScheduleAt(key string, t time.Time, ev EmitEvent) error {
	attrs, err := encodeAttrs(ev)
	if err != nil {
		return fmt.Errorf("schedule %q: %w", key, err)
	}
	return checkf(int64(scheduleEventAt(sptr(key), slen(key), bptr(attrs), blen(attrs), bptr(ev.Data), blen(ev.Data), t.UnixMilli())), "schedule %q", key)
}

// CancelSchedule cancels the pending event under key, if any.
func (c *Context) CancelSchedule(key string) error {
	return checkf(int64(scheduleCancel(sptr(key), slen(key))), "cancel schedule %q", key)
}

// SetStatus sets the HTTP status of the call's response (100-599), for a
// function that serves an HTTP route; the default is 200.
func (c *Context) SetStatus(code int) error {
	return checkf(int64(resultStatus(int32(code))), "set status %s", strconv.Itoa(code))
}

// SetHeader adds a header to the call's HTTP response.
func (c *Context) SetHeader(name, value string) error {
	return checkf(int64(resultHeader(sptr(name), slen(name), sptr(value), slen(value))), "set header %q", name)
}

// KV returns the function's key/value store. It needs the "kv" capability.
func (c *Context) KV() KV { return KV{} }

// Subject returns the subject name, whose properties the handler can read
// and change. It needs the "props" capability.
func (c *Context) Subject(name string) *Subject { return &Subject{name: name} }
