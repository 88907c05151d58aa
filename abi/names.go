package abi

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = errors.New("invalid")

// ErrTooLarge is wrapped when a value exceeds its size limit.
var ErrTooLarge = errors.New("too large")

func checkText(what, s string, max int) error {
	switch {
	case len(s) == 0:
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	case len(s) > max:
		return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, what, len(s), max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, what)
	case bytes.IndexByte([]byte(s), 0) >= 0:
		return fmt.Errorf("%w: %s contains NUL", ErrInvalid, what)
	}
	return nil
}

// CheckKey validates a KV key.
func CheckKey(k string) error { return checkText("key", k, MaxKeyLen) }

// CheckScheduleKey checks a schedule key: 1-256 bytes of UTF-8 without NUL.
func CheckScheduleKey(k string) error { return checkText("schedule key", k, MaxScheduleKeyLen) }

// CheckHeader checks a response header set by result_header: the name an
// HTTP token (RFC 9110) of at most 256 bytes, the value at most 8 KiB
// with no control characters but tab.
func CheckHeader(name, value string) error {
	if name == "" || len(name) > MaxHeaderNameLen {
		return fmt.Errorf("%w: header name must be 1-%d bytes", ErrInvalid, MaxHeaderNameLen)
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("%w: header name %q: byte %d (%q) is not allowed in an HTTP header name", ErrInvalid, name, i, name[i])
		}
	}
	if len(value) > MaxHeaderValueLen {
		return fmt.Errorf("%w: header %s: value is %d bytes, more than %d", ErrTooLarge, name, len(value), MaxHeaderValueLen)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return fmt.Errorf("%w: header %s: value has a control character (%q) at byte %d", ErrInvalid, name, c, i)
		}
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("%w: header %s: value is not valid UTF-8", ErrInvalid, name)
	}
	return nil
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// CheckSubject validates a subject.
func CheckSubject(s string) error { return checkText("subject", s, MaxSubjectLen) }

// CheckPropertyName validates a property name.
func CheckPropertyName(n string) error { return checkText("property name", n, MaxPropertyNameLen) }

// CheckExtName validates an extended property or extension name: [a-z0-9]{1,20}.
func CheckExtName(n string) error {
	if n == "" || len(n) > MaxExtNameLen {
		return fmt.Errorf("%w: extension name %q must be 1-%d characters of [a-z0-9]", ErrInvalid, n, MaxExtNameLen)
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return fmt.Errorf("%w: extension name %q must be 1-%d characters of [a-z0-9]", ErrInvalid, n, MaxExtNameLen)
		}
	}
	return nil
}

// CheckExtValue validates an extended property value.
func CheckExtValue(v string) error {
	if len(v) > MaxExtValueLen {
		return fmt.Errorf("%w: extension value is %d bytes, limit %d", ErrTooLarge, len(v), MaxExtValueLen)
	}
	if !utf8.ValidString(v) || bytes.IndexByte([]byte(v), 0) >= 0 {
		return fmt.Errorf("%w: extension value must be UTF-8 without NUL", ErrInvalid)
	}
	return nil
}

// CheckFieldKey validates a domain field key: [A-Za-z0-9_.-]{1,64}.
func CheckFieldKey(k string) error {
	return checkClass("field key", k, MaxFieldKeyLen, func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
	})
}

// CheckErrorKind validates an error kind: [a-z0-9_]{1,64}.
func CheckErrorKind(k string) error {
	return checkClass("error kind", k, MaxErrorKindLen, func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
	})
}

func checkClass(what, s string, max int, ok func(byte) bool) error {
	if s == "" || len(s) > max {
		return fmt.Errorf("%w: %s %q must be 1-%d characters", ErrInvalid, what, s, max)
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return fmt.Errorf("%w: %s %q has a disallowed character %q", ErrInvalid, what, s, s[i])
		}
	}
	return nil
}

// AppendNames appends each name followed by one NUL byte: the encoding of
// event_extensions and kv_keys.
func AppendNames(dst []byte, names []string) []byte {
	for _, n := range names {
		dst = append(dst, n...)
		dst = append(dst, 0)
	}
	return dst
}

// SplitNames decodes a run of NUL-terminated names. A trailing fragment
// without its NUL is an error, so truncation never passes silently.
func SplitNames(b []byte) ([]string, error) {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return nil, fmt.Errorf("%w: name list ends without NUL", ErrInvalid)
		}
		out = append(out, string(b[:i]))
		b = b[i+1:]
	}
	return out, nil
}

// Pair is one name/value entry of an emit_event attrs block.
type Pair struct{ Name, Value string }

// AppendPairs encodes pairs as name NUL value NUL ...
func AppendPairs(dst []byte, pairs []Pair) []byte {
	for _, p := range pairs {
		dst = append(dst, p.Name...)
		dst = append(dst, 0)
		dst = append(dst, p.Value...)
		dst = append(dst, 0)
	}
	return dst
}

// SplitPairs decodes an attrs block; an odd number of strings or a missing
// final NUL is an error.
func SplitPairs(b []byte) ([]Pair, error) {
	names, err := SplitNames(b)
	if err != nil {
		return nil, fmt.Errorf("attrs block: %w", err)
	}
	if len(names)%2 != 0 {
		return nil, fmt.Errorf("%w: attrs block has a name without a value", ErrInvalid)
	}
	out := make([]Pair, 0, len(names)/2)
	for i := 0; i < len(names); i += 2 {
		out = append(out, Pair{Name: names[i], Value: names[i+1]})
	}
	return out, nil
}
