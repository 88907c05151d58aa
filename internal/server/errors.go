package server

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/apierr"
	"github.com/wasmfaas/wasmfaas/internal/functions"
	"github.com/wasmfaas/wasmfaas/modules"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/store"
)

// classify maps the errors of the packages the server calls to API errors,
// so handlers return plain errors. Anything unknown is ours: 500, logged.
func classify(err error) *apierr.Error {
	var e *apierr.Error
	if errors.As(err, &e) {
		return e
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return apierr.Errorf(apierr.KindTooLarge, "request body over %d bytes", mbe.Limit)
	}
	var me *abi.ModuleError
	kind := apierr.KindInternal
	switch {
	case errors.Is(err, functions.ErrBadName), errors.Is(err, store.ErrInvalid):
		kind = apierr.KindMalformed
	case errors.Is(err, functions.ErrNotFound), errors.Is(err, modules.ErrNotFound),
		errors.Is(err, store.ErrNotFound), errors.Is(err, router.ErrNotDeadLetter):
		kind = apierr.KindNotFound
	case errors.Is(err, functions.ErrConflict), errors.Is(err, modules.ErrInUse), errors.Is(err, store.ErrConflict):
		kind = apierr.KindConflict
	case errors.Is(err, modules.ErrTooLarge), errors.Is(err, store.ErrTooLarge):
		kind = apierr.KindTooLarge
	case errors.Is(err, functions.ErrInvalid), errors.Is(err, modules.ErrInvalid), errors.As(err, &me), errors.Is(err, host.ErrInvalidFunction),
		errors.Is(err, router.ErrInvalidTrigger), errors.Is(err, router.ErrInvalidFilter):
		kind = apierr.KindInvalid
	case errors.Is(err, store.ErrUnavailable):
		return &apierr.Error{Kind: apierr.KindUnavailable, Message: "the state store is unavailable; retry later", Err: err, RetryAfter: 1}
	case errors.Is(err, functions.ErrUnavailable):
		return &apierr.Error{Kind: apierr.KindUnavailable, Message: err.Error(), Err: err, RetryAfter: 1}
	default:
		return &apierr.Error{Kind: apierr.KindInternal, Message: "internal error", Err: err}
	}
	return &apierr.Error{Kind: kind, Message: err.Error(), Err: err}
}

// writeError sends err as {"error": {"code", "message"}}; internal errors
// are logged and their cause is never sent.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := classify(err)
	if e.Status() >= 500 && e.Kind != apierr.KindUnavailable {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	apierr.Write(w, e)
}
