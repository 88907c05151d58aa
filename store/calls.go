package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Call is one entry of the call log: the ExecutionInfo of one call, kept as
// its JSON record, with the few fields the log filters and orders on copied
// out of it. The record is opaque here because package host, which owns
// ExecutionInfo, imports store; the host fills ID, Function, Status and
// Start from the ExecutionInfo it marshals into Record.
//
// Every call is also an event (from KRules: "everything is an event"): Event
// returns the call's execution event, which the JetStream backend stores as
// the log entry itself, so recording a call and publishing its event are
// one write.
type Call struct {
	ID       string          // the call id; unique, the key of Get
	Function string          // the function called
	Status   string          // the call's outcome (ok, error, timeout, trap, rejected)
	Start    time.Time       // when the call started; List orders on it
	Record   json.RawMessage // the ExecutionInfo JSON, stored and returned verbatim
	// RecordEncoded says Record comes straight from encoding/json's
	// Marshal, which only writes valid UTF-8 JSON: CheckCall does not scan
	// it again (a few microseconds per call on the hot path).
	RecordEncoded bool

	// Subject is the subject of the event the call handled, and so of its
	// execution event: a failure is about the subject that failed, which
	// is what a rule reacting to failures needs. Empty for none.
	Subject string
	// Extensions are CloudEvent extensions of the execution event beyond
	// the ExtFunction and ExtStatus it always carries: the attempt, the
	// trigger, the hop count. Names follow CloudEvents ([a-z0-9]{1,20}),
	// values are UTF-8 without control characters.
	Extensions map[string]string
}

// CallFilter selects calls for CallLog.List. Empty Function or Status
// matches every function or status.
type CallFilter struct {
	Function string
	Status   string
	// Limit is the most calls returned: 0 means DefaultCallLimit; more than
	// MaxCallLimit, or negative, is ErrInvalid.
	Limit int
}

// Call log limits. MaxCallRecordLen keeps a call within NATS's default 1 MiB
// message size with room for the subject and headers the JetStream backend
// adds; the host must trim an ExecutionInfo (its logs, emitted events)
// rather than lose the call.
const (
	DefaultCallLimit = 50
	MaxCallLimit     = 1000
	MaxCallIDLen     = 256
	MaxCallNameLen   = 256 // function and status names
	MaxCallRecordLen = 1<<20 - 8<<10
	MaxCallSubject   = 1024 // bytes of Call.Subject
	MaxCallExtLen    = 1024 // bytes of one Call.Extensions value
	MaxCallExts      = 32   // entries in Call.Extensions
)

// CallLog records one Call per call, the history behind `wasmfaas calls` and
// the HTTP API's call listing. Every method returns the context's error for
// a context that is already done.
type CallLog interface {
	// Append records c. It is idempotent on c.ID, so a host that retries an
	// append after an error it cannot interpret never records a call twice;
	// the first record appended under an ID is the one kept.
	Append(ctx context.Context, c Call) error
	// Get returns the call with the given ID; ErrNotFound if it was never
	// appended or retention dropped it.
	Get(ctx context.Context, id string) (Call, error)
	// List returns the calls that match f, newest first (by Start, then by
	// ID, both descending), at most f.Limit of them.
	List(ctx context.Context, f CallFilter) ([]Call, error)
	// Follow calls fn with every call appended after Follow returns that
	// matches f's function and status (its Limit is ignored), by this
	// host or any other sharing the backend, in the order the backend
	// stored them, until ctx is done. fn runs on one goroutine at a time;
	// it must not block for long nor call back into the log: a follower
	// that wants to buffer bounds its own buffer (the HTTP stream drops
	// calls for a slow client and says how many). A follower that falls
	// behind the log's retention misses what retention dropped.
	Follow(ctx context.Context, f CallFilter, fn func(Call)) error
}

// Retention bounds the call log; the backend applies it as calls are
// appended. A zero field means no bound. Age counts from when a call was
// appended, not from its Start, so a call appended late (after an outage)
// is still kept for MaxAge.
type Retention struct {
	MaxAge   time.Duration
	MaxCount int
}

// CheckRetention rejects negative bounds with ErrInvalid.
func CheckRetention(r Retention) error {
	if r.MaxAge < 0 || r.MaxCount < 0 {
		return fmt.Errorf("call log retention %v / %d calls: %w: bounds must not be negative", r.MaxAge, r.MaxCount, ErrInvalid)
	}
	return nil
}

// CheckCall validates a call before Append: an ID (CheckCallID), a function
// and status (non-empty UTF-8 without NUL, at most MaxCallNameLen bytes), a
// non-zero Start and a record of valid JSON, at most MaxCallRecordLen bytes.
func CheckCall(c Call) error {
	if err := CheckCallID("append", c.ID); err != nil {
		return err
	}
	var err error
	switch {
	case checkCallName(c.Function) != nil:
		err = fmt.Errorf("function %s: %w", quote(c.Function), checkCallName(c.Function))
	case checkCallName(c.Status) != nil:
		err = fmt.Errorf("status %s: %w", quote(c.Status), checkCallName(c.Status))
	case c.Start.IsZero():
		err = fmt.Errorf("%w: zero start time", ErrInvalid)
	case len(c.Record) == 0:
		err = fmt.Errorf("%w: empty record", ErrInvalid)
	case len(c.Record) > MaxCallRecordLen:
		err = fmt.Errorf("%w: record is %d bytes, limit %d", ErrTooLarge, len(c.Record), MaxCallRecordLen)
	case !c.RecordEncoded && (!utf8.Valid(c.Record) || !json.Valid(c.Record)):
		err = fmt.Errorf("%w: record is not valid JSON", ErrInvalid)
	case len(c.Subject) > MaxCallSubject:
		err = fmt.Errorf("%w: subject is %d bytes, limit %d", ErrTooLarge, len(c.Subject), MaxCallSubject)
	case !IsAttributeValue(c.Subject):
		err = fmt.Errorf("%w: subject %s must be UTF-8 without control characters", ErrInvalid, quote(c.Subject))
	case len(c.Extensions) > MaxCallExts:
		err = fmt.Errorf("%w: %d extensions, limit %d", ErrTooLarge, len(c.Extensions), MaxCallExts)
	default:
		err = checkCallExts(c.Extensions)
	}
	if err != nil {
		return WrapCall("append", c.ID, err)
	}
	return nil
}

// CheckCallID validates a call ID: non-empty UTF-8 without NUL, at most
// MaxCallIDLen bytes.
func CheckCallID(op, id string) error {
	switch {
	case id == "":
		return WrapCall(op, id, fmt.Errorf("%w: empty call id", ErrInvalid))
	case len(id) > MaxCallIDLen:
		return WrapCall(op, id, fmt.Errorf("%w: call id is %d bytes, limit %d", ErrTooLarge, len(id), MaxCallIDLen))
	case !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0:
		return WrapCall(op, id, fmt.Errorf("%w: call id must be UTF-8 without NUL", ErrInvalid))
	}
	return nil
}

// CheckCallFilter validates f and returns it with Limit resolved (0 becomes
// DefaultCallLimit).
func CheckCallFilter(f CallFilter) (CallFilter, error) {
	var err error
	switch {
	case f.Limit < 0 || f.Limit > MaxCallLimit:
		err = fmt.Errorf("%w: limit %d (want 0 for %d, or 1 to %d)", ErrInvalid, f.Limit, DefaultCallLimit, MaxCallLimit)
	case f.Function != "" && checkCallName(f.Function) != nil:
		err = fmt.Errorf("function %s: %w", quote(f.Function), checkCallName(f.Function))
	case f.Status != "" && checkCallName(f.Status) != nil:
		err = fmt.Errorf("status %s: %w", quote(f.Status), checkCallName(f.Status))
	}
	if err != nil {
		return f, fmt.Errorf("list calls: %w", err)
	}
	if f.Limit == 0 {
		f.Limit = DefaultCallLimit
	}
	return f, nil
}

// Match reports whether c passes f's function and status (not its limit).
func (f CallFilter) Match(c Call) bool {
	return (f.Function == "" || f.Function == c.Function) && (f.Status == "" || f.Status == c.Status)
}

// CompareCalls orders calls newest first: by Start descending, then by ID
// descending, the order of CallLog.List. It suits slices.SortFunc.
func CompareCalls(a, b Call) int {
	if c := b.Start.Compare(a.Start); c != 0 {
		return c
	}
	return cmp.Compare(b.ID, a.ID)
}

// WrapCall adds the operation and call ID to err: `get call "x": not found`.
func WrapCall(op, id string, err error) error {
	return fmt.Errorf("%s call %s: %w", op, quote(id), err)
}

func checkCallExts(ext map[string]string) error {
	for name, v := range ext {
		switch {
		case !IsAttributeName(name):
			return fmt.Errorf("%w: extension name %s must be [a-z0-9]{1,20}", ErrInvalid, quote(name))
		case ReservedCallExt(name):
			return fmt.Errorf("%w: extension %s is set by the call log itself", ErrInvalid, quote(name))
		case len(v) > MaxCallExtLen:
			return fmt.Errorf("%w: extension %s is %d bytes, limit %d", ErrTooLarge, name, len(v), MaxCallExtLen)
		case !IsAttributeValue(v):
			return fmt.Errorf("%w: extension %s value must be UTF-8 without control characters", ErrInvalid, name)
		}
	}
	return nil
}

// IsAttributeValue reports whether s may be a CloudEvents string
// attribute: UTF-8 without control characters, U+0000–U+001F and
// U+007F–U+009F (CloudEvents 1.0, "Type System"). That also makes it safe
// as a NATS header value. Ingress (router.CheckAttributes) and the call
// log apply the same rule.
func IsAttributeValue(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r <= 0x9f {
			return false
		}
	}
	return true
}

// IsAttributeName reports whether s is a CloudEvents attribute or extension
// name: 1 to 20 lowercase ASCII letters or digits.
func IsAttributeName(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func checkCallName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty name", ErrInvalid)
	case len(s) > MaxCallNameLen:
		return fmt.Errorf("%w: name is %d bytes, limit %d", ErrTooLarge, len(s), MaxCallNameLen)
	case !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: name must be UTF-8 without NUL", ErrInvalid)
	}
	return nil
}
