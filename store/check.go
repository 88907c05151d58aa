package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/wasmfaas/wasmfaas/abi"
)

// The Check functions validate the arguments of a store operation against the
// rules of abi/README.md §3 "Names and limits", so every backend rejects the
// same input with the same error before touching its storage. Each error
// wraps ErrInvalid or ErrTooLarge and names the operation and its target, for
// example `put key "x": invalid argument: empty key`.

// maxQuoted bounds how much of a key, subject or name an error message
// repeats: an over-long key should not turn into a 1 KiB log line.
const maxQuoted = 64

// CheckNamespace validates a KV namespace (a function name, chosen by the
// host, not the guest): non-empty UTF-8 without NUL.
func CheckNamespace(op, ns string) error {
	if ns == "" || !utf8.ValidString(ns) || strings.IndexByte(ns, 0) >= 0 {
		return fmt.Errorf("%s namespace %s: %w: namespace must be non-empty UTF-8 without NUL", op, quote(ns), ErrInvalid)
	}
	return nil
}

// CheckKey validates the namespace and key of a KV operation.
func CheckKey(op, ns, key string) error {
	if err := CheckNamespace(op, ns); err != nil {
		return err
	}
	if err := abi.CheckKey(key); err != nil {
		return WrapKey(op, key, fromABI(err))
	}
	return nil
}

// CheckValue validates a KV value: at most abi.MaxValueLen bytes, any bytes.
func CheckValue(op, key string, value []byte) error {
	if len(value) > abi.MaxValueLen {
		return WrapKey(op, key, fmt.Errorf("%w: value is %d bytes, limit %d", ErrTooLarge, len(value), abi.MaxValueLen))
	}
	return nil
}

// CheckSubject validates a subject.
func CheckSubject(op, subject string) error {
	if err := abi.CheckSubject(subject); err != nil {
		return WrapSubject(op, subject, fromABI(err))
	}
	return nil
}

// CheckProperty validates the subject and name of a property operation.
func CheckProperty(op, subject, name string) error {
	if err := CheckSubject(op, subject); err != nil {
		return err
	}
	if err := abi.CheckPropertyName(name); err != nil {
		return WrapProperty(op, subject, name, fromABI(err))
	}
	return nil
}

// CheckPropertyValue validates a property value with CheckJSON.
func CheckPropertyValue(op, subject, name string, value []byte) error {
	if err := CheckJSON(value); err != nil {
		return WrapProperty(op, subject, name, err)
	}
	return nil
}

// CheckJSON validates a property value: 1 to abi.MaxPropertyLen bytes of
// valid JSON in UTF-8. The size is checked first so an oversized value is not parsed.
func CheckJSON(value []byte) error {
	switch {
	case len(value) == 0:
		return fmt.Errorf("%w: empty property value", ErrInvalid)
	case len(value) > abi.MaxPropertyLen:
		return fmt.Errorf("%w: property value is %d bytes, limit %d", ErrTooLarge, len(value), abi.MaxPropertyLen)
	case !utf8.Valid(value):
		// RFC 8259 §8.1 requires UTF-8; json.Valid does not check strings.
		return fmt.Errorf("%w: property value is not valid UTF-8", ErrInvalid)
	case !json.Valid(value):
		return fmt.Errorf("%w: property value is not valid JSON", ErrInvalid)
	}
	return nil
}

// CheckExtended validates the subject and name of an extended property
// operation; names are CloudEvents extension names, [a-z0-9]{1,20}.
func CheckExtended(op, subject, name string) error {
	if err := CheckSubject(op, subject); err != nil {
		return err
	}
	if err := abi.CheckExtName(name); err != nil {
		return WrapSubject(op+" extended property of", subject, fromABI(err))
	}
	return nil
}

// CheckExtendedValue validates an extended property value: 0 to
// abi.MaxExtValueLen bytes of UTF-8 without NUL.
func CheckExtendedValue(op, subject, name, value string) error {
	if err := abi.CheckExtValue(value); err != nil {
		return WrapExtended(op, subject, name, fromABI(err))
	}
	return nil
}

// CheckExpect compares an expected revision (abi.RevAny, abi.RevAbsent or a
// positive revision) with the current one; cur is ignored when exists is
// false. It returns an error wrapping ErrConflict that names both revisions,
// or ErrInvalid for an expectation below abi.RevAny.
func CheckExpect(cur uint64, exists bool, expect int64) error {
	switch {
	case expect == abi.RevAny:
		return nil
	case expect < abi.RevAny:
		return fmt.Errorf("%w: expected revision %d (want -1, 0 or a positive revision)", ErrInvalid, expect)
	case expect == abi.RevAbsent && exists:
		return fmt.Errorf("%w: expected absent, current revision %d", ErrConflict, cur)
	case expect == abi.RevAbsent:
		return nil
	case !exists:
		return fmt.Errorf("%w: expected revision %d, current absent", ErrConflict, expect)
	case uint64(expect) != cur:
		return fmt.Errorf("%w: expected revision %d, current revision %d", ErrConflict, expect, cur)
	}
	return nil
}

// WrapKey adds the operation and KV key to err: `get key "x": not found`.
func WrapKey(op, key string, err error) error {
	return fmt.Errorf("%s key %s: %w", op, quote(key), err)
}

// WrapSubject adds the operation and subject to err.
func WrapSubject(op, subject string, err error) error {
	return fmt.Errorf("%s subject %s: %w", op, quote(subject), err)
}

// WrapProperty adds the operation, property name and subject to err:
// `set property "n" of subject "s": revision conflict: …`.
func WrapProperty(op, subject, name string, err error) error {
	return fmt.Errorf("%s property %s of subject %s: %w", op, quote(name), quote(subject), err)
}

// WrapExtended adds the operation, extended property name and subject to err.
func WrapExtended(op, subject, name string, err error) error {
	return fmt.Errorf("%s extended property %s of subject %s: %w", op, quote(name), quote(subject), err)
}

// fromABI turns an abi validation error into one wrapping this package's
// sentinel, keeping abi's explanation: "invalid: empty key" becomes
// "invalid argument: empty key".
func fromABI(err error) error {
	sentinel := ErrInvalid
	from := abi.ErrInvalid
	if errors.Is(err, abi.ErrTooLarge) {
		sentinel, from = ErrTooLarge, abi.ErrTooLarge
	}
	msg := strings.TrimPrefix(err.Error(), from.Error()+": ")
	return fmt.Errorf("%w: %s", sentinel, msg)
}

// quote quotes s for an error message, cutting it at maxQuoted bytes.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:maxQuoted], len(s))
}
