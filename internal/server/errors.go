package server

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/wasmfaas/wasmfaas/internal/apierr"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/modules"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/store"
)

// Kind, Error and the kinds are internal/apierr's, shared with the events
// endpoint (router/ingress): one table from kind to status.
type (
	Kind  = apierr.Kind
	Error = apierr.Error
)

// Error kinds, as sent in {"error": {"code": ...}}.
const (
	KindMalformed       = apierr.KindMalformed       // 400
	KindUnauthenticated = apierr.KindUnauthenticated // 401
	KindNotFound        = apierr.KindNotFound        // 404
	KindMethod          = apierr.KindMethod          // 405
	KindConflict        = apierr.KindConflict        // 409
	KindTooLarge        = apierr.KindTooLarge        // 413
	KindMediaType       = apierr.KindMediaType       // 415
	KindInvalid         = apierr.KindInvalid         // 422
	KindOverloaded      = apierr.KindOverloaded      // 429
	KindUnavailable     = apierr.KindUnavailable     // 503
	KindInternal        = apierr.KindInternal        // 500
)

// errorf makes an Error whose message is safe to send.
func errorf(kind Kind, format string, args ...any) *Error {
	return apierr.Errorf(kind, format, args...)
}

// classify maps the errors of the packages the server wires to API errors,
// so handlers return plain errors. Anything unknown is ours: 500, logged.
func classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var me *host.ModuleError
	switch {
	case errors.Is(err, modules.ErrTooLarge), errors.Is(err, store.ErrTooLarge):
		return &Error{Kind: KindTooLarge, Message: err.Error(), Err: err}
	case errors.Is(err, modules.ErrInUse), errors.Is(err, store.ErrConflict):
		return &Error{Kind: KindConflict, Message: err.Error(), Err: err}
	case errors.Is(err, modules.ErrNotFound), errors.Is(err, store.ErrNotFound), errors.Is(err, router.ErrNotDeadLetter):
		return &Error{Kind: KindNotFound, Message: err.Error(), Err: err}
	case errors.Is(err, modules.ErrInvalid), errors.As(err, &me),
		errors.Is(err, router.ErrInvalidTrigger), errors.Is(err, router.ErrInvalidFilter):
		return &Error{Kind: KindInvalid, Message: err.Error(), Err: err}
	case errors.Is(err, store.ErrInvalid):
		return &Error{Kind: KindMalformed, Message: err.Error(), Err: err}
	case errors.Is(err, store.ErrUnavailable):
		return &Error{Kind: KindUnavailable, Message: "the state store is unavailable; retry later", Err: err, RetryAfter: 1}
	}
	return &Error{Kind: KindInternal, Message: "internal error", Err: err}
}

// writeError sends err as {"error": {"code", "message"}}; internal errors
// are logged with a stack and their cause is never sent.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := classify(err)
	if e.Status() >= 500 && e.Kind != KindUnavailable {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err, "stack", string(debug.Stack()))
	}
	apierr.Write(w, e)
}
