package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/modules"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/store"
)

// Kind classifies an API error; each kind has one HTTP status.
type Kind string

// Error kinds, as sent in {"error": {"code": ...}}.
const (
	KindMalformed       Kind = "malformed"              // 400
	KindUnauthenticated Kind = "unauthenticated"        // 401
	KindNotFound        Kind = "not_found"              // 404
	KindMethod          Kind = "method_not_allowed"     // 405
	KindConflict        Kind = "conflict"               // 409
	KindTooLarge        Kind = "too_large"              // 413
	KindMediaType       Kind = "unsupported_media_type" // 415
	KindInvalid         Kind = "invalid"                // 422
	KindOverloaded      Kind = "overloaded"             // 429
	KindUnavailable     Kind = "unavailable"            // 503
	KindInternal        Kind = "internal"               // 500
)

// statusOf is the one place kinds become status codes.
var statusOf = map[Kind]int{
	KindMalformed:       http.StatusBadRequest,
	KindUnauthenticated: http.StatusUnauthorized,
	KindNotFound:        http.StatusNotFound,
	KindMethod:          http.StatusMethodNotAllowed,
	KindConflict:        http.StatusConflict,
	KindTooLarge:        http.StatusRequestEntityTooLarge,
	KindMediaType:       http.StatusUnsupportedMediaType,
	KindInvalid:         http.StatusUnprocessableEntity,
	KindOverloaded:      http.StatusTooManyRequests,
	KindUnavailable:     http.StatusServiceUnavailable,
	KindInternal:        http.StatusInternalServerError,
}

// Error is an API error: a kind, a message safe to send, and the cause.
type Error struct {
	Kind       Kind
	Message    string
	Err        error
	Allow      []string // for KindMethod
	RetryAfter int      // seconds, for KindOverloaded
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// errorf makes an Error whose message is safe to send.
func errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
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

type errorBody struct {
	Error struct {
		Code    Kind   `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError sends err as {"error": {"code", "message"}}; internal errors
// are logged with a stack and their cause is never sent.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := classify(err)
	status := statusOf[e.Kind]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if status >= 500 && e.Kind != KindUnavailable {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err, "stack", string(debug.Stack()))
	}
	if len(e.Allow) > 0 {
		w.Header().Set("Allow", strings.Join(e.Allow, ", "))
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	var body errorBody
	body.Error.Code, body.Error.Message = e.Kind, e.Message
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
