package store_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
)

var (
	attributeName = regexp.MustCompile(`^[a-z0-9]{1,20}$`)
	definitionID  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
)

// FuzzNames checks the store's name rules against their specifications
// written as regular expressions: a CloudEvents attribute name is
// [a-z0-9]{1,20}; a definition's kind and name are [A-Za-z0-9_-]{1,128}, so
// they need no escaping in a URL path or a NATS subject token.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"type", "abcdefghijklmnopqrst", "abcdefghijklmnopqrstu", "Type", "a-b", "", "é", "hello_world-1", "a.b", "a b", "\x00"} {
		f.Add(s, "function")
	}
	f.Fuzz(func(t *testing.T, s, kind string) {
		assert.Equal(t, attributeName.MatchString(s), store.IsAttributeName(s), "IsAttributeName(%q)", s)
		err := store.CheckDefinition("put", kind, s)
		want := definitionID.MatchString(kind) && definitionID.MatchString(s)
		assert.Equal(t, want, err == nil, "CheckDefinition(%q, %q): %v", kind, s, err)
		if err != nil {
			assert.ErrorIs(t, err, store.ErrInvalid)
			return
		}
		assert.Equal(t, s, url.PathEscape(s), "a valid name needs no escaping")
	})
}

// FuzzCheckJSON feeds property values, which come from guests, to
// CheckJSON: no panic; what it accepts is UTF-8 JSON of 1 to
// abi.MaxPropertyLen bytes that decodes, and compacts to a value it accepts
// too.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`21.5`, `"a"`, `{"a":[1,2,{"b":null}]}`, ` true `, `"\ud800"`, "\"\xff\"", `{`, ``, `1 2`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := store.CheckJSON(b); err != nil {
			assert.True(t, errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrTooLarge), "%v", err)
			return
		}
		assert.True(t, utf8.Valid(b))
		assert.LessOrEqual(t, len(b), abi.MaxPropertyLen)
		var v any
		require.NoError(t, json.Unmarshal(b, &v))
		var compact bytes.Buffer
		require.NoError(t, json.Compact(&compact, b))
		assert.NoError(t, store.CheckJSON(compact.Bytes()), "compacted %q", compact.Bytes())
	})
}
