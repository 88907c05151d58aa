package mem_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/store"
	"github.com/wasmfaas/wasmfaas/store/mem"
	"github.com/wasmfaas/wasmfaas/store/storetest"
)

func TestCallLog(t *testing.T) {
	storetest.RunCallLog(t, func(t *testing.T, r store.Retention) store.CallLog {
		l, err := mem.NewCallLog(mem.CallLogConfig{Retention: r})
		require.NoError(t, err)
		return l
	})
}

// TestCallLogAgeClock checks retention by age with an injected clock.
func TestCallLogAgeClock(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l, err := mem.NewCallLog(mem.CallLogConfig{
		Retention: store.Retention{MaxAge: time.Hour},
		Now:       func() time.Time { return now },
	})
	require.NoError(t, err)
	call := func(id string) store.Call {
		return store.Call{ID: id, Function: "fn", Status: "ok", Start: now, Record: json.RawMessage(`{}`)}
	}
	require.NoError(t, l.Append(ctx, call("a")))
	now = now.Add(30 * time.Minute)
	require.NoError(t, l.Append(ctx, call("b")))
	now = now.Add(30 * time.Minute)
	_, err = l.Get(ctx, "a")
	assert.NoError(t, err, "exactly MaxAge old is kept")
	now = now.Add(time.Nanosecond)
	_, err = l.Get(ctx, "a")
	assert.ErrorIs(t, err, store.ErrNotFound)
	got, err := l.List(ctx, store.CallFilter{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "b", got[0].ID)

	require.NoError(t, l.Append(ctx, call("a")), "an expired ID may be appended again")
	now = now.Add(31 * time.Minute)
	got, err = l.List(ctx, store.CallFilter{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "a", got[0].ID)
}

func TestCallLogConfig(t *testing.T) {
	_, err := mem.NewCallLog(mem.CallLogConfig{Retention: store.Retention{MaxCount: -1}})
	assert.ErrorIs(t, err, store.ErrInvalid)
	_, err = mem.NewCallLog(mem.CallLogConfig{Retention: store.Retention{MaxAge: -time.Second}})
	assert.ErrorIs(t, err, store.ErrInvalid)
}
