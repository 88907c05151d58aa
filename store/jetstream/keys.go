package jetstream

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Every stored key is two NATS KV key tokens, "<group>.<name>": for KV the
// group is the namespace and the name the key; for properties and extended
// properties the group is the subject and the name the property's name.
// Each token is the unpadded base64url (RFC 4648 §5) encoding of the UTF-8
// string, whose alphabet [A-Za-z0-9_-] is a subset of what NATS KV keys
// allow and never contains the "." that separates tokens or the "*" and ">"
// wildcards, so any string abi accepts (separators, spaces, unicode, "$KV.…")
// maps reversibly onto one token, and a group's keys are the NATS subject
// filter "<group>.*".
//
// Why base64url and not an escaping scheme that keeps ASCII readable?
// Escaping every byte outside [A-Za-z0-9-] as "_XX" triples non-ASCII
// strings: a 1,024-byte subject and a 256-byte name would make a key of
// 3,841 bytes, which with "$KV.<bucket>." and a reply inbox no longer fits
// NATS's default max_control_line of 4,096 bytes on an external server.
// base64url grows strings by a third (1,366 + 1 + 342 bytes at the limits).
// Readable listings are `wasmfaas props` and `wasmfaas kv`'s job, which
// decode.
var enc = base64.RawURLEncoding

// maxNATSKey bounds an encoded key so that the publish subject
// "$KV.<bucket>.<key>" and a reply subject stay well inside the default
// max_control_line (4,096 bytes) of any NATS server.
const maxNATSKey = 3072

// encode returns the token for s.
func encode(s string) string { return enc.EncodeToString([]byte(s)) }

// decode reverses encode.
func decode(token string) (string, error) {
	b, err := enc.DecodeString(token)
	if err != nil {
		return "", fmt.Errorf("decode key token %q: %w", token, err)
	}
	return string(b), nil
}

// natsKey returns the NATS KV key for name in group.
func natsKey(group, name string) string {
	return encode(group) + "." + encode(name)
}

// splitKey splits a NATS KV key into its group and name tokens.
func splitKey(key string) (group, name string, ok bool) {
	return strings.Cut(key, ".")
}

// decodeKey reverses natsKey.
func decodeKey(key string) (group, name string, err error) {
	g, n, ok := splitKey(key)
	if !ok {
		return "", "", fmt.Errorf("key %q: not <group>.<name>", key)
	}
	if group, err = decode(g); err != nil {
		return "", "", err
	}
	if name, err = decode(n); err != nil {
		return "", "", err
	}
	return group, name, nil
}
