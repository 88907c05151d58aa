package host

import (
	"errors"
	"fmt"
)

// ErrInvalidFunction: the function's own settings are wrong (name, limits,
// isolation); FunctionError wraps it. A module that breaks the ABI is an
// *abi.ModuleError instead.
var ErrInvalidFunction = errors.New("invalid function")

// FunctionError says why a function's settings were refused.
type FunctionError struct {
	Reason string
}

func (e *FunctionError) Error() string { return fmt.Sprintf("%s: %s", ErrInvalidFunction, e.Reason) }

func (e *FunctionError) Unwrap() error { return ErrInvalidFunction }

// trapError ends a call from inside a host function: wazero recovers the
// panic that carries it and returns it from the guest call, so the host
// itself never panics on guest input.
type trapError struct{ msg string }

func (e *trapError) Error() string { return e.msg }

func trapf(format string, args ...any) {
	panic(&trapError{msg: fmt.Sprintf(format, args...)})
}
