package wasmfaas

import (
	"bytes"
	"unsafe"
)

// initialBufferSize is the size of the shared scratch buffer before any result
// needed more: large enough for attributes, config values and small
// properties, so most calls need a single host call.
const initialBufferSize = 1024

// scratch is the buffer every variable-length host call copies into (the
// guest allocates, abi/README.md §3). One buffer is enough: calls on an
// instance never overlap, a host call never yields to another goroutine, and
// every caller copies what it needs out before the next host call. It keeps
// the largest size it ever grew to, so a handler that reads a big value on
// every call does not reallocate on every call.
var scratch = make([]byte, initialBufferSize)

// fill runs call with scratch until the data fits, growing scratch to the
// length the host reported and asking again, because data such as KV values
// can change size between two calls. It returns a view of scratch (valid
// until the next host call) or the negative status call returned.
func fill(call func(buf []byte) int64) ([]byte, int64) {
	return fillInto(&scratch, call)
}

// fillInto is fill with an explicit buffer, for tests.
func fillInto(buf *[]byte, call func(buf []byte) int64) ([]byte, int64) {
	for {
		n := call(*buf)
		if n < 0 {
			return nil, n
		}
		if n <= int64(len(*buf)) {
			return (*buf)[:n], n
		}
		*buf = make([]byte, n)
	}
}

// bptr returns the address of b's first byte as the host sees it; nil (0)
// for an empty slice, which the ABI accepts as (0, 0).
func bptr(b []byte) unsafe.Pointer {
	if cap(b) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.SliceData(b))
}

// sptr is bptr for a string. The host only reads input strings, so passing
// the string's immutable bytes without a copy is safe.
func sptr(s string) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.StringData(s))
}

// blen and slen convert lengths to the ABI's unsigned i32.
func blen(b []byte) uint32 { return uint32(len(b)) }
func slen(s string) uint32 { return uint32(len(s)) }

// splitList decodes a run of NUL-terminated strings (event_extensions,
// kv_keys). A trailing string without its NUL is kept rather than lost, in
// case a host ever omits the last terminator.
func splitList(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			out = append(out, string(b))
			break
		}
		out = append(out, string(b[:i]))
		b = b[i+1:]
	}
	return out
}

// appendAttr appends one name/value pair of an emit_event attrs block.
func appendAttr(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, 0)
	b = append(b, value...)
	return append(b, 0)
}
