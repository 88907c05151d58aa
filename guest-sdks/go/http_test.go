package wasmfaas

import (
	"errors"
	"slices"
	"testing"
)

func TestHTTPResponseHeader(t *testing.T) {
	r := &HTTPResponse{Headers: []HTTPHeader{{"content-type", "text/plain"}, {"x-reply", "a"}, {"x-reply", "b"}}}
	if got := r.Header("Content-Type"); got != "text/plain" {
		t.Errorf("Header(Content-Type) = %q", got)
	}
	if got := r.Header("X-REPLY"); got != "a, b" {
		t.Errorf("Header(X-REPLY) = %q, want the values joined", got)
	}
	if got := r.HeaderValues("x-reply"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("HeaderValues = %q", got)
	}
	if got := r.Header("missing"); got != "" {
		t.Errorf("Header(missing) = %q", got)
	}
}

func TestHTTPError(t *testing.T) {
	err := error(&HTTPError{Message: "host evil.example.com (port 443) is not on the function's allow-list", err: statusError(statusDenied)})
	if !errors.Is(err, ErrDenied) {
		t.Errorf("errors.Is(%v, ErrDenied) = false", err)
	}
	if got := err.Error(); got != "http request: host evil.example.com (port 443) is not on the function's allow-list" {
		t.Errorf("Error() = %q", got)
	}
}
