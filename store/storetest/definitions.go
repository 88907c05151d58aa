package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/store"
)

// RunDefinitions is the shared suite for store.Definitions backends.
func RunDefinitions(t *testing.T, newDefs func(t *testing.T) store.Definitions) {
	t.Run("Watch", func(t *testing.T) {
		d, ctx := newDefs(t), t.Context()
		before, err := d.Put(ctx, "function", "old", json.RawMessage(`0`), -1)
		require.NoError(t, err)
		got := make(chan store.DefChange, 16)
		require.NoError(t, d.Watch(ctx, func(c store.DefChange) { got <- c }))
		a, err := d.Put(ctx, "function", "f", json.RawMessage(`{"v":1}`), -1)
		require.NoError(t, err)
		b, err := d.Put(ctx, "trigger", "t", json.RawMessage(`{"v":2}`), -1)
		require.NoError(t, err)
		require.NoError(t, d.Delete(ctx, "function", "f"))
		next := func() store.DefChange {
			t.Helper()
			select {
			case c := <-got:
				return c
			case <-time.After(10 * time.Second):
				t.Fatal("no change from the watch after 10s")
				return store.DefChange{}
			}
		}
		c1, c2, c3 := next(), next(), next()
		assert.Equal(t, a, c1.Doc, "the put, as Put returned it (the value before the watch is not delivered)")
		assert.False(t, c1.Deleted)
		assert.Equal(t, b.Revision, c2.Doc.Revision)
		assert.Equal(t, "trigger", c2.Doc.Kind)
		assert.JSONEq(t, `{"v":2}`, string(c2.Doc.Data))
		assert.True(t, c3.Deleted)
		assert.Equal(t, "function", c3.Doc.Kind)
		assert.Equal(t, "f", c3.Doc.Name)
		assert.Greater(t, c3.Doc.Revision, b.Revision, "a delete has a revision after the changes before it")
		assert.Greater(t, a.Revision, before.Revision)
	})
	t.Run("PutGetHistory", func(t *testing.T) {
		d, ctx := newDefs(t), t.Context()
		a, err := d.Put(ctx, "function", "thermo", json.RawMessage(`{"v":1}`), -1)
		require.NoError(t, err)
		b, err := d.Put(ctx, "function", "thermo", json.RawMessage(`{"v":2}`), int64(a.Revision))
		require.NoError(t, err)
		assert.Greater(t, b.Revision, a.Revision)
		got, err := d.Get(ctx, "function", "thermo")
		require.NoError(t, err)
		assert.JSONEq(t, `{"v":2}`, string(got.Data))
		assert.Equal(t, "function", got.Kind)
		assert.False(t, got.Updated.IsZero())
		hist, err := d.History(ctx, "function", "thermo")
		require.NoError(t, err)
		require.Len(t, hist, 2)
		assert.JSONEq(t, `{"v":1}`, string(hist[0].Data))
		assert.Equal(t, a.Revision, hist[0].Revision)
	})
	t.Run("CompareAndSet", func(t *testing.T) {
		d, ctx := newDefs(t), t.Context()
		a, err := d.Put(ctx, "trigger", "t1", json.RawMessage(`1`), 0)
		require.NoError(t, err)
		_, err = d.Put(ctx, "trigger", "t1", json.RawMessage(`2`), 0)
		require.ErrorIs(t, err, store.ErrConflict, "must not exist")
		_, err = d.Put(ctx, "trigger", "t1", json.RawMessage(`2`), int64(a.Revision)+100)
		require.ErrorIs(t, err, store.ErrConflict, "stale revision")
	})
	t.Run("ListKindsAndDelete", func(t *testing.T) {
		d, ctx := newDefs(t), t.Context()
		for _, n := range []string{"b", "a", "c"} {
			_, err := d.Put(ctx, "function", n, json.RawMessage(`{}`), -1)
			require.NoError(t, err)
		}
		_, err := d.Put(ctx, "trigger", "a", json.RawMessage(`{}`), -1)
		require.NoError(t, err)
		list, err := d.List(ctx, "function")
		require.NoError(t, err)
		names := []string{}
		for _, doc := range list {
			names = append(names, doc.Name)
		}
		assert.Equal(t, []string{"a", "b", "c"}, names)
		require.NoError(t, d.Delete(ctx, "function", "b"))
		_, err = d.Get(ctx, "function", "b")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.ErrorIs(t, d.Delete(ctx, "function", "b"), store.ErrNotFound)
		_, err = d.Get(ctx, "trigger", "a")
		require.NoError(t, err, "kinds are separate")
		list, err = d.List(ctx, "function")
		require.NoError(t, err)
		assert.Len(t, list, 2)
	})
	t.Run("HistoryKept", func(t *testing.T) {
		d, ctx := newDefs(t), t.Context()
		for i := range store.MinDefinitionHistory + 4 {
			_, err := d.Put(ctx, "function", "f", json.RawMessage(fmt.Sprint(i)), -1)
			require.NoError(t, err)
		}
		hist, err := d.History(ctx, "function", "f")
		require.NoError(t, err)
		assert.GreaterOrEqual(t, len(hist), store.MinDefinitionHistory)
		assert.JSONEq(t, fmt.Sprint(store.MinDefinitionHistory+3), string(hist[len(hist)-1].Data))
	})
	t.Run("InvalidInput", func(t *testing.T) {
		d, ctx := newDefs(t), t.Context()
		for _, name := range []string{"", "../etc", "a/b", "nul\x00", "sp ace", string(make([]byte, 129))} {
			_, err := d.Put(ctx, "function", name, json.RawMessage(`{}`), -1)
			assert.ErrorIs(t, err, store.ErrInvalid, "name %q", name)
		}
		_, err := d.Put(ctx, "function", "ok", json.RawMessage(`{not json`), -1)
		assert.ErrorIs(t, err, store.ErrInvalid)
		_, err = d.Get(ctx, "function", "ok")
		assert.ErrorIs(t, err, store.ErrNotFound, "nothing written")
	})
	t.Run("ConcurrentPuts", func(t *testing.T) {
		d, ctx := newDefs(t), t.Context()
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := d.Put(ctx, "function", fmt.Sprintf("f%d", i), json.RawMessage(`{}`), -1)
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		list, err := d.List(ctx, "function")
		require.NoError(t, err)
		assert.Len(t, list, 8)
	})
}
