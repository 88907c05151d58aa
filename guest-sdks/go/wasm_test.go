package wasmfaas

import (
	"errors"
	"fmt"
)

// wasmModule is what the tests need to know about a compiled module: its
// imports, exports and initial memory, read by a minimal decoder of the
// binary format so the SDK keeps no dependencies.
type wasmModule struct {
	imports   []string // "module.name"
	exports   []string
	memoryMin uint64 // pages, from the memory section (0 if imported or absent)
}

type wasmReader struct {
	b   []byte
	err error
}

func (r *wasmReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *wasmReader) u32() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		c := r.byte()
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail("LEB128 too long")
	return 0
}

func (r *wasmReader) bytes(n uint64) []byte {
	if r.err != nil || uint64(len(r.b)) < n {
		r.fail("unexpected end")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *wasmReader) name() string { return string(r.bytes(r.u32())) }

func (r *wasmReader) fail(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
}

func (r *wasmReader) limits() uint64 {
	flags := r.byte()
	min := r.u32()
	if flags&1 != 0 {
		r.u32()
	}
	return min
}

func parseWasm(b []byte) (*wasmModule, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, errors.New("not a wasm module")
	}
	m := &wasmModule{}
	r := &wasmReader{b: b[8:]}
	for len(r.b) > 0 && r.err == nil {
		id := r.byte()
		sec := &wasmReader{b: r.bytes(r.u32())}
		switch id {
		case 2: // import
			for range sec.u32() {
				mod, name := sec.name(), sec.name()
				m.imports = append(m.imports, mod+"."+name)
				switch kind := sec.byte(); kind {
				case 0: // func
					sec.u32()
				case 1: // table
					sec.byte()
					sec.limits()
				case 2: // memory
					sec.limits()
				case 3: // global
					sec.byte()
					sec.byte()
				default:
					sec.fail(fmt.Sprintf("unknown import kind %d", kind))
				}
			}
		case 5: // memory
			if sec.u32() > 0 {
				m.memoryMin = sec.limits()
			}
		case 7: // export
			for range sec.u32() {
				m.exports = append(m.exports, sec.name())
				sec.byte()
				sec.u32()
			}
		}
		if sec.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, sec.err)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}
