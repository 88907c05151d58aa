package router

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// DecodeHeaderValue is the one rule for the value of a ce- header, on HTTP
// (router/ingress) and NATS (DecodeMsg) alike, so that the same header
// gives the same attribute whichever way the event came in:
//
//   - the value as received must be UTF-8;
//   - every well-formed escape, % and two hexadecimal digits (either case),
//     is percent-decoded, once;
//   - a % that does not start a well-formed escape ("100%", "50%zz") is
//     kept as it is, not refused;
//   - the decoded value must be UTF-8 ("%C3%28" and the overlong "%C0%A0"
//     are refused).
//
// Both binding specs (HTTP and NATS, "Header Values") tell a receiver to
// percent-decode every value and a sender to encode space, '"', '%' and
// everything outside printable ASCII. No sender we know of does: sdk-go's
// HTTP and NATS JetStream senders write the attribute's string as it is
// (raw UTF-8, a bare %), and so do `nats pub -H` and hand-written clients.
// Decoding well-formed escapes keeps every conforming sender's value
// exact; keeping a stray % keeps theirs exact too, where refusing it (as
// the spec's strictest reading would) turned "device|50%" into a 400. The
// cost, inherent in the spec, is that a non-conforming sender's literal
// "%41" arrives as "A": to send a literal % followed by two hex digits, a
// sender writes %25. Quoted-string unescaping (RFC 7230 §3.2.6), which the
// specs keep for old senders, is not done: no current sender quotes, and a
// value that starts with '"' stays as it is.
//
// Control characters after decoding ("%00", "%0A") are not this
// function's business: CheckAttributes refuses them, on both transports.
func DecodeHeaderValue(v string) (string, error) {
	if !utf8.ValidString(v) {
		return "", errors.New("value is not valid UTF-8")
	}
	if !strings.Contains(v, "%") {
		return v, nil
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			b.WriteByte(unhex(v[i+1])<<4 | unhex(v[i+2]))
			i += 2
			continue
		}
		b.WriteByte(v[i])
	}
	d := b.String()
	if !utf8.ValidString(d) {
		return "", fmt.Errorf("percent-decoded value of %q is not valid UTF-8", v)
	}
	return d, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
