package router

import (
	"fmt"
	"sort"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
)

// Limits on the attributes of an event entering the host (CheckAttributes).
// Each is the limit of the first place downstream that keeps the attribute,
// so an event accepted at the door is never refused later, after its
// function ran.
const (
	// MaxIDLen and MaxSourceLen: the call log carries the id and source of
	// the event that caused a call as extensions of its execution event
	// (store.ExtCauseID, store.ExtCauseSource).
	MaxIDLen     = store.MaxCallExtLen
	MaxSourceLen = store.MaxCallExtLen
	// MaxTypeLen has no call-log field of its own; it gets the bound of its
	// siblings id and source.
	MaxTypeLen = store.MaxCallExtLen
	// MaxSubjectLen is the ABI's subject limit, which is also the call
	// log's (store.MaxCallSubject): properties live on subjects.
	MaxSubjectLen = abi.MaxSubjectLen
	// MaxExtValueLen is the ABI's extended property value limit: extended
	// properties are copied onto events as extensions.
	MaxExtValueLen = abi.MaxExtValueLen
	// MaxExtensions bounds how many extensions an event carries, as the
	// call log bounds its execution events' (store.MaxCallExts). With
	// MaxExtValueLen it keeps an event's attributes to about 130 KiB of
	// the ExecutionInfo that records them (store.MaxCallRecordLen).
	MaxExtensions = store.MaxCallExts
)

// CheckAttributes is the ingress rule for the attributes of an event, after
// the transport has decoded them (percent-decoding included): both HTTP
// ingress (router/ingress) and the NATS binding (DecodeMsg) apply it, so
// an event is accepted or refused the same way whichever way it came in.
//
//   - id, source and type: 1 to MaxIDLen, MaxSourceLen and MaxTypeLen bytes;
//   - subject: at most MaxSubjectLen bytes;
//   - extensions: at most MaxExtensions, names [a-z0-9]{1,20}, values (in
//     their canonical string form) at most MaxExtValueLen bytes;
//   - every one of them, and datacontenttype, UTF-8 without control
//     characters (U+0000–U+001F, U+007F–U+009F), which CloudEvents forbids
//     in strings and which must not reach a guest, a log line or a header.
//
// The error wraps ErrInvalidEvent and names the attribute and the limit.
// It does not replace ev.Validate, which callers run as well.
func CheckAttributes(ev *cloudevents.Event) error {
	for _, a := range [...]struct{ name, v string }{
		{"id", ev.ID()}, {"source", ev.Source()}, {"type", ev.Type()},
		{"subject", ev.Subject()}, {"datacontenttype", ev.DataContentType()},
	} {
		if err := CheckAttribute(a.name, a.v); err != nil {
			return err
		}
	}
	exts := ev.Extensions()
	if len(exts) > MaxExtensions {
		return fmt.Errorf("%w: %d extensions, limit %d", ErrInvalidEvent, len(exts), MaxExtensions)
	}
	// Sorted, so the same event always gets the same reason.
	names := make([]string, 0, len(exts))
	for name := range exts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v, err := types.Format(exts[name])
		if err != nil {
			return fmt.Errorf("%w: extension %s: %v", ErrInvalidEvent, name, err)
		}
		if err := CheckAttribute(name, v); err != nil {
			return err
		}
	}
	return nil
}

// CheckAttribute is CheckAttributes for one attribute, by name, in its
// string form: the size limit of that attribute and the characters. A
// decoder may call it on a value before sdk-go parses it, so that the
// reason names the attribute (sdk-go's URL errors do not).
func CheckAttribute(name, v string) error {
	max, what := -1, name
	switch name {
	case "id":
		max = MaxIDLen
	case "source":
		max = MaxSourceLen
	case "type":
		max = MaxTypeLen
	case "subject":
		max = MaxSubjectLen
	case "specversion", "time", "datacontenttype", "dataschema":
		// Parsed by sdk-go, and short when valid.
	default:
		if !store.IsAttributeName(name) {
			return fmt.Errorf("%w: extension name %q must be [a-z0-9]{1,20}", ErrInvalidEvent, name)
		}
		max, what = MaxExtValueLen, "extension "+name
	}
	if max >= 0 && len(v) > max {
		return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrInvalidEvent, what, len(v), max)
	}
	if !store.IsAttributeValue(v) {
		return fmt.Errorf("%w: %s must be UTF-8 without control characters (U+0000–U+001F, U+007F–U+009F)", ErrInvalidEvent, what)
	}
	return nil
}
