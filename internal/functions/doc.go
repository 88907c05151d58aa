// Package functions owns the function catalog and the one way to run a
// function. The catalog maps a name to a module, config, grants, limits
// and isolation, numbered 1, 2, 3… per function, persisted in
// store.Definitions and live in the host; Invoke runs function F on event E
// for cause C: it resolves F, invokes the host, records the call in the
// call log, publishes what the guest emitted (only when the call is ok,
// with ids derived from the cause, one hop further) and returns the
// ExecutionInfo. Trigger delivery (the router, through its Invoker
// interface) and synchronous invoke (the HTTP API) both call Invoke, so the
// two can never drift. Triggers keeps trigger definitions and hands them to
// the router.
//
// The package knows no HTTP: its errors carry kinds (ErrNotFound,
// ErrInvalid, ErrConflict, ErrUnavailable) that the API maps to statuses.
package functions
