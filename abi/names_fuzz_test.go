package abi

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzSplitNames decodes a name list as the host reads one from guest
// memory: no panic; it fails exactly when the bytes do not end in NUL; what
// it accepts re-encodes to the same bytes, one name per NUL.
func FuzzSplitNames(f *testing.F) {
	f.Add([]byte("a\x00b\x00"))
	f.Add([]byte("\x00\x00"))
	f.Add([]byte("no terminator"))
	f.Add([]byte("日本\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		names, err := SplitNames(b)
		if len(b) > 0 && b[len(b)-1] != 0 {
			assert.ErrorIs(t, err, ErrInvalid)
			return
		}
		require.NoError(t, err)
		assert.Len(t, names, bytes.Count(b, []byte{0}))
		assert.True(t, bytes.Equal(b, AppendNames(nil, names)), "%q re-encodes to %q", b, AppendNames(nil, names))
	})
}

// FuzzParseGrants parses a grants list as it comes from a function's
// definition: no panic; what it accepts holds only known capabilities and
// its String form parses back to the same grants.
func FuzzParseGrants(f *testing.F) {
	f.Add("kv,props")
	f.Add(" log , info ,wasi")
	f.Add("")
	f.Add(",,")
	f.Add("kv,nope")
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGrants(s)
		if err != nil {
			return
		}
		for _, c := range g.List() {
			_, err := ParseCapability(string(c))
			assert.NoError(t, err, "granted %q", c)
		}
		back, err := ParseGrants(g.String())
		require.NoError(t, err, "parse %q", g.String())
		assert.Equal(t, g.List(), back.List())
	})
}
