package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
)

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
