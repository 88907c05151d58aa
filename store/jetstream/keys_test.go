package jetstream

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store/storetest"
)

// validKey is nats.go's rule for KV keys.
var validKey = regexp.MustCompile(`^[-/_=\.a-zA-Z0-9]+$`)

func checkRoundTrip(t *testing.T, group, name string) {
	t.Helper()
	k := natsKey(group, name)
	require.Regexp(t, validKey, k, "%q/%q", group, name)
	assert.False(t, strings.HasPrefix(k, ".") || strings.HasSuffix(k, "."))
	assert.Equal(t, 1, strings.Count(k, "."), "two tokens")
	g, n, err := decodeKey(k)
	require.NoError(t, err)
	assert.Equal(t, group, g)
	assert.Equal(t, name, n)
}

func TestKeyEncodingNaughty(t *testing.T) {
	strs, err := storetest.NaughtyStrings()
	require.NoError(t, err)
	for _, s := range strs {
		if abi.CheckKey(s) != nil {
			continue
		}
		checkRoundTrip(t, s, s)
		checkRoundTrip(t, "fn", s)
	}
	long := strings.Repeat("日", abi.MaxSubjectLen/3)
	name := strings.Repeat("é", abi.MaxPropertyNameLen/2)
	k := natsKey(long, name)
	assert.LessOrEqual(t, len(k), maxNATSKey, "the longest subject and name fit")
}

func TestDecodeKeyErrors(t *testing.T) {
	for _, k := range []string{"nodot", "!!.AA", "AA.!!"} {
		_, _, err := decodeKey(k)
		assert.Error(t, err, k)
	}
}

func FuzzKeyEncoding(f *testing.F) {
	for _, s := range []string{"a", "a.b", "*", ">", "日本", "\x00"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, group, name string) {
		if group == "" || name == "" {
			return
		}
		checkRoundTrip(t, group, name)
	})
}
