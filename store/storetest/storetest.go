package storetest

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
)

// Run runs the shared suite against the backend built by newStore, which is
// called once per subtest and must return an empty store. Each subtest closes
// its store when it is done (some close it earlier too), so Close must
// tolerate being called twice.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	open := func(t *testing.T) store.Store {
		t.Helper()
		s := newStore(t)
		require.NotNil(t, s, "newStore returned nil")
		t.Cleanup(func() { assert.NoError(t, s.Close()) })
		return s
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"KV/PutGetDelete", testKVPutGetDelete},
		{"KV/NotFound", testKVNotFound},
		{"KV/Revisions", testKVRevisions},
		{"KV/EmptyValue", testKVEmptyValue},
		{"KV/Limits", testKVLimits},
		{"KV/Keys", testKVKeys},
		{"KV/NamespacesIsolated", testKVNamespaces},
		{"KV/CopiesValues", testKVCopies},
		{"KV/Invalid", testKVInvalid},
		{"Properties/SetGetDelete", testPropsSetGetDelete},
		{"Properties/NotFound", testPropsNotFound},
		{"Properties/Change", testPropsChange},
		{"Properties/CompareAndSet", testPropsCAS},
		{"Properties/DeleteCompareAndSet", testPropsDeleteCAS},
		{"Properties/RevisionNotReused", testPropsRevisionNotReused},
		{"Properties/List", testPropsList},
		{"Properties/CopiesValues", testPropsCopies},
		{"Properties/Invalid", testPropsInvalid},
		{"Extended/SetGetDelete", testExtSetGetDelete},
		{"Extended/SeparateFromProperties", testExtSeparate},
		{"Extended/Invalid", testExtInvalid},
		{"NaughtyStrings", testNaughty},
		{"AtomicIncrementHammer", testHammer},
		{"CanceledContext", testCanceled},
		{"Closed", testClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, open(t))
		})
	}
}

// RunNotifier checks that a backend built by newStore with notifier n
// delivers every committed property change to n, in order for a single
// writer, with the old and new values and the revision the write returned.
// Delivery may be asynchronous; the suite waits for it.
func RunNotifier(t *testing.T, newStore func(t *testing.T, n store.Notifier) store.Store) {
	t.Helper()
	t.Run("SingleWriterInOrder", func(t *testing.T) {
		var rec recorder
		s := newStore(t, rec.notify)
		require.NotNil(t, s, "newStore returned nil")
		t.Cleanup(func() { assert.NoError(t, s.Close()) })
		ctx := t.Context()
		p := s.Properties()

		var want []store.Change
		add := func(c store.Change, err error) {
			t.Helper()
			require.NoError(t, err)
			want = append(want, c)
		}
		add(p.Set(ctx, "dev/1", "temp", raw(`20`), abi.RevAny))
		add(p.Set(ctx, "dev/1", "temp", raw(`21.5`), abi.RevAny))
		add(p.Set(ctx, "dev/2", "temp", raw(`{"c":1}`), abi.RevAbsent))
		add(p.Delete(ctx, "dev/1", "temp", abi.RevAny))
		add(p.Set(ctx, "dev/1", "temp", raw(`"back"`), abi.RevAbsent))
		for i := range 20 {
			add(p.Set(ctx, "dev/3", "n", raw(strconv.Itoa(i)), abi.RevAny))
		}
		// Failed and non-property writes notify nothing.
		_, err := p.Set(ctx, "dev/1", "temp", raw(`1`), abi.RevAbsent)
		require.ErrorIs(t, err, store.ErrConflict)
		_, err = p.Delete(ctx, "dev/9", "none", abi.RevAny)
		require.ErrorIs(t, err, store.ErrNotFound)
		require.NoError(t, p.SetExtended(ctx, "dev/1", "class", "a"))
		_, err = s.KV().Put(ctx, "fn", "k", []byte("v"))
		require.NoError(t, err)

		got := rec.wait(t, len(want))
		require.Len(t, got, len(want))
		for i := range want {
			assertChange(t, want[i], got[i], "change %d", i)
		}
		// Nothing more arrives.
		time.Sleep(20 * time.Millisecond)
		assert.Len(t, rec.all(), len(want), "unexpected extra notifications")
	})
}

// recorder collects notifications.
type recorder struct {
	mu      sync.Mutex
	changes []store.Change
}

func (r *recorder) notify(_ context.Context, c store.Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
}

func (r *recorder) all() []store.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}

func (r *recorder) wait(t *testing.T, n int) []store.Change {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.all()) >= n },
		5*time.Second, time.Millisecond, "waiting for %d notifications", n)
	return r.all()
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// assertChange compares changes, treating nil and empty values alike and
// comparing JSON values semantically (a backend may re-encode them).
func assertChange(t *testing.T, want, got store.Change, msgAndArgs ...any) {
	t.Helper()
	assert.Equal(t, want.Subject, got.Subject, msgAndArgs...)
	assert.Equal(t, want.Name, got.Name, msgAndArgs...)
	assert.Equal(t, want.Revision, got.Revision, msgAndArgs...)
	assertJSON(t, want.Old, got.Old, msgAndArgs...)
	assertJSON(t, want.New, got.New, msgAndArgs...)
}

func assertJSON(t *testing.T, want, got json.RawMessage, msgAndArgs ...any) {
	t.Helper()
	if len(want) == 0 || len(got) == 0 {
		assert.Empty(t, got, msgAndArgs...)
		assert.Empty(t, want, msgAndArgs...)
		return
	}
	assert.JSONEq(t, string(want), string(got), msgAndArgs...)
}

// --- KV ---

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

// --- Properties ---

func testPropsSetGetDelete(t *testing.T, s store.Store) {
	ctx, p := t.Context(), s.Properties()
	c, err := p.Set(ctx, "device:1", "temp", raw(`21.5`), abi.RevAny)
	require.NoError(t, err)
	assert.Positive(t, c.Revision)

	got, err := p.Get(ctx, "device:1", "temp")
	require.NoError(t, err)
	assert.JSONEq(t, `21.5`, string(got.Value))
	assert.Equal(t, c.Revision, got.Revision)

	c2, err := p.Set(ctx, "device:1", "temp", raw(`{"c": 22, "ok": true}`), abi.RevAny)
	require.NoError(t, err)
	assert.Greater(t, c2.Revision, c.Revision)
	got, err = p.Get(ctx, "device:1", "temp")
	require.NoError(t, err)
	assert.JSONEq(t, `{"c": 22, "ok": true}`, string(got.Value))

	d, err := p.Delete(ctx, "device:1", "temp", abi.RevAny)
	require.NoError(t, err)
	assert.Zero(t, d.Revision, "a delete's change has revision 0")
	_, err = p.Get(ctx, "device:1", "temp")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testPropsNotFound(t *testing.T, s store.Store) {
	ctx, p := t.Context(), s.Properties()
	_, err := p.Get(ctx, "nobody", "temp")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = p.Delete(ctx, "nobody", "temp", abi.RevAny)
	assert.ErrorIs(t, err, store.ErrNotFound, "delete of an absent property")
	_, err = p.Delete(ctx, "nobody", "temp", 7)
	assert.ErrorIs(t, err, store.ErrNotFound, "delete of an absent property with an expected revision")

	_, err = p.Set(ctx, "somebody", "a", raw(`1`), abi.RevAny)
	require.NoError(t, err)
	_, err = p.Get(ctx, "somebody", "b")
	assert.ErrorIs(t, err, store.ErrNotFound, "other property of an existing subject")
	_, err = p.Delete(ctx, "somebody", "b", abi.RevAny)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testPropsChange(t *testing.T, s store.Store) {
	ctx, p := t.Context(), s.Properties()
	c1, err := p.Set(ctx, "s", "p", raw(`"a"`), abi.RevAny)
	require.NoError(t, err)
	assert.Equal(t, "s", c1.Subject)
	assert.Equal(t, "p", c1.Name)
	assert.Empty(t, c1.Old, "first set: no old value")
	assert.JSONEq(t, `"a"`, string(c1.New))

	c2, err := p.Set(ctx, "s", "p", raw(`["b"]`), int64(c1.Revision))
	require.NoError(t, err)
	assert.JSONEq(t, `"a"`, string(c2.Old))
	assert.JSONEq(t, `["b"]`, string(c2.New))
	assert.Greater(t, c2.Revision, c1.Revision)

	d, err := p.Delete(ctx, "s", "p", int64(c2.Revision))
	require.NoError(t, err)
	assert.Equal(t, "s", d.Subject)
	assert.Equal(t, "p", d.Name)
	assert.JSONEq(t, `["b"]`, string(d.Old))
	assert.Empty(t, d.New, "delete: no new value")
	assert.Zero(t, d.Revision)

	c3, err := p.Set(ctx, "s", "p", raw(`null`), abi.RevAbsent)
	require.NoError(t, err)
	assert.Empty(t, c3.Old, "set after delete: no old value")
	assert.Equal(t, "null", string(c3.New), "JSON null is a value")
	got, err := p.Get(ctx, "s", "p")
	require.NoError(t, err)
	assert.Equal(t, "null", string(got.Value))
}

func testPropsCAS(t *testing.T, s store.Store) {
	ctx, p := t.Context(), s.Properties()
	c1, err := p.Set(ctx, "s", "p", raw(`1`), abi.RevAbsent)
	require.NoError(t, err, "RevAbsent on an absent property")

	_, err = p.Set(ctx, "s", "p", raw(`2`), abi.RevAbsent)
	assert.ErrorIs(t, err, store.ErrConflict, "RevAbsent on an existing property")

	_, err = p.Set(ctx, "s", "p", raw(`2`), int64(c1.Revision)+1000)
	assert.ErrorIs(t, err, store.ErrConflict, "a revision from the future")

	c2, err := p.Set(ctx, "s", "p", raw(`2`), int64(c1.Revision))
	require.NoError(t, err, "current revision")

	_, err = p.Set(ctx, "s", "p", raw(`3`), int64(c1.Revision))
	assert.ErrorIs(t, err, store.ErrConflict, "stale revision")
	if err != nil {
		msg := err.Error()
		assert.Contains(t, msg, strconv.FormatUint(c1.Revision, 10), "the error names the expected revision")
		assert.Contains(t, msg, strconv.FormatUint(c2.Revision, 10), "the error names the current revision")
	}

	got, err := p.Get(ctx, "s", "p")
	require.NoError(t, err)
	assert.JSONEq(t, `2`, string(got.Value), "failed writes change nothing")
	assert.Equal(t, c2.Revision, got.Revision)

	c3, err := p.Set(ctx, "s", "p", raw(`3`), abi.RevAny)
	require.NoError(t, err, "RevAny on an existing property")
	_, err = p.Set(ctx, "s", "q", raw(`1`), int64(c3.Revision))
	assert.ErrorIs(t, err, store.ErrConflict, "a positive revision on an absent property")
	_, err = p.Get(ctx, "s", "q")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = p.Set(ctx, "s", "q", raw(`1`), abi.RevAny)
	assert.NoError(t, err, "RevAny on an absent property")
}

func testPropsDeleteCAS(t *testing.T, s store.Store) {
	ctx, p := t.Context(), s.Properties()
	c1, err := p.Set(ctx, "s", "p", raw(`1`), abi.RevAny)
	require.NoError(t, err)
	c2, err := p.Set(ctx, "s", "p", raw(`2`), abi.RevAny)
	require.NoError(t, err)

	_, err = p.Delete(ctx, "s", "p", int64(c1.Revision))
	assert.ErrorIs(t, err, store.ErrConflict, "stale revision")
	_, err = p.Delete(ctx, "s", "p", abi.RevAbsent)
	assert.ErrorIs(t, err, store.ErrConflict, "RevAbsent on an existing property")
	got, err := p.Get(ctx, "s", "p")
	require.NoError(t, err, "failed deletes delete nothing")
	assert.Equal(t, c2.Revision, got.Revision)

	_, err = p.Delete(ctx, "s", "p", int64(c2.Revision))
	require.NoError(t, err, "current revision")
	_, err = p.Get(ctx, "s", "p")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testPropsRevisionNotReused(t *testing.T, s store.Store) {
	ctx, p := t.Context(), s.Properties()
	c1, err := p.Set(ctx, "s", "p", raw(`"first life"`), abi.RevAbsent)
	require.NoError(t, err)
	_, err = p.Delete(ctx, "s", "p", abi.RevAny)
	require.NoError(t, err)
	c2, err := p.Set(ctx, "s", "p", raw(`"second life"`), abi.RevAbsent)
	require.NoError(t, err)
	assert.Greater(t, c2.Revision, c1.Revision, "a recreated property gets a new revision")

	_, err = p.Set(ctx, "s", "p", raw(`"stale"`), int64(c1.Revision))
	assert.ErrorIs(t, err, store.ErrConflict, "a revision from before the delete is stale")
	got, err := p.Get(ctx, "s", "p")
	require.NoError(t, err)
	assert.JSONEq(t, `"second life"`, string(got.Value))
}

func testPropsList(t *testing.T, s store.Store) {
	ctx, p := t.Context(), s.Properties()
	all, err := p.List(ctx, "empty")
	require.NoError(t, err)
	assert.Empty(t, all)

	want := map[string]string{"a": `1`, "b": `"two"`, "c/d": `{"x":[1,2]}`}
	revs := map[string]uint64{}
	for name, v := range want {
		c, err := p.Set(ctx, "s", name, raw(v), abi.RevAny)
		require.NoError(t, err)
		revs[name] = c.Revision
	}
	_, err = p.Set(ctx, "other", "z", raw(`0`), abi.RevAny)
	require.NoError(t, err)
	require.NoError(t, p.SetExtended(ctx, "s", "class", "a"))

	all, err = p.List(ctx, "s")
	require.NoError(t, err)
	require.Len(t, all, len(want), "List returns exactly the subject's properties")
	for name, v := range want {
		if assert.Contains(t, all, name) {
			assert.JSONEq(t, v, string(all[name].Value), name)
			assert.Equal(t, revs[name], all[name].Revision, name)
		}
	}

	_, err = p.Delete(ctx, "s", "a", abi.RevAny)
	require.NoError(t, err)
	all, err = p.List(ctx, "s")
	require.NoError(t, err)
	assert.Len(t, all, 2)
	assert.NotContains(t, all, "a")
}

func testPropsCopies(t *testing.T, s store.Store) {
	ctx, p := t.Context(), s.Properties()
	buf := []byte(`"original"`)
	c, err := p.Set(ctx, "s", "p", buf, abi.RevAny)
	require.NoError(t, err)
	copy(buf, `"XXXXXXXX"`)
	copy(c.New, `"YYYYYYYY"`)
	got, err := p.Get(ctx, "s", "p")
	require.NoError(t, err)
	assert.JSONEq(t, `"original"`, string(got.Value), "the store must copy values in")
	copy(got.Value, `"ZZZZZZZZ"`)
	all, err := p.List(ctx, "s")
	require.NoError(t, err)
	assert.JSONEq(t, `"original"`, string(all["p"].Value), "the store must copy values out")
	c2, err := p.Set(ctx, "s", "p", raw(`1`), abi.RevAny)
	require.NoError(t, err)
	assert.JSONEq(t, `"original"`, string(c2.Old))
}

func testPropsInvalid(t *testing.T, s store.Store) {
	ctx, p := t.Context(), s.Properties()
	for _, tc := range invalidText(abi.MaxSubjectLen) {
		t.Run("subject "+tc.name, func(t *testing.T) {
			_, err := p.Set(ctx, tc.s, "p", raw(`1`), abi.RevAny)
			assert.ErrorIs(t, err, tc.err, "set")
			_, err = p.Get(ctx, tc.s, "p")
			assert.ErrorIs(t, err, tc.err, "get")
			_, err = p.Delete(ctx, tc.s, "p", abi.RevAny)
			assert.ErrorIs(t, err, tc.err, "delete")
			_, err = p.List(ctx, tc.s)
			assert.ErrorIs(t, err, tc.err, "list")
			assert.ErrorIs(t, p.SetExtended(ctx, tc.s, "x", "v"), tc.err, "set extended")
			_, err = p.Extended(ctx, tc.s)
			assert.ErrorIs(t, err, tc.err, "extended")
		})
	}
	for _, tc := range invalidText(abi.MaxPropertyNameLen) {
		t.Run("name "+tc.name, func(t *testing.T) {
			_, err := p.Set(ctx, "s", tc.s, raw(`1`), abi.RevAny)
			assert.ErrorIs(t, err, tc.err, "set")
			_, err = p.Get(ctx, "s", tc.s)
			assert.ErrorIs(t, err, tc.err, "get")
			_, err = p.Delete(ctx, "s", tc.s, abi.RevAny)
			assert.ErrorIs(t, err, tc.err, "delete")
		})
	}
	for _, tc := range []struct {
		name  string
		value []byte
		err   error
	}{
		{"nil", nil, store.ErrInvalid},
		{"empty", []byte{}, store.ErrInvalid},
		{"blank", []byte("  "), store.ErrInvalid},
		{"bare word", []byte("hello"), store.ErrInvalid},
		{"unterminated object", []byte(`{"a":1`), store.ErrInvalid},
		{"two values", []byte(`1 2`), store.ErrInvalid},
		{"trailing comma", []byte(`[1,]`), store.ErrInvalid},
		{"single quotes", []byte(`'a'`), store.ErrInvalid},
		{"invalid UTF-8 in string", []byte("\"\xff\""), store.ErrInvalid},
		{"too large", append(append([]byte(`"`), make([]byte, abi.MaxPropertyLen)...), '"'), store.ErrTooLarge},
	} {
		t.Run("value "+tc.name, func(t *testing.T) {
			_, err := p.Set(ctx, "s", "p", tc.value, abi.RevAny)
			assert.ErrorIs(t, err, tc.err)
		})
	}
	t.Run("expect below RevAny", func(t *testing.T) {
		_, err := p.Set(ctx, "s", "p", raw(`1`), -2)
		assert.ErrorIs(t, err, store.ErrInvalid)
	})
	t.Run("largest value", func(t *testing.T) {
		v := append(append([]byte(`"`), []byte(strings.Repeat("a", abi.MaxPropertyLen-2))...), '"')
		_, err := p.Set(ctx, "big", "p", v, abi.RevAny)
		require.NoError(t, err, "a JSON value of exactly %d bytes is allowed", abi.MaxPropertyLen)
		got, err := p.Get(ctx, "big", "p")
		require.NoError(t, err)
		assert.Len(t, got.Value, abi.MaxPropertyLen)
	})

	all, err := p.List(ctx, "s")
	require.NoError(t, err)
	assert.Empty(t, all, "invalid writes must not store anything")
	ext, err := p.Extended(ctx, "s")
	require.NoError(t, err)
	assert.Empty(t, ext)
}

// --- Extended properties ---

func testExtSetGetDelete(t *testing.T, s store.Store) {
	ctx, p := t.Context(), s.Properties()
	ext, err := p.Extended(ctx, "dev")
	require.NoError(t, err)
	assert.NotNil(t, ext, "Extended returns an empty map, not nil")
	assert.Empty(t, ext)

	_, err = p.GetExtended(ctx, "dev", "class")
	assert.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, p.SetExtended(ctx, "dev", "class", "a"))
	require.NoError(t, p.SetExtended(ctx, "dev", "tenant42", "acme"))
	require.NoError(t, p.SetExtended(ctx, "dev", "empty", ""))
	require.NoError(t, p.SetExtended(ctx, "other", "class", "b"))

	v, err := p.GetExtended(ctx, "dev", "class")
	require.NoError(t, err)
	assert.Equal(t, "a", v)
	v, err = p.GetExtended(ctx, "dev", "empty")
	require.NoError(t, err, "an empty value is a value")
	assert.Empty(t, v)

	require.NoError(t, p.SetExtended(ctx, "dev", "class", "c"))
	ext, err = p.Extended(ctx, "dev")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"class": "c", "tenant42": "acme", "empty": ""}, ext)

	require.NoError(t, p.DeleteExtended(ctx, "dev", "class"))
	_, err = p.GetExtended(ctx, "dev", "class")
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.NoError(t, p.DeleteExtended(ctx, "dev", "class"), "deleting a missing extended property is not an error")
	assert.NoError(t, p.DeleteExtended(ctx, "nobody", "class"))

	v, err = p.GetExtended(ctx, "other", "class")
	require.NoError(t, err)
	assert.Equal(t, "b", v, "subjects are separate")

	long := strings.Repeat("é", abi.MaxExtValueLen/2)
	require.NoError(t, p.SetExtended(ctx, "dev", "long", long), "a value of exactly %d bytes is allowed", abi.MaxExtValueLen)
	v, err = p.GetExtended(ctx, "dev", "long")
	require.NoError(t, err)
	assert.Equal(t, long, v)
}

func testExtSeparate(t *testing.T, s store.Store) {
	ctx, p := t.Context(), s.Properties()
	require.NoError(t, p.SetExtended(ctx, "s", "x", "ext"))
	_, err := p.Get(ctx, "s", "x")
	assert.ErrorIs(t, err, store.ErrNotFound, "an extended property is not a property")
	all, err := p.List(ctx, "s")
	require.NoError(t, err)
	assert.Empty(t, all)

	_, err = p.Set(ctx, "s", "x", raw(`"prop"`), abi.RevAny)
	require.NoError(t, err)
	v, err := p.GetExtended(ctx, "s", "x")
	require.NoError(t, err)
	assert.Equal(t, "ext", v)

	// Deleting every property keeps the extended ones, and the reverse.
	_, err = p.Delete(ctx, "s", "x", abi.RevAny)
	require.NoError(t, err)
	v, err = p.GetExtended(ctx, "s", "x")
	require.NoError(t, err)
	assert.Equal(t, "ext", v)

	_, err = p.Set(ctx, "s", "y", raw(`1`), abi.RevAny)
	require.NoError(t, err)
	require.NoError(t, p.DeleteExtended(ctx, "s", "x"))
	got, err := p.Get(ctx, "s", "y")
	require.NoError(t, err)
	assert.JSONEq(t, `1`, string(got.Value))
}

func testExtInvalid(t *testing.T, s store.Store) {
	ctx, p := t.Context(), s.Properties()
	for _, name := range []string{"", "Class", "with-dash", "with_underscore", "dot.ted", "spa ce", "é", "a\x00", strings.Repeat("a", abi.MaxExtNameLen+1)} {
		t.Run(fmt.Sprintf("name %q", name), func(t *testing.T) {
			assert.ErrorIs(t, p.SetExtended(ctx, "s", name, "v"), store.ErrInvalid, "set")
			_, err := p.GetExtended(ctx, "s", name)
			assert.ErrorIs(t, err, store.ErrInvalid, "get")
			assert.ErrorIs(t, p.DeleteExtended(ctx, "s", name), store.ErrInvalid, "delete")
		})
	}
	for _, tc := range []struct {
		name, value string
		err         error
	}{
		{"NUL", "a\x00b", store.ErrInvalid},
		{"invalid UTF-8", "a\xffb", store.ErrInvalid},
		{"too long", strings.Repeat("v", abi.MaxExtValueLen+1), store.ErrTooLarge},
	} {
		t.Run("value "+tc.name, func(t *testing.T) {
			assert.ErrorIs(t, p.SetExtended(ctx, "s", "x", tc.value), tc.err)
		})
	}
	ext, err := p.Extended(ctx, "s")
	require.NoError(t, err)
	assert.Empty(t, ext, "invalid writes must not store anything")
}

// --- Naughty strings ---

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

// --- Concurrency ---

func testHammer(t *testing.T, s store.Store) {
	const (
		workers = 8
		each    = 500
	)
	ctx, p := t.Context(), s.Properties()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []error
		retries  int
	)
	for range workers {
		wg.Go(func() {
			for range each {
				n, err := increment(ctx, p)
				mu.Lock()
				retries += n
				if err != nil {
					failures = append(failures, err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	require.Empty(t, failures)
	got, err := p.Get(ctx, "counter", "n")
	require.NoError(t, err)
	assert.JSONEq(t, strconv.Itoa(workers*each), string(got.Value), "lost updates (%d retries)", retries)
	t.Logf("%d increments, %d conflicts retried", workers*each, retries)
}

// increment adds 1 to the counter with a get → compare-and-set loop, the way
// a guest does an atomic update; it returns the number of conflicts retried.
func increment(ctx context.Context, p store.Properties) (int, error) {
	for retries := 0; ; retries++ {
		n, expect := 0, abi.RevAbsent
		cur, err := p.Get(ctx, "counter", "n")
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return retries, err
		default:
			if err := json.Unmarshal(cur.Value, &n); err != nil {
				return retries, fmt.Errorf("counter value %q: %w", cur.Value, err)
			}
			expect = int64(cur.Revision)
		}
		_, err = p.Set(ctx, "counter", "n", raw(strconv.Itoa(n+1)), expect)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return retries, err
	}
}

// --- Lifecycle ---

func testCanceled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	kv, p := s.KV(), s.Properties()

	_, err := kv.Put(ctx, "fn", "k", []byte("v"))
	assert.ErrorIs(t, err, context.Canceled, "put")
	_, err = p.Set(ctx, "s", "p", raw(`1`), abi.RevAny)
	assert.ErrorIs(t, err, context.Canceled, "set")
	assert.ErrorIs(t, p.SetExtended(ctx, "s", "x", "v"), context.Canceled, "set extended")

	live := t.Context()
	_, err = kv.Get(live, "fn", "k")
	assert.ErrorIs(t, err, store.ErrNotFound, "a canceled put writes nothing")
	_, err = p.Get(live, "s", "p")
	assert.ErrorIs(t, err, store.ErrNotFound, "a canceled set writes nothing")
	_, err = p.GetExtended(live, "s", "x")
	assert.ErrorIs(t, err, store.ErrNotFound, "a canceled set writes nothing")
}

func testClosed(t *testing.T, s store.Store) {
	ctx, kv, p := t.Context(), s.KV(), s.Properties()
	_, err := kv.Put(ctx, "fn", "k", []byte("v"))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	_, err = kv.Get(ctx, "fn", "k")
	assert.ErrorIs(t, err, store.ErrUnavailable, "get after close")
	_, err = kv.Put(ctx, "fn", "k", []byte("v"))
	assert.ErrorIs(t, err, store.ErrUnavailable, "put after close")
	_, err = p.Set(ctx, "s", "p", raw(`1`), abi.RevAny)
	assert.ErrorIs(t, err, store.ErrUnavailable, "set after close")
	_, err = p.Get(ctx, "s", "p")
	assert.ErrorIs(t, err, store.ErrUnavailable, "get property after close")
}
