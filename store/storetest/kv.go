package storetest

import (
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

func testKVPutGetDelete(t *testing.T, s store.Store) {
	ctx, kv := t.Context(), s.KV()
	rev, err := kv.Put(ctx, "fn", "greeting", []byte("hello"))
	require.NoError(t, err)
	assert.Positive(t, rev)

	e, err := kv.Get(ctx, "fn", "greeting")
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), e.Value)
	assert.Equal(t, rev, e.Revision)

	rev2, err := kv.Put(ctx, "fn", "greeting", []byte("bye"))
	require.NoError(t, err)
	e, err = kv.Get(ctx, "fn", "greeting")
	require.NoError(t, err)
	assert.Equal(t, []byte("bye"), e.Value)
	assert.Equal(t, rev2, e.Revision)

	require.NoError(t, kv.Delete(ctx, "fn", "greeting"))
	_, err = kv.Get(ctx, "fn", "greeting")
	assert.ErrorIs(t, err, store.ErrNotFound)
	// Deleting a missing key is not an error.
	assert.NoError(t, kv.Delete(ctx, "fn", "greeting"))
	assert.NoError(t, kv.Delete(ctx, "other", "never"))
}

func testKVNotFound(t *testing.T, s store.Store) {
	ctx, kv := t.Context(), s.KV()
	_, err := kv.Get(ctx, "fn", "missing")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = kv.Put(ctx, "fn", "present", []byte("x"))
	require.NoError(t, err)
	_, err = kv.Get(ctx, "fn", "presen")
	assert.ErrorIs(t, err, store.ErrNotFound, "a prefix of a key is another key")
	_, err = kv.Get(ctx, "fn", "present/")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testKVRevisions(t *testing.T, s store.Store) {
	ctx, kv := t.Context(), s.KV()
	var last uint64
	for i := range 10 {
		key := fmt.Sprintf("k%d", i%3)
		rev, err := kv.Put(ctx, "fn", key, []byte(strconv.Itoa(i)))
		require.NoError(t, err)
		assert.Greater(t, rev, last, "put %d", i)
		last = rev
		e, err := kv.Get(ctx, "fn", key)
		require.NoError(t, err)
		assert.Equal(t, rev, e.Revision)
	}
	// A deleted and recreated key gets a revision it never had.
	require.NoError(t, kv.Delete(ctx, "fn", "k0"))
	rev, err := kv.Put(ctx, "fn", "k0", []byte("again"))
	require.NoError(t, err)
	assert.Greater(t, rev, last)
}

func testKVEmptyValue(t *testing.T, s store.Store) {
	ctx, kv := t.Context(), s.KV()
	_, err := kv.Put(ctx, "fn", "empty", nil)
	require.NoError(t, err)
	e, err := kv.Get(ctx, "fn", "empty")
	require.NoError(t, err, "an empty value is a value, not a missing key")
	assert.Empty(t, e.Value)
	_, err = kv.Put(ctx, "fn", "empty2", []byte{})
	require.NoError(t, err)
	keys, err := kv.Keys(ctx, "fn", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"empty", "empty2"}, keys)
}

func testKVLimits(t *testing.T, s store.Store) {
	ctx, kv := t.Context(), s.KV()
	key := strings.Repeat("k", abi.MaxKeyLen)
	value := make([]byte, abi.MaxValueLen)
	for i := range value {
		value[i] = byte(i * 7)
	}
	_, err := kv.Put(ctx, "fn", key, value)
	require.NoError(t, err, "a key of exactly %d bytes and a value of exactly %d bytes are allowed", abi.MaxKeyLen, abi.MaxValueLen)
	e, err := kv.Get(ctx, "fn", key)
	require.NoError(t, err)
	assert.True(t, slices.Equal(value, e.Value), "1 MiB value round trip")
}

func testKVKeys(t *testing.T, s store.Store) {
	ctx, kv := t.Context(), s.KV()
	for _, k := range []string{"user/2", "user/10", "user/1", "order/1", "user", "users/1", "u"} {
		_, err := kv.Put(ctx, "fn", k, []byte(k))
		require.NoError(t, err)
	}
	for _, tc := range []struct {
		name, prefix string
		want         []string
	}{
		{"all", "", []string{"order/1", "u", "user", "user/1", "user/10", "user/2", "users/1"}},
		{"prefix", "user/", []string{"user/1", "user/10", "user/2"}},
		{"prefix is a key", "user", []string{"user", "user/1", "user/10", "user/2", "users/1"}},
		{"exact", "order/1", []string{"order/1"}},
		{"none", "zzz", nil},
		{"longer than keys", "user/10/x", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := kv.Keys(ctx, "fn", tc.prefix)
			require.NoError(t, err)
			if tc.want == nil {
				assert.Empty(t, keys)
				return
			}
			assert.Equal(t, tc.want, keys)
		})
	}
	keys, err := kv.Keys(ctx, "never-used", "")
	require.NoError(t, err)
	assert.Empty(t, keys)

	require.NoError(t, kv.Delete(ctx, "fn", "user/10"))
	keys, err = kv.Keys(ctx, "fn", "user/")
	require.NoError(t, err)
	assert.Equal(t, []string{"user/1", "user/2"}, keys, "deleted keys are not listed")
}

func testKVNamespaces(t *testing.T, s store.Store) {
	ctx, kv := t.Context(), s.KV()
	_, err := kv.Put(ctx, "a", "k", []byte("from a"))
	require.NoError(t, err)
	_, err = kv.Put(ctx, "b", "k", []byte("from b"))
	require.NoError(t, err)
	_, err = kv.Put(ctx, "a", "only-a", []byte("x"))
	require.NoError(t, err)
	// Namespaces that look like prefixes of each other, differ in case or
	// hold separators stay apart too.
	others := []string{"ab", "A", "a.b", "a-b", "a_b", "a/b", "a.>"}
	want := map[string]string{"a": "from a", "b": "from b"}
	for _, ns := range others {
		_, err = kv.Put(ctx, ns, "k", []byte("from "+ns))
		require.NoError(t, err, ns)
		want[ns] = "from " + ns
	}

	for ns, want := range want {
		e, err := kv.Get(ctx, ns, "k")
		require.NoError(t, err, ns)
		assert.Equal(t, want, string(e.Value), ns)
	}
	_, err = kv.Get(ctx, "b", "only-a")
	assert.ErrorIs(t, err, store.ErrNotFound)

	keys, err := kv.Keys(ctx, "b", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"k"}, keys)

	require.NoError(t, kv.Delete(ctx, "b", "k"))
	e, err := kv.Get(ctx, "a", "k")
	require.NoError(t, err, "deleting in b leaves a alone")
	assert.Equal(t, "from a", string(e.Value))
}

func testKVCopies(t *testing.T, s store.Store) {
	ctx, kv := t.Context(), s.KV()
	buf := []byte("original")
	_, err := kv.Put(ctx, "fn", "k", buf)
	require.NoError(t, err)
	copy(buf, "XXXXXXXX")
	e, err := kv.Get(ctx, "fn", "k")
	require.NoError(t, err)
	assert.Equal(t, "original", string(e.Value), "the store must copy the value it is given")
	copy(e.Value, "YYYYYYYY")
	e, err = kv.Get(ctx, "fn", "k")
	require.NoError(t, err)
	assert.Equal(t, "original", string(e.Value), "the store must copy the value it returns")
}

// invalidText lists keys, subjects and property names that break the rules
// of abi/README.md §3, with the error each must get; limit is the name's
// maximum length.
func invalidText(limit int) []struct {
	name, s string
	err     error
} {
	return []struct {
		name, s string
		err     error
	}{
		{"empty", "", store.ErrInvalid},
		{"NUL", "a\x00b", store.ErrInvalid},
		{"only NUL", "\x00", store.ErrInvalid},
		{"invalid UTF-8", "a\xffb", store.ErrInvalid},
		{"truncated UTF-8", "caf\xc3", store.ErrInvalid},
		{"surrogate half", "\xed\xa0\x80", store.ErrInvalid},
		{"too long", strings.Repeat("x", limit+1), store.ErrTooLarge},
	}
}

func testKVInvalid(t *testing.T, s store.Store) {
	ctx, kv := t.Context(), s.KV()
	for _, tc := range invalidText(abi.MaxKeyLen) {
		t.Run("key "+tc.name, func(t *testing.T) {
			_, err := kv.Put(ctx, "fn", tc.s, []byte("v"))
			assert.ErrorIs(t, err, tc.err, "put")
			_, err = kv.Get(ctx, "fn", tc.s)
			assert.ErrorIs(t, err, tc.err, "get")
			assert.ErrorIs(t, kv.Delete(ctx, "fn", tc.s), tc.err, "delete")
		})
	}
	t.Run("value too large", func(t *testing.T) {
		_, err := kv.Put(ctx, "fn", "big", make([]byte, abi.MaxValueLen+1))
		assert.ErrorIs(t, err, store.ErrTooLarge)
		_, err = kv.Get(ctx, "fn", "big")
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
	t.Run("value too large keeps the old value", func(t *testing.T) {
		_, err := kv.Put(ctx, "fn2", "k", []byte("old"))
		require.NoError(t, err)
		_, err = kv.Put(ctx, "fn2", "k", make([]byte, abi.MaxValueLen+1))
		assert.ErrorIs(t, err, store.ErrTooLarge)
		e, err := kv.Get(ctx, "fn2", "k")
		require.NoError(t, err)
		assert.Equal(t, "old", string(e.Value))
	})
	keys, err := kv.Keys(ctx, "fn", "")
	require.NoError(t, err)
	assert.Empty(t, keys, "invalid writes must not store anything")
}
