package wasmfaas

import (
	"errors"
	"fmt"
)

// Sentinel errors for the ABI status codes (abi/README.md §3). Errors
// returned by this package wrap them with what was being done, so test them
// with errors.Is.
var (
	// ErrNotFound: the attribute, key, property or config entry does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a compare-and-set saw another revision.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the host did not accept an argument (empty key, bad name, bad JSON).
	ErrInvalid = errors.New("invalid argument")
	// ErrTooLarge: a key, value, result or event exceeds its size limit.
	ErrTooLarge = errors.New("too large")
	// ErrLimit: a per-call quota (emitted events, log bytes) is used up.
	ErrLimit = errors.New("limit reached")
	// ErrUnavailable: the state store cannot be reached; the call may succeed later.
	ErrUnavailable = errors.New("unavailable")
	// ErrInternal: the host failed; not the handler's fault.
	ErrInternal = errors.New("host internal error")
	// ErrDenied: an outbound request's host or address is not on the
	// function's allow-list.
	ErrDenied = errors.New("denied")
	// ErrTimeout: an outbound request did not complete in time.
	ErrTimeout = errors.New("timed out")
)

// Status codes of abi/README.md §3.
const (
	statusOK          = 0
	statusNotFound    = -1
	statusConflict    = -2
	statusInvalid     = -3
	statusTooLarge    = -4
	statusLimit       = -5
	statusUnavailable = -6
	statusInternal    = -7
	statusDenied      = -8
	statusTimeout     = -9
)

// statusError maps a negative status code to its sentinel. It is the only
// place that knows the codes, so every wrapper reports them the same way.
func statusError(code int64) error {
	switch code {
	case statusNotFound:
		return ErrNotFound
	case statusConflict:
		return ErrConflict
	case statusInvalid:
		return ErrInvalid
	case statusTooLarge:
		return ErrTooLarge
	case statusLimit:
		return ErrLimit
	case statusUnavailable:
		return ErrUnavailable
	case statusInternal:
		return ErrInternal
	case statusDenied:
		return ErrDenied
	case statusTimeout:
		return ErrTimeout
	}
	return fmt.Errorf("%w: unknown status code %d", ErrInternal, code)
}

// check turns a host function's return value into an error: nil for a
// non-negative value, else the status wrapped with op ("kv set \"a\"").
func check(op string, code int64) error {
	if code >= 0 {
		return nil
	}
	return fmt.Errorf("%s: %w", op, statusError(code))
}

// checkf is check with the operation's description formatted only on
// failure: Sprintf on every successful host call cost about 0.8 µs, most of
// a KV get. arg is a string, not ...any, so that a successful call does not
// allocate to box it.
func checkf(code int64, format, arg string) error {
	if code >= 0 {
		return nil
	}
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, arg), statusError(code))
}

// Error kinds the host interprets; a handler may use any kind made of 1-64
// characters of [a-z0-9_].
const (
	// KindError is the kind of any failure that is not an *Error.
	KindError = "error"
	// KindInvalidInput marks the event itself as wrong: the call ends
	// "rejected" and is not retried.
	KindInvalidInput = "invalid_input"
)

// Error is a handler failure with an error kind, which becomes error.kind in
// the call's ExecutionInfo. Return one (usually from Errorf or Reject) to
// choose the kind; any other error is reported with kind "error".
type Error struct {
	Kind    string
	Message string
	err     error
}

// Error returns the message alone, so that wrapping an *Error with
// fmt.Errorf("...: %w") reads naturally; the kind travels separately.
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Kind
	}
	return e.Message
}

// Unwrap returns the error the message was formatted from, so %w in Errorf
// keeps errors.Is working through it.
func (e *Error) Unwrap() error { return e.err }

// Errorf returns an *Error of the given kind whose message is formatted as by
// fmt.Errorf, %w included.
func Errorf(kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: kind, Message: err.Error(), err: err}
}

// Reject returns an error of kind invalid_input: the event is wrong, the call
// ends "rejected" and is not retried.
func Reject(format string, args ...any) error {
	return Errorf(KindInvalidInput, format, args...)
}

// errorParts returns the kind and message that error_set reports for err.
// The kind comes from the first *Error in err's tree, so wrapping a Reject
// with more context keeps it a rejection; the message is the whole chain.
func errorParts(err error) (kind, msg string) {
	kind = KindError
	if e, ok := errors.AsType[*Error](err); ok && e.Kind != "" {
		kind = e.Kind
	}
	return kind, err.Error()
}

// wrapError is an error whose message does not repeat the sentinel it wraps,
// for messages that already say it in their own words.
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }
