package storetest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
)

//go:embed testdata/blns.json
var blnsJSON []byte

// naughty returns strings that must round-trip exactly: separators that
// backends are tempted to use in their own encodings (NATS subject tokens,
// paths, the `|` of composite keys), whitespace, Unicode and a subset of the
// Big List of Naughty Strings (testdata/README.md).
func naughty(t *testing.T) []string {
	t.Helper()
	strs, err := NaughtyStrings()
	require.NoError(t, err, "testdata/blns.json")
	return strs
}

// NaughtyStrings returns the hostile strings every layer must carry
// unchanged: separators, whitespace, Unicode and a subset of the Big List of
// Naughty Strings. Tests of other packages (the host, SDK round trips) use it
// too, so there is one list.
func NaughtyStrings() ([]string, error) {
	var blns []string
	if err := json.Unmarshal(blnsJSON, &blns); err != nil {
		return nil, err
	}
	out := []string{
		"a|b", "|", "||", "a/b/c", "/", "/leading", "trailing/", "a//b",
		"with space", " ", " leading", "trailing ", "tab\there", "line\nbreak", "cr\rlf",
		".", "..", "a.b.c", ".hidden", "trailing.", "*", ">", "a.*.>", "$KV.bucket.key",
		"_INBOX.x", "%2F", "%00", "a%2Fb", "\\", "a\\b", "\"quoted\"", "'", "=", "a=b&c=d",
		"#", "?", ":", "a:b", "~", "-", "+", "@", "{}", "[]", "null", "true", "0", "-1",
		"ünïcödé", "日本語のキー", "emoji 🎉🔑", "\u200b", "\ufeffbom", "\u202eevil",
		"\x01\x02\x1f\x7f", "\U0010ffff",
		strings.Repeat("x", abi.MaxPropertyNameLen),
	}
	seen := map[string]bool{}
	var uniq []string
	for _, s := range append(out, blns...) {
		if !seen[s] {
			seen[s] = true
			uniq = append(uniq, s)
		}
	}
	return uniq, nil
}

func testNaughty(t *testing.T, s store.Store) {
	ctx, kv, p := t.Context(), s.KV(), s.Properties()
	strs := naughty(t)

	t.Run("KV keys and values", func(t *testing.T) {
		for _, str := range strs {
			_, err := kv.Put(ctx, "fn", str, []byte(str))
			require.NoError(t, err, "put %q", str)
		}
		for _, str := range strs {
			e, err := kv.Get(ctx, "fn", str)
			if assert.NoError(t, err, "get %q", str) {
				assert.Equal(t, str, string(e.Value), "key %q", str)
			}
		}
		keys, err := kv.Keys(ctx, "fn", "")
		require.NoError(t, err)
		want := slices.Clone(strs)
		slices.Sort(want)
		assert.Equal(t, want, keys, "Keys lists every key exactly, sorted bytewise")
		for _, str := range strs {
			keys, err := kv.Keys(ctx, "fn", str)
			require.NoError(t, err)
			assert.Contains(t, keys, str, "prefix %q", str)
			for _, k := range keys {
				assert.True(t, strings.HasPrefix(k, str), "prefix %q listed %q", str, k)
			}
		}
	})

	t.Run("KV binary values", func(t *testing.T) {
		all := make([]byte, 256)
		for i := range all {
			all[i] = byte(i)
		}
		for name, v := range map[string][]byte{"every byte": all, "NUL": {0}, "invalid UTF-8": []byte("\xff\xfe"), "NULs": make([]byte, 100)} {
			_, err := kv.Put(ctx, "bin", name, v)
			require.NoError(t, err, name)
			e, err := kv.Get(ctx, "bin", name)
			require.NoError(t, err, name)
			assert.Equal(t, v, e.Value, name)
		}
	})

	t.Run("subjects and property values", func(t *testing.T) {
		for _, str := range strs {
			v, err := json.Marshal(str)
			require.NoError(t, err)
			_, err = p.Set(ctx, str, "p", v, abi.RevAny)
			require.NoError(t, err, "subject %q", str)
		}
		for _, str := range strs {
			got, err := p.Get(ctx, str, "p")
			if !assert.NoError(t, err, "subject %q", str) {
				continue
			}
			var back string
			require.NoError(t, json.Unmarshal(got.Value, &back))
			assert.Equal(t, str, back, "subject %q", str)
			all, err := p.List(ctx, str)
			require.NoError(t, err)
			assert.Len(t, all, 1, "subject %q sees only its own property", str)
		}
	})

	t.Run("property names", func(t *testing.T) {
		var names []string
		for _, str := range strs {
			if len(str) <= abi.MaxPropertyNameLen {
				names = append(names, str)
			}
		}
		for _, name := range names {
			_, err := p.Set(ctx, "names", name, raw(strconv.Quote("x")), abi.RevAny)
			require.NoError(t, err, "name %q", name)
		}
		all, err := p.List(ctx, "names")
		require.NoError(t, err)
		assert.Len(t, all, len(names))
		for _, name := range names {
			assert.Contains(t, all, name)
			_, err := p.Get(ctx, "names", name)
			assert.NoError(t, err, "name %q", name)
		}
	})

	t.Run("extended values", func(t *testing.T) {
		for i, str := range strs {
			name := fmt.Sprintf("n%d", i)
			require.NoError(t, p.SetExtended(ctx, str, name, str), "subject and value %q", str)
		}
		for i, str := range strs {
			name := fmt.Sprintf("n%d", i)
			v, err := p.GetExtended(ctx, str, name)
			if assert.NoError(t, err, "subject %q", str) {
				assert.Equal(t, str, v)
			}
			ext, err := p.Extended(ctx, str)
			require.NoError(t, err)
			assert.Equal(t, map[string]string{name: str}, ext)
		}
	})
}
