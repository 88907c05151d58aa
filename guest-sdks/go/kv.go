package wasmfaas

import "unsafe"

// revSlot receives the revision that kv_get and props_get write. It is
// shared for the same reason as scratch: calls never overlap.
var revSlot uint64

// KV is the function's key/value store, one namespace per function. Keys are
// 1-1024 bytes of UTF-8 without NUL; values are up to 1 MiB of any bytes.
// Every write returns the entry's new revision.
type KV struct{}

// Get returns the value of key and its revision, or an error wrapping
// ErrNotFound when the key does not exist.
func (KV) Get(key string) ([]byte, uint64, error) {
	b, n := fill(func(buf []byte) int64 {
		return int64(kvGet(sptr(key), slen(key), bptr(buf), blen(buf), unsafe.Pointer(&revSlot)))
	})
	if err := checkf(n, "kv get %q", key); err != nil {
		return nil, 0, err
	}
	return append([]byte{}, b...), revSlot, nil
}

// GetInto is Get reading into buf's capacity instead of a new slice: with a
// buf large enough for the value it does not allocate, and the value is
// copied once, from the host straight into buf. It returns buf[:len] (or a
// new slice when buf was too small, which the caller keeps for the next
// call), the revision, or an error wrapping ErrNotFound.
func (KV) GetInto(key string, buf []byte) ([]byte, uint64, error) {
	buf = buf[:cap(buf)]
	for {
		n := int64(kvGet(sptr(key), slen(key), bptr(buf), blen(buf), unsafe.Pointer(&revSlot)))
		if err := checkf(n, "kv get %q", key); err != nil {
			return buf[:0], 0, err
		}
		if n <= int64(len(buf)) {
			return buf[:n], revSlot, nil
		}
		buf = make([]byte, n)
	}
}

// Set stores val under key and returns its new revision.
func (KV) Set(key string, val []byte) (uint64, error) {
	rev := kvSet(sptr(key), slen(key), bptr(val), blen(val))
	if err := checkf(rev, "kv set %q", key); err != nil {
		return 0, err
	}
	return uint64(rev), nil
}

// Delete deletes key; deleting a missing key is not an error.
func (KV) Delete(key string) error {
	return checkf(int64(kvDelete(sptr(key), slen(key))), "kv delete %q", key)
}

// Keys returns the keys that start with prefix ("" for all), sorted.
func (KV) Keys(prefix string) ([]string, error) {
	b, n := fill(func(buf []byte) int64 {
		return int64(kvKeys(sptr(prefix), slen(prefix), bptr(buf), blen(buf)))
	})
	if err := checkf(n, "kv keys %q", prefix); err != nil {
		return nil, err
	}
	return splitList(b), nil
}
