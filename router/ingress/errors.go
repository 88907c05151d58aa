package ingress

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Kind classifies an ingress error; the codes and the body
// {"error": {"code", "message"}} are those of internal/server, which cannot
// be imported from here (it imports this package to mount HTTP).
type Kind string

// Error kinds, as sent in {"error": {"code": ...}}.
const (
	KindMalformed   Kind = "malformed"              // 400
	KindMethod      Kind = "method_not_allowed"     // 405
	KindTooLarge    Kind = "too_large"              // 413
	KindMediaType   Kind = "unsupported_media_type" // 415
	KindUnavailable Kind = "unavailable"            // 503
)

var statusOf = map[Kind]int{
	KindMalformed:   http.StatusBadRequest,
	KindMethod:      http.StatusMethodNotAllowed,
	KindTooLarge:    http.StatusRequestEntityTooLarge,
	KindMediaType:   http.StatusUnsupportedMediaType,
	KindUnavailable: http.StatusServiceUnavailable,
}

// Error is an ingress error: a kind, a message safe to send, and the cause.
type Error struct {
	Kind       Kind
	Message    string
	Err        error
	RetryAfter int // seconds, for KindUnavailable
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Status is the HTTP status of e.
func (e *Error) Status() int {
	if s, ok := statusOf[e.Kind]; ok {
		return s
	}
	return http.StatusInternalServerError
}

func errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

type errorBody struct {
	Error struct {
		Code    Kind   `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError sends e as {"error": {"code", "message"}}.
func writeError(w http.ResponseWriter, e *Error) {
	if e.Kind == KindMethod {
		w.Header().Set("Allow", strings.Join([]string{http.MethodPost}, ", "))
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	var body errorBody
	body.Error.Code, body.Error.Message = e.Kind, e.Message
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status())
	_ = json.NewEncoder(w).Encode(body)
}
