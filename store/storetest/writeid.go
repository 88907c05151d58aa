package storetest

import (
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
)

// testWriteIDOnce: a write id applied twice changes the key once, even
// when another write to the same key came in between, and whatever the
// repeat expects; the same id on another key is another write.
func testWriteIDOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	kv, p := s.KV(), s.Properties()
	w1 := store.WithWriteID(ctx, "w1")

	t.Run("KV put", func(t *testing.T) {
		_, err := kv.Put(w1, "ns", "k", []byte("a"))
		require.NoError(t, err)
		between, err := kv.Put(ctx, "ns", "k", []byte("b"))
		require.NoError(t, err)
		rev, err := kv.Put(w1, "ns", "k", []byte("a"))
		require.NoError(t, err)
		assert.Equal(t, between, rev, "a repeat answers the key's current revision")
		e, err := kv.Get(ctx, "ns", "k")
		require.NoError(t, err)
		assert.Equal(t, "b", string(e.Value), "the repeat was not applied")

		_, err = kv.Put(w1, "ns", "other", []byte("a"))
		require.NoError(t, err)
		e, err = kv.Get(ctx, "ns", "other")
		require.NoError(t, err)
		assert.Equal(t, "a", string(e.Value), "the same id on another key is another write")

		keys, err := kv.Keys(ctx, "ns", "")
		require.NoError(t, err)
		assert.Equal(t, []string{"k", "other"}, keys, "whatever remembers write ids is not a key")
	})
	t.Run("KV delete", func(t *testing.T) {
		d := store.WithWriteID(ctx, "d1")
		_, err := kv.Put(ctx, "ns", "gone", []byte("a"))
		require.NoError(t, err)
		require.NoError(t, kv.Delete(d, "ns", "gone"))
		_, err = kv.Put(ctx, "ns", "gone", []byte("back"))
		require.NoError(t, err)
		require.NoError(t, kv.Delete(d, "ns", "gone"))
		e, err := kv.Get(ctx, "ns", "gone")
		require.NoError(t, err, "the repeated delete was not applied")
		assert.Equal(t, "back", string(e.Value))
	})
	t.Run("property set", func(t *testing.T) {
		_, err := p.Set(w1, "s", "count", raw("1"), abi.RevAbsent)
		require.NoError(t, err)
		cur, err := p.Get(ctx, "s", "count")
		require.NoError(t, err)
		between, err := p.Set(ctx, "s", "count", raw("2"), int64(cur.Revision))
		require.NoError(t, err)
		// The repeat expects what the first write expected (absent): it
		// would be a conflict, but the first write was a success.
		c, err := p.Set(w1, "s", "count", raw("1"), abi.RevAbsent)
		require.NoError(t, err)
		assert.Equal(t, between.Revision, c.Revision, "a repeat answers the current revision")
		assertJSON(t, raw("2"), c.New, "a repeat answers the current value")
		assert.Empty(t, c.Old)
		got, err := p.Get(ctx, "s", "count")
		require.NoError(t, err)
		assert.JSONEq(t, "2", string(got.Value), "the repeat was not applied")
		assert.Equal(t, between.Revision, got.Revision)
	})
	t.Run("property delete", func(t *testing.T) {
		d := store.WithWriteID(ctx, "d1")
		_, err := p.Set(ctx, "s", "gone", raw("1"), abi.RevAny)
		require.NoError(t, err)
		_, err = p.Delete(d, "s", "gone", abi.RevAny)
		require.NoError(t, err)
		_, err = p.Delete(d, "s", "gone", abi.RevAny)
		require.NoError(t, err, "a repeat of a delete is a success, not not found")
		_, err = p.Set(ctx, "s", "gone", raw("2"), abi.RevAbsent)
		require.NoError(t, err)
		_, err = p.Delete(d, "s", "gone", abi.RevAny)
		require.NoError(t, err)
		got, err := p.Get(ctx, "s", "gone")
		require.NoError(t, err, "the repeated delete was not applied")
		assert.JSONEq(t, "2", string(got.Value))
	})
	t.Run("extended", func(t *testing.T) {
		e := store.WithWriteID(ctx, "e1")
		require.NoError(t, p.SetExtended(e, "s", "ext", "a"))
		require.NoError(t, p.SetExtended(ctx, "s", "ext", "b"))
		require.NoError(t, p.SetExtended(e, "s", "ext", "a"))
		v, err := p.GetExtended(ctx, "s", "ext")
		require.NoError(t, err)
		assert.Equal(t, "b", v, "the repeat was not applied")
	})
}

// testWriteIDCounter is the crash scenario at the store's level: every
// increment (a get → compare-and-set loop, as a guest makes it) is made
// twice with the same write id, the second time as a call run again after
// a crash would, concurrently with other increments; the count is the
// number of distinct increments.
func testWriteIDCounter(t *testing.T, s store.Store) {
	const (
		workers = 4
		each    = 50
	)
	ctx, p := t.Context(), s.Properties()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []error
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				wctx := store.WithWriteID(ctx, "inc-"+strconv.Itoa(w)+"-"+strconv.Itoa(i))
				for range 2 {
					if _, err := increment(wctx, p); err != nil {
						mu.Lock()
						failures = append(failures, err)
						mu.Unlock()
						return
					}
				}
			}
		})
	}
	wg.Wait()
	require.Empty(t, failures)
	got, err := p.Get(ctx, "counter", "n")
	require.NoError(t, err)
	assert.JSONEq(t, strconv.Itoa(workers*each), string(got.Value), "every increment applied exactly once")
}
