package wasmfaas

import (
	"errors"
	"fmt"
	"testing"
)

func TestStatusError(t *testing.T) {
	tests := []struct {
		code int64
		want error
	}{
		{statusNotFound, ErrNotFound},
		{statusConflict, ErrConflict},
		{statusInvalid, ErrInvalid},
		{statusTooLarge, ErrTooLarge},
		{statusLimit, ErrLimit},
		{statusUnavailable, ErrUnavailable},
		{statusInternal, ErrInternal},
		{statusDenied, ErrDenied},
		{statusTimeout, ErrTimeout},
		{-99, ErrInternal},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			if err := statusError(tt.code); !errors.Is(err, tt.want) {
				t.Errorf("statusError(%d) = %v, want %v", tt.code, err, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, ok := range []int64{statusOK, 1, 1 << 40} {
		if err := check("op", ok); err != nil {
			t.Errorf("check(%d) = %v, want nil", ok, err)
		}
	}
	err := check(`kv get "a"`, statusNotFound)
	if !errors.Is(err, ErrNotFound) || err.Error() != `kv get "a": not found` {
		t.Errorf("check = %v", err)
	}
}

func TestErrorParts(t *testing.T) {
	sentinel := errors.New("disk on fire")
	tests := []struct {
		name     string
		err      error
		kind     string
		msg      string
		unwrapTo error
	}{
		{name: "plain", err: errors.New("boom"), kind: "error", msg: "boom"},
		{name: "reject", err: Reject("bad %s", "thing"), kind: "invalid_input", msg: "bad thing"},
		{name: "errorf", err: Errorf("quota", "used %d", 3), kind: "quota", msg: "used 3"},
		{name: "wrapped reject", err: fmt.Errorf("step 2: %w", Reject("no subject")), kind: "invalid_input", msg: "step 2: no subject"},
		{name: "errorf wraps", err: Errorf("io", "save: %w", sentinel), kind: "io", msg: "save: disk on fire", unwrapTo: sentinel},
		{name: "empty kind", err: &Error{Message: "m"}, kind: "error", msg: "m"},
		{name: "sentinel", err: check("emit", statusLimit), kind: "error", msg: "emit: limit reached", unwrapTo: ErrLimit},
		{name: "update gave up", err: &wrapError{`update "count": gave up after 1000 conflicts`, ErrConflict}, kind: "error", msg: `update "count": gave up after 1000 conflicts`, unwrapTo: ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, msg := errorParts(tt.err)
			if kind != tt.kind || msg != tt.msg {
				t.Errorf("errorParts = (%q, %q), want (%q, %q)", kind, msg, tt.kind, tt.msg)
			}
			if tt.unwrapTo != nil && !errors.Is(tt.err, tt.unwrapTo) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.unwrapTo)
			}
		})
	}
}
