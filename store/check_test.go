package store_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
)

func TestCheckMessages(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		is   error
		msg  string
	}{
		{"empty key", store.CheckKey("put", "fn", ""), store.ErrInvalid, `put key "": invalid argument: empty key`},
		{"NUL key", store.CheckKey("get", "fn", "a\x00"), store.ErrInvalid, `get key "a\x00": invalid argument: key contains NUL`},
		{"long key", store.CheckKey("put", "fn", strings.Repeat("k", 2000)), store.ErrTooLarge,
			`put key "` + strings.Repeat("k", 64) + `"… (2000 bytes): too large: key is 2000 bytes, limit 1024`},
		{"empty namespace", store.CheckKey("put", "", "k"), store.ErrInvalid, `put namespace "": invalid argument: namespace must be non-empty UTF-8 without NUL`},
		{"big value", store.CheckValue("put", "k", make([]byte, abi.MaxValueLen+1)), store.ErrTooLarge, `put key "k": too large: value is 1048577 bytes, limit 1048576`},
		{"bad subject", store.CheckProperty("set", "a\xff", "p"), store.ErrInvalid, `set subject "a\xff": invalid argument: subject is not valid UTF-8`},
		{"bad name", store.CheckProperty("set", "s", ""), store.ErrInvalid, `set property "" of subject "s": invalid argument: empty property name`},
		{"bad JSON", store.CheckPropertyValue("set", "s", "p", []byte("{")), store.ErrInvalid, `set property "p" of subject "s": invalid argument: property value is not valid JSON`},
		{"bad ext name", store.CheckExtended("set", "s", "A"), store.ErrInvalid, `set extended property of subject "s": invalid argument: extension name "A" must be 1-20 characters of [a-z0-9]`},
		{"bad ext value", store.CheckExtendedValue("set", "s", "x", "\x00"), store.ErrInvalid, `set extended property "x" of subject "s": invalid argument: extension value must be UTF-8 without NUL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, tc.err, tc.is)
			assert.NotErrorIs(t, tc.err, abi.ErrInvalid, "store errors do not leak abi sentinels")
			assert.EqualError(t, tc.err, tc.msg)
		})
	}
}

func TestCheckValid(t *testing.T) {
	assert.NoError(t, store.CheckKey("put", "fn", "user/42|x"))
	assert.NoError(t, store.CheckValue("put", "k", nil))
	assert.NoError(t, store.CheckValue("put", "k", make([]byte, abi.MaxValueLen)))
	assert.NoError(t, store.CheckProperty("set", "dev/1 ü", "temp c"))
	assert.NoError(t, store.CheckExtended("set", "s", "class9"))
	assert.NoError(t, store.CheckExtendedValue("set", "s", "x", ""))
}

func TestCheckJSON(t *testing.T) {
	for _, v := range []string{`1`, `"s"`, `null`, `true`, ` {"a": [1, 2.5e3]} `, `"\u0000"`} {
		assert.NoError(t, store.CheckJSON([]byte(v)), v)
	}
	for _, v := range []string{``, ` `, `{`, `x`, `1 2`, `NaN`, "\"\xff\"", `{"a":1,}`} {
		assert.ErrorIs(t, store.CheckJSON([]byte(v)), store.ErrInvalid, v)
	}
	big := []byte(`"` + strings.Repeat("a", abi.MaxPropertyLen) + `"`)
	assert.ErrorIs(t, store.CheckJSON(big), store.ErrTooLarge)
}

func TestCheckExpect(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cur    uint64
		exists bool
		expect int64
		is     error
		msg    string
	}{
		{"any absent", 0, false, abi.RevAny, nil, ""},
		{"any present", 5, true, abi.RevAny, nil, ""},
		{"absent absent", 0, false, abi.RevAbsent, nil, ""},
		{"absent present", 5, true, abi.RevAbsent, store.ErrConflict, "revision conflict: expected absent, current revision 5"},
		{"rev absent", 0, false, 3, store.ErrConflict, "revision conflict: expected revision 3, current absent"},
		{"rev stale", 5, true, 3, store.ErrConflict, "revision conflict: expected revision 3, current revision 5"},
		{"rev current", 5, true, 5, nil, ""},
		{"below any", 5, true, -2, store.ErrInvalid, "invalid argument: expected revision -2 (want -1, 0 or a positive revision)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := store.CheckExpect(tc.cur, tc.exists, tc.expect)
			if tc.is == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.is)
			assert.EqualError(t, err, tc.msg)
		})
	}
}

func TestWrap(t *testing.T) {
	err := store.WrapProperty("set", "s", "p", store.CheckExpect(5, true, 3))
	assert.ErrorIs(t, err, store.ErrConflict)
	assert.EqualError(t, err, `set property "p" of subject "s": revision conflict: expected revision 3, current revision 5`)
	assert.EqualError(t, store.WrapKey("get", "x", store.ErrNotFound), `get key "x": not found`)
}
