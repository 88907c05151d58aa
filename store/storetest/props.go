package storetest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
)

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
