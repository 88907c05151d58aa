package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
)

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
