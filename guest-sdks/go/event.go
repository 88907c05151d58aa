package wasmfaas

import "time"

// Event is the CloudEvent that triggered the call. Attributes and data are
// read from the host on first use and cached for the rest of the call; an
// Event is only valid during the call it was passed to.
type Event struct {
	attrs      map[string]attr
	data       []byte
	dataLoaded bool
	exts       []string
	extsLoaded bool
}

type attr struct {
	value string
	ok    bool
}

// Attr returns the attribute name (a context attribute such as "id" or
// "source", or an extension) in its canonical CloudEvents string form, and
// whether the event has it.
func (e *Event) Attr(name string) (string, bool) {
	if a, ok := e.attrs[name]; ok {
		return a.value, a.ok
	}
	b, n := fill(func(buf []byte) int64 {
		return int64(eventAttr(sptr(name), slen(name), bptr(buf), blen(buf)))
	})
	a := attr{ok: n >= 0}
	if a.ok {
		a.value = string(b)
	}
	if e.attrs == nil {
		e.attrs = make(map[string]attr, 8)
	}
	e.attrs[name] = a
	return a.value, a.ok
}

func (e *Event) attr(name string) string {
	v, _ := e.Attr(name)
	return v
}

// ID returns the event's id.
func (e *Event) ID() string { return e.attr("id") }

// Source returns the event's source.
func (e *Event) Source() string { return e.attr("source") }

// Type returns the event's type.
func (e *Event) Type() string { return e.attr("type") }

// Subject returns the event's subject, or "" when it has none.
func (e *Event) Subject() string { return e.attr("subject") }

// SpecVersion returns the CloudEvents spec version, normally "1.0".
func (e *Event) SpecVersion() string { return e.attr("specversion") }

// DataContentType returns the content type of the data, or "" when unset.
func (e *Event) DataContentType() string { return e.attr("datacontenttype") }

// DataSchema returns the event's dataschema, or "" when unset.
func (e *Event) DataSchema() string { return e.attr("dataschema") }

// Time returns the event's time, or the zero time when it has none. The host
// sends RFC 3339; use Attr("time") for the string itself.
func (e *Event) Time() time.Time {
	s, ok := e.Attr("time")
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Extension returns the value of the extension attribute name and whether
// the event has it. Values are strings in CloudEvents canonical form
// (integers in decimal, booleans true/false, binary in base64).
func (e *Event) Extension(name string) (string, bool) { return e.Attr(name) }

// Extensions returns the names of the event's extension attributes, sorted.
func (e *Event) Extensions() []string {
	if !e.extsLoaded {
		b, n := fill(func(buf []byte) int64 {
			return int64(eventExtensions(bptr(buf), blen(buf)))
		})
		if n >= 0 {
			e.exts = splitList(b)
		}
		e.extsLoaded = true
	}
	return append([]string(nil), e.exts...)
}

// Data returns the event's data exactly as received (nil for none). The
// slice is shared by every Data call of this call: do not modify it.
func (e *Event) Data() []byte {
	if !e.dataLoaded {
		b, n := fill(func(buf []byte) int64 {
			return int64(eventData(bptr(buf), blen(buf)))
		})
		if n > 0 {
			e.data = append([]byte(nil), b...)
		}
		e.dataLoaded = true
	}
	return e.data
}

// DecodeJSON decodes the data as JSON into v (a pointer), checks the fields
// tagged `wasmfaas:"required"` and calls v's Validate method if it has one.
// A failure is an *Error of kind invalid_input that a handler can return as
// is to reject the event.
func (e *Event) DecodeJSON(v any) error { return decodeData(e.Data(), v) }
