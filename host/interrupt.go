package host

import (
	"errors"
	"fmt"
)

// interruptExport is the mutable i32 global that instrument adds to every
// module: the watchdog sets it to 1, and the check at each function entry and
// loop header then executes unreachable. See docs/RATIONALE.md, "Why our own
// interrupt checks instead of WithCloseOnContextDone?".
const interruptExport = "__wasmfaas_interrupt"

// errInstrument wraps every reason instrument refuses a module.
var errInstrument = errors.New("instrument module")

// instrument returns wasm with an exported mutable global interruptExport
// and, at the start of every function body and after every loop header, the
// check `global.get $interrupt; if; unreachable; end`. It decodes every
// instruction to find loops, so a module with an opcode it does not know is
// refused rather than instrumented wrongly.
func instrument(wasm []byte) ([]byte, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, fmt.Errorf("%w: bad magic number", errInstrument)
	}
	type section struct {
		id   byte
		body []byte
	}
	var secs []section
	r := &reader{b: wasm, off: 8}
	importedGlobals, definedGlobals := uint32(0), uint32(0)
	for r.off < len(r.b) {
		id := r.byte()
		size := r.u32()
		body := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("%w: section %d: %v", errInstrument, id, r.err)
		}
		secs = append(secs, section{id, body})
		switch id {
		case 2:
			n, err := countImportedGlobals(body)
			if err != nil {
				return nil, fmt.Errorf("%w: import section: %v", errInstrument, err)
			}
			importedGlobals = n
		case 6:
			sr := &reader{b: body}
			definedGlobals = sr.u32()
		}
	}
	gidx := importedGlobals + definedGlobals
	check := append([]byte{0x23}, appendU32(nil, gidx)...)
	check = append(check, 0x04, 0x40, 0x00, 0x0b)

	newGlobal := []byte{0x7f, 0x01, 0x41, 0x00, 0x0b} // mut i32 = 0
	newExport := appendU32(nil, uint32(len(interruptExport)))
	newExport = append(newExport, interruptExport...)
	newExport = append(newExport, 0x03)
	newExport = appendU32(newExport, gidx)

	rank := map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}
	hasGlobal, hasExport := false, false
	for i := range secs {
		var err error
		switch secs[i].id {
		case 6:
			hasGlobal = true
			secs[i].body, err = appendToVec(secs[i].body, newGlobal)
		case 7:
			hasExport = true
			secs[i].body, err = appendToVec(secs[i].body, newExport)
		case 10:
			secs[i].body, err = instrumentCode(secs[i].body, check)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errInstrument, err)
		}
	}
	insert := func(id byte, body []byte) {
		at := len(secs)
		for i, s := range secs {
			if s.id != 0 && rank[s.id] > rank[id] {
				at = i
				break
			}
		}
		secs = append(secs[:at], append([]section{{id, body}}, secs[at:]...)...)
	}
	if !hasGlobal {
		insert(6, append([]byte{1}, newGlobal...))
	}
	if !hasExport {
		insert(7, append([]byte{1}, newExport...))
	}
	out := make([]byte, 0, len(wasm)+len(wasm)/16+64)
	out = append(out, wasm[:8]...)
	for _, s := range secs {
		out = append(out, s.id)
		out = appendU32(out, uint32(len(s.body)))
		out = append(out, s.body...)
	}
	return out, nil
}

func appendToVec(body, item []byte) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	out := appendU32(nil, n+1)
	out = append(out, body[r.off:]...)
	return append(out, item...), nil
}

func countImportedGlobals(body []byte) (uint32, error) {
	r := &reader{b: body}
	n := r.u32()
	var globals uint32
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.bytes(int(r.u32())) // module
		r.bytes(int(r.u32())) // name
		switch kind := r.byte(); kind {
		case 0x00: // func
			r.u32()
		case 0x01: // table: reftype, limits
			r.byte()
			r.limits()
		case 0x02: // memory
			r.limits()
		case 0x03: // global: valtype, mut
			r.byte()
			r.byte()
			globals++
		case 0x04: // tag
			r.byte()
			r.u32()
		default:
			return 0, fmt.Errorf("import kind %#x", kind)
		}
	}
	return globals, r.err
}

func instrumentCode(body, check []byte) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	// Each body grows by at least one check; the count is untrusted, so the
	// estimate is bounded by the section's size.
	out := appendU32(make([]byte, 0, len(body)+min(int(n), len(body))*len(check)*2), n)
	fn := make([]byte, 0, 1024)
	for i := uint32(0); i < n; i++ {
		size := r.u32()
		code := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("function %d: %v", i, r.err)
		}
		var err error
		fn, err = instrumentFunc(fn[:0], code, check)
		if err != nil {
			return nil, fmt.Errorf("function %d: %v", i, err)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	if r.off != len(body) {
		return nil, errors.New("trailing bytes in code section")
	}
	return out, nil
}

func instrumentFunc(out, code, check []byte) ([]byte, error) {
	r := &reader{b: code}
	groups := r.u32()
	for i := uint32(0); i < groups && r.err == nil; i++ {
		r.u32()
		r.valtype()
	}
	if r.err != nil {
		return nil, fmt.Errorf("locals: %v", r.err)
	}
	out = append(out, code[:r.off]...)
	out = append(out, check...)
	for r.off < len(r.b) {
		start := r.off
		op := r.byte()
		isLoop := op == 0x03
		if err := r.skipImmediates(op); err != nil {
			return nil, err
		}
		if r.err != nil {
			return nil, fmt.Errorf("opcode %#x at %d: %v", op, start, r.err)
		}
		out = append(out, code[start:r.off]...)
		if isLoop {
			out = append(out, check...)
		}
	}
	return out, nil
}

// reader decodes the wasm binary format; the first error sticks.
type reader struct {
	b   []byte
	off int
	err error
}

var errShort = errors.New("unexpected end")

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.err = errShort
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.off+n > len(r.b) {
		r.err = errShort
		return nil
	}
	b := r.b[r.off : r.off+n]
	r.off += n
	return b
}

// leb skips or reads an unsigned or signed LEB128 of at most maxBytes.
func (r *reader) leb(maxBytes int) uint64 {
	var v uint64
	for i := 0; i < maxBytes; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errors.New("LEB128 too long")
	return 0
}

func (r *reader) u32() uint32 { return uint32(r.leb(5)) }

func (r *reader) limits() {
	flags := r.byte()
	r.leb(10)
	if flags&0x01 != 0 {
		r.leb(10)
	}
}

func (r *reader) valtype() {
	switch t := r.byte(); t {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
	default:
		if r.err == nil {
			r.err = fmt.Errorf("value type %#x", t)
		}
	}
}

func (r *reader) blocktype() {
	if r.off < len(r.b) {
		switch r.b[r.off] {
		case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
			r.off++
			return
		}
	}
	r.leb(5) // s33 type index
}

func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 { // multi-memory: a memory index follows
		r.u32()
	}
	r.leb(10)
}

// skipImmediates advances past op's immediates.
func (r *reader) skipImmediates(op byte) error {
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04 || op == 0x06: // block loop if try
		r.blocktype()
	case op == 0x0c || op == 0x0d || op == 0x09 || op == 0x18: // br br_if rethrow delegate
		r.u32()
	case op == 0x0e: // br_table
		n := r.u32()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			r.u32()
		}
	case op == 0x10 || op == 0x12 || op == 0x07 || op == 0x08 || op == 0xd2: // call return_call catch throw ref.func
		r.u32()
	case op == 0x11 || op == 0x13: // call_indirect return_call_indirect
		r.u32()
		r.u32()
	case op == 0x1c: // select t*
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			r.valtype()
		}
	case op >= 0x20 && op <= 0x26: // local.* global.* table.get/set
		r.u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x3f || op == 0x40: // memory.size memory.grow
		r.u32()
	case op == 0x41:
		r.leb(5)
	case op == 0x42:
		r.leb(10)
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op == 0xd0: // ref.null
		r.byte()
	case op == 0xfc:
		return r.skipFC(r.u32())
	case op == 0xfd:
		return r.skipFD(r.u32())
	case op == 0xfe:
		sub := r.u32()
		if sub == 0x03 { // atomic.fence
			r.byte()
		} else {
			r.memarg()
		}
	case op <= 0x01 || op == 0x05 || op == 0x0b || op == 0x0f || op == 0x19 || op == 0x1a || op == 0x1b ||
		(op >= 0x45 && op <= 0xc4) || op == 0xd1:
		// no immediates
	default:
		return fmt.Errorf("unknown opcode %#x at %d", op, r.off-1)
	}
	return nil
}

func (r *reader) skipFC(sub uint32) error {
	switch {
	case sub <= 7: // trunc_sat
	case sub == 8: // memory.init data mem
		r.u32()
		r.u32()
	case sub == 9 || sub == 13 || sub == 11 || (sub >= 15 && sub <= 17): // data.drop elem.drop memory.fill table.grow/size/fill
		r.u32()
	case sub == 10 || sub == 12 || sub == 14: // memory.copy table.init table.copy
		r.u32()
		r.u32()
	default:
		return fmt.Errorf("unknown 0xfc opcode %d", sub)
	}
	return nil
}

func (r *reader) skipFD(sub uint32) error {
	switch {
	case sub <= 11 || sub == 92 || sub == 93: // v128 loads/stores, load zero
		r.memarg()
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract/replace lane
		r.byte()
	case sub >= 84 && sub <= 91: // load/store lane
		r.memarg()
		r.byte()
	case sub <= 275:
		// every other SIMD opcode has no immediates
	default:
		return fmt.Errorf("unknown 0xfd opcode %d", sub)
	}
	return nil
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}
