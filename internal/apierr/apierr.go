// Package apierr owns the errors wasmfaas's HTTP endpoints send: the kinds,
// the one table from kind to status code, and the JSON body
// {"error": {"code", "message"}}. The management API (internal/server) and
// the events endpoint (router/ingress) both answer with it, so a client
// reads every error the same way and a kind never maps to two statuses.
// Mapping the domain errors of each package to kinds stays with the
// endpoint that calls them.
package apierr

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Kind classifies an error; each kind has one HTTP status (Status).
type Kind string

// Error kinds, as sent in {"error": {"code": ...}}. 4xx are the caller's
// mistakes, 5xx ours or a dependency's.
const (
	KindMalformed       Kind = "malformed"              // 400
	KindUnauthenticated Kind = "unauthenticated"        // 401
	KindForbidden       Kind = "forbidden"              // 403
	KindNotFound        Kind = "not_found"              // 404
	KindMethod          Kind = "method_not_allowed"     // 405
	KindConflict        Kind = "conflict"               // 409
	KindTooLarge        Kind = "too_large"              // 413
	KindMediaType       Kind = "unsupported_media_type" // 415
	KindInvalid         Kind = "invalid"                // 422
	KindOverloaded      Kind = "overloaded"             // 429
	KindInternal        Kind = "internal"               // 500
	KindUnavailable     Kind = "unavailable"            // 503
)

// statusOf is the one place kinds become status codes.
var statusOf = map[Kind]int{
	KindMalformed:       http.StatusBadRequest,
	KindUnauthenticated: http.StatusUnauthorized,
	KindForbidden:       http.StatusForbidden,
	KindNotFound:        http.StatusNotFound,
	KindMethod:          http.StatusMethodNotAllowed,
	KindConflict:        http.StatusConflict,
	KindTooLarge:        http.StatusRequestEntityTooLarge,
	KindMediaType:       http.StatusUnsupportedMediaType,
	KindInvalid:         http.StatusUnprocessableEntity,
	KindOverloaded:      http.StatusTooManyRequests,
	KindInternal:        http.StatusInternalServerError,
	KindUnavailable:     http.StatusServiceUnavailable,
}

// Status is the HTTP status of k; 500 for a kind not in the table.
func (k Kind) Status() int {
	if s, ok := statusOf[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is an error to send: a kind, a message safe to show the caller,
// and the cause, which is logged but never sent.
type Error struct {
	Kind       Kind
	Message    string
	Err        error
	Allow      []string // the methods allowed, for KindMethod
	RetryAfter int      // seconds, for KindOverloaded and KindUnavailable
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Status is the HTTP status of e.
func (e *Error) Status() int { return e.Kind.Status() }

// Errorf makes an Error whose message is safe to send.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Body is the JSON body of an error response.
type Body struct {
	Error struct {
		Code    Kind   `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Write sends e: its status, the Allow and Retry-After headers it carries,
// and the JSON body with its kind and message.
func Write(w http.ResponseWriter, e *Error) {
	if len(e.Allow) > 0 {
		w.Header().Set("Allow", strings.Join(e.Allow, ", "))
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	var body Body
	body.Error.Code, body.Error.Message = e.Kind, e.Message
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status())
	_ = json.NewEncoder(w).Encode(body)
}
