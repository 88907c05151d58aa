package ingress

import (
	"net/http"

	"github.com/wasmfaas/wasmfaas/internal/apierr"
)

// Kind and Error are internal/apierr's: the events endpoint answers errors
// with the same kinds, statuses and body as the management API.
type (
	Kind  = apierr.Kind
	Error = apierr.Error
)

// Error kinds this endpoint sends.
const (
	KindMalformed   = apierr.KindMalformed   // 400
	KindMethod      = apierr.KindMethod      // 405
	KindTooLarge    = apierr.KindTooLarge    // 413
	KindMediaType   = apierr.KindMediaType   // 415
	KindUnavailable = apierr.KindUnavailable // 503
)

func errorf(kind Kind, format string, args ...any) *Error {
	return apierr.Errorf(kind, format, args...)
}

// writeError sends e as {"error": {"code", "message"}}; a 405 names the one
// method allowed.
func writeError(w http.ResponseWriter, e *Error) {
	if e.Kind == KindMethod && len(e.Allow) == 0 {
		e.Allow = []string{http.MethodPost}
	}
	apierr.Write(w, e)
}
