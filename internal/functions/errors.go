package functions

import (
	"errors"
	"fmt"
)

// Kinds of error; every error the package returns for a caller's mistake
// or a passing condition wraps one, and errors.Is finds it.
var (
	// ErrNotFound: no such function, revision or trigger.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: a definition that cannot be made live (no module, a
	// capability not granted, a bad limit, a trigger on a missing function).
	ErrInvalid = errors.New("invalid")
	// ErrConflict: another change to the same definition came first.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the catalog is draining, or what a call emitted
	// could not be stored; a retry may succeed.
	ErrUnavailable = errors.New("unavailable")
)

// kindError is an error whose message is safe to show a caller and whose
// kind is one of the sentinels above.
type kindError struct {
	kind error
	msg  string
	err  error
}

func (e *kindError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

// Unwrap returns the kind and the cause.
func (e *kindError) Unwrap() []error {
	if e.err != nil {
		return []error{e.kind, e.err}
	}
	return []error{e.kind}
}

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func wrapf(kind, err error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...), err: err}
}
