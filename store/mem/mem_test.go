package mem_test

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
	"github.com/wasmfaas/wasmfaas/store/mem"
	"github.com/wasmfaas/wasmfaas/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return mem.New() })
}

func TestNotifier(t *testing.T) {
	storetest.RunNotifier(t, func(t *testing.T, n store.Notifier) store.Store {
		return mem.New(mem.WithNotifier(n))
	})
}

func TestChanges(t *testing.T) {
	ctx := t.Context()
	s := mem.New()
	p := s.Properties()
	c1, err := p.Set(ctx, "s", "a", json.RawMessage(`1`), abi.RevAny)
	require.NoError(t, err)
	c2, err := p.Delete(ctx, "s", "a", abi.RevAny)
	require.NoError(t, err)
	_, err = p.Set(ctx, "s", "a", json.RawMessage(`2`), abi.RevAbsent+5)
	require.ErrorIs(t, err, store.ErrConflict)

	got := s.Changes()
	assert.Equal(t, []store.Change{c1, c2}, got)
	got[0].New[0] = '9'
	assert.Equal(t, "1", string(s.Changes()[0].New), "Changes returns copies")
}

func TestDump(t *testing.T) {
	ctx := t.Context()
	s := mem.New()
	_, err := s.KV().Put(ctx, "fn", "k", []byte("v"))
	require.NoError(t, err)
	_, err = s.Properties().Set(ctx, "s", "p", json.RawMessage(`true`), abi.RevAny)
	require.NoError(t, err)
	require.NoError(t, s.Properties().SetExtended(ctx, "s", "class", "a"))
	require.NoError(t, s.Properties().SetExtended(ctx, "t", "class", "b"))

	assert.Equal(t, mem.Snapshot{
		KV:         map[string]map[string][]byte{"fn": {"k": []byte("v")}},
		Properties: map[string]map[string]json.RawMessage{"s": {"p": json.RawMessage(`true`)}},
		Extended:   map[string]map[string]string{"s": {"class": "a"}, "t": {"class": "b"}},
	}, s.Dump())
}

// TestNotifierReentrant checks that a notifier may write to the store (as a
// synchronous rule engine does) and that the nested change is delivered after
// the outer one, before the outer write returns.
func TestNotifierReentrant(t *testing.T) {
	var (
		s   *mem.Store
		got []string
	)
	s = mem.New(mem.WithNotifier(func(ctx context.Context, c store.Change) {
		got = append(got, c.Subject+"/"+c.Name+"="+string(c.New))
		if c.Name == "temp" {
			_, err := s.Properties().Set(ctx, c.Subject, "status", json.RawMessage(`"seen"`), abi.RevAny)
			assert.NoError(t, err)
		}
	}))
	_, err := s.Properties().Set(t.Context(), "dev", "temp", json.RawMessage(`20`), abi.RevAny)
	require.NoError(t, err)
	assert.Equal(t, []string{"dev/temp=20", `dev/status="seen"`}, got)
}

// TestNotifierPanic checks that a panicking notifier does not stop later
// deliveries.
func TestNotifierPanic(t *testing.T) {
	var got []string
	s := mem.New(mem.WithNotifier(func(_ context.Context, c store.Change) {
		got = append(got, string(c.New))
		if string(c.New) == `"boom"` {
			panic("boom")
		}
	}))
	p := s.Properties()
	assert.Panics(t, func() {
		_, _ = p.Set(t.Context(), "s", "p", json.RawMessage(`"boom"`), abi.RevAny)
	})
	_, err := p.Set(t.Context(), "s", "p", json.RawMessage(`"fine"`), abi.RevAny)
	require.NoError(t, err)
	assert.Equal(t, []string{`"boom"`, `"fine"`}, got)
}

// TestNotifierConcurrentOrder checks the guarantee mem gives beyond the
// shared suite: with many writers, notifications arrive in commit order, so
// each change's old value is the previous change's new value.
func TestNotifierConcurrentOrder(t *testing.T) {
	var (
		mu  sync.Mutex
		got []store.Change
	)
	s := mem.New(mem.WithNotifier(func(_ context.Context, c store.Change) {
		mu.Lock()
		got = append(got, c)
		mu.Unlock()
	}))
	p := s.Properties()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				_, err := p.Set(t.Context(), "s", "p", json.RawMessage(strconv.Itoa(w*1000+i)), abi.RevAny)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1600)
	for i := 1; i < len(got); i++ {
		assert.Greater(t, got[i].Revision, got[i-1].Revision, "change %d", i)
		assert.Equal(t, string(got[i-1].New), string(got[i].Old), "change %d", i)
	}
}

// TestNotifierPanicQueued checks that changes queued behind a change whose
// notification panics are delivered once, in order, by the next writer.
func TestNotifierPanicQueued(t *testing.T) {
	var (
		s   *mem.Store
		got []string
	)
	s = mem.New(mem.WithNotifier(func(ctx context.Context, c store.Change) {
		got = append(got, string(c.New))
		switch string(c.New) {
		case `"outer"`:
			// Queued behind "outer", delivered by this drain after we return.
			_, err := s.Properties().Set(ctx, "s", "q", json.RawMessage(`"queued1"`), abi.RevAny)
			assert.NoError(t, err)
			_, err = s.Properties().Set(ctx, "s", "q", json.RawMessage(`"boom"`), abi.RevAny)
			assert.NoError(t, err)
			_, err = s.Properties().Set(ctx, "s", "q", json.RawMessage(`"queued2"`), abi.RevAny)
			assert.NoError(t, err)
		case `"boom"`:
			panic("boom")
		}
	}))
	p := s.Properties()
	assert.Panics(t, func() {
		_, _ = p.Set(t.Context(), "s", "p", json.RawMessage(`"outer"`), abi.RevAny)
	})
	assert.Equal(t, []string{`"outer"`, `"queued1"`, `"boom"`}, got)
	_, err := p.Set(t.Context(), "s", "p", json.RawMessage(`"next"`), abi.RevAny)
	require.NoError(t, err)
	assert.Equal(t, []string{`"outer"`, `"queued1"`, `"boom"`, `"queued2"`, `"next"`}, got)
}
