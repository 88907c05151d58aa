package storetest

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
)

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
