package host

import (
	"errors"
	"fmt"
)

// Sentinels for module and function validation; ModuleError wraps one of them.
var (
	// ErrInvalidModule: the bytes are not a usable wasm module.
	ErrInvalidModule = errors.New("invalid module")
	// ErrABIVersion: the module speaks an ABI version this host does not.
	ErrABIVersion = errors.New("unsupported ABI version")
	// ErrUnknownImport: the module imports something the host does not provide.
	ErrUnknownImport = errors.New("unknown import")
	// ErrNotGranted: the module imports a capability its function was not granted.
	ErrNotGranted = errors.New("capability not granted")
	// ErrInvalidFunction: the function's own settings are wrong (name, limits).
	ErrInvalidFunction = errors.New("invalid function")
)

// ModuleError says why a module or function was refused; Import names the
// offending import when there is one.
type ModuleError struct {
	Err    error  // one of the sentinels above
	Import string // "module.name", when an import is at fault
	Reason string
}

func (e *ModuleError) Error() string {
	if e.Import != "" {
		return fmt.Sprintf("%s: import %s: %s", e.Err, e.Import, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Err, e.Reason)
}

func (e *ModuleError) Unwrap() error { return e.Err }

// trapError ends a call from inside a host function: wazero recovers the
// panic that carries it and returns it from the guest call, so the host
// itself never panics on guest input.
type trapError struct{ msg string }

func (e *trapError) Error() string { return e.msg }

func trapf(format string, args ...any) {
	panic(&trapError{msg: fmt.Sprintf(format, args...)})
}
