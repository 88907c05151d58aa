package host

import (
	"errors"
	"fmt"
)

// countdownExport is the mutable i32 global that instrument adds to every
// module: a countdown of checks to the next call of the yield import. See
// docs/RATIONALE.md, "Why a countdown to a host call instead of
// WithCloseOnContextDone?".
const countdownExport = "__wasmfaas_countdown"

// yieldModule and yieldName name the host function instrument imports: the
// guest's safe point and interruption point (see yield in hostfuncs.go). A
// module may not import from yieldModule itself.
const (
	yieldModule = "__wasmfaas"
	yieldName   = "yield"
)

// yieldEvery is how many checks run between two calls of yield: the bound,
// in checks, on how long a garbage collection's stop-the-world waits for a
// guest, and on how long an interruption whose hint was lost waits. A call
// of yield (an exit to Go) costs about 100 ns; 4,096 checks of a tight loop
// take a few microseconds, so yield costs a loop a few percent at most.
const yieldEvery = 4096

// errInstrument wraps every reason instrument refuses a module.
var errInstrument = errors.New("instrument module")

// instrument returns wasm with an exported mutable global countdownExport,
// an imported function yieldModule.yield () -> i32, and a countdown of
// checks to the next call of yield:
//
//   - each function gets a local $c, the countdown while it runs: at entry
//     it takes the global minus one, at every loop header it goes down by
//     one, and when it reaches 0 the function calls yield, which returns
//     the new countdown (or ends the call past its deadline or once cancelled);
//   - the local is written back to the global before every call of a
//     module function and before every way out of the function (return,
//     a branch to the function's label, its final end), and read back from
//     the global after every call, so a countdown is never restarted by
//     calls and returns: any yieldEvery function entries and loop
//     iterations in a row include a call of yield.
//
// A check is `local.get $c; i32.const 1; i32.sub; local.tee $c;
// i32.const 1; i32.lt_s; if; call $yield; local.set $c; end` (at entry the
// first instruction is global.get): the counter lives in a register, which
// keeps a tight loop's cost close to none, where a global decremented in
// memory at every iteration tripled it.
//
// The import is the last imported function, so every function index at or
// above it moves up by one: calls, ref.func, exports, the start function,
// element segments, global initialisers and the name section are renumbered.
// instrument decodes every instruction, so a module with an opcode or a
// section it does not know is refused rather than instrumented wrongly, as
// is exception handling (a throw would skip the write-back).
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
	var imp importCounts
	definedGlobals, types := uint32(0), uint32(0)
	var typeParams, funcTypes []uint32
	for r.off < len(r.b) {
		id := r.byte()
		size := r.u32()
		body := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("%w: section %d: %v", errInstrument, id, r.err)
		}
		secs = append(secs, section{id, body})
		switch id {
		case 1:
			var err error
			if typeParams, err = readTypes(body); err != nil {
				return nil, fmt.Errorf("%w: type section: %v", errInstrument, err)
			}
			types = uint32(len(typeParams))
		case 3:
			sr := &reader{b: body}
			n := sr.u32()
			for i := uint32(0); i < n && sr.err == nil && i < uint32(len(body)); i++ {
				funcTypes = append(funcTypes, sr.u32())
			}
			if sr.err != nil || sr.off != len(body) {
				return nil, fmt.Errorf("%w: function section: malformed", errInstrument)
			}
		case 2:
			var err error
			if imp, err = countImports(body); err != nil {
				return nil, fmt.Errorf("%w: import section: %v", errInstrument, err)
			}
		case 6:
			definedGlobals = (&reader{b: body}).u32()
		}
	}
	gidx := imp.globals + definedGlobals
	x := &renumber{from: imp.funcs, global: gidx, yield: imp.funcs}
	params := make([]uint32, len(funcTypes))
	for i, t := range funcTypes {
		if t >= uint32(len(typeParams)) {
			return nil, fmt.Errorf("%w: function %d has type %d of %d", errInstrument, i, t, len(typeParams))
		}
		params[i] = typeParams[t]
	}

	newType := []byte{0x60, 0x00, 0x01, 0x7f} // () -> i32
	newImport := appendU32(nil, uint32(len(yieldModule)))
	newImport = append(newImport, yieldModule...)
	newImport = appendU32(newImport, uint32(len(yieldName)))
	newImport = append(newImport, yieldName...)
	newImport = appendU32(append(newImport, 0x00), types)
	newGlobal := appendS32(append([]byte{0x7f, 0x01}, 0x41), yieldEvery) // mut i32 = yieldEvery
	newGlobal = append(newGlobal, 0x0b)
	newExport := appendU32(nil, uint32(len(countdownExport)))
	newExport = append(newExport, countdownExport...)
	newExport = append(newExport, 0x03)
	newExport = appendU32(newExport, gidx)

	rank := map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}
	has := map[byte]bool{}
	for i := range secs {
		var err error
		s := &secs[i]
		has[s.id] = true
		switch s.id {
		case 0:
			s.body, err = x.customSection(s.body)
		case 1:
			s.body, err = appendToVec(s.body, newType)
		case 2:
			s.body, err = appendToVec(s.body, newImport)
		case 6:
			s.body, err = x.globalSection(s.body)
			if err == nil {
				s.body, err = appendToVec(s.body, newGlobal)
			}
		case 7:
			s.body, err = x.exportSection(s.body)
			if err == nil {
				s.body, err = appendToVec(s.body, newExport)
			}
		case 8:
			sr := &reader{b: s.body}
			f := sr.u32()
			if sr.err == nil && sr.off != len(s.body) {
				sr.err = errors.New("trailing bytes")
			}
			s.body, err = appendU32(nil, x.fn(f)), sr.err
		case 9:
			s.body, err = x.elementSection(s.body)
		case 10:
			s.body, err = x.codeSection(s.body, params)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: section %d: %v", errInstrument, s.id, err)
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
	if !has[1] {
		insert(1, append([]byte{1}, newType...))
	}
	if !has[2] {
		insert(2, append([]byte{1}, newImport...))
	}
	if !has[6] {
		insert(6, append([]byte{1}, newGlobal...))
	}
	if !has[7] {
		insert(7, append([]byte{1}, newExport...))
	}
	out := make([]byte, 0, len(wasm)+len(wasm)/8+64)
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

// readTypes returns the number of parameters of each function type.
func readTypes(body []byte) ([]uint32, error) {
	r := &reader{b: body}
	n := r.u32()
	var params []uint32
	for i := uint32(0); i < n && r.err == nil; i++ {
		if form := r.byte(); form != 0x60 && r.err == nil {
			return nil, fmt.Errorf("type %d: form %#x", i, form)
		}
		np := r.u32()
		for j := uint32(0); j < np && r.err == nil; j++ {
			r.valtype()
		}
		nr := r.u32()
		for j := uint32(0); j < nr && r.err == nil; j++ {
			r.valtype()
		}
		params = append(params, np)
	}
	if r.err == nil && r.off != len(body) {
		r.err = errors.New("trailing bytes")
	}
	return params, r.err
}

// importCounts is what the import section holds that instrument's indexes
// depend on.
type importCounts struct{ funcs, globals uint32 }

func countImports(body []byte) (importCounts, error) {
	r := &reader{b: body}
	n := r.u32()
	var c importCounts
	for i := uint32(0); i < n && r.err == nil; i++ {
		mod := r.bytes(int(r.u32()))
		r.bytes(int(r.u32())) // name
		if string(mod) == yieldModule {
			return c, fmt.Errorf("imports from %q, which is the host's own", yieldModule)
		}
		switch kind := r.byte(); kind {
		case 0x00: // func
			r.u32()
			c.funcs++
		case 0x01: // table: reftype, limits
			r.byte()
			r.limits()
		case 0x02: // memory
			r.limits()
		case 0x03: // global: valtype, mut
			r.byte()
			r.byte()
			c.globals++
		case 0x04: // tag
			r.byte()
			r.u32()
		default:
			return c, fmt.Errorf("import kind %#x", kind)
		}
	}
	return c, r.err
}

// renumber moves every function index at or above from up by one, to make
// room for the yield import (at index yield), and adds the countdown
// (global index global) to function bodies.
type renumber struct{ from, global, yield uint32 }

func (x *renumber) fn(i uint32) uint32 {
	if i >= x.from {
		return i + 1
	}
	return i
}

// instr copies one instruction from r to out, renumbering the function
// index of call, return_call and ref.func. It returns the opcode.
func (x *renumber) instr(out []byte, r *reader) ([]byte, byte, error) {
	start := r.off
	op := r.byte()
	switch op {
	case 0x10, 0x12, 0xd2: // call return_call ref.func
		f := r.u32()
		if r.err != nil {
			return out, op, fmt.Errorf("opcode %#x at %d: %v", op, start, r.err)
		}
		return appendU32(append(out, op), x.fn(f)), op, nil
	}
	if err := r.skipImmediates(op); err != nil {
		return out, op, err
	}
	if r.err != nil {
		return out, op, fmt.Errorf("opcode %#x at %d: %v", op, start, r.err)
	}
	return append(out, r.b[start:r.off]...), op, nil
}

// expr copies a constant expression, up to and including its end.
func (x *renumber) expr(out []byte, r *reader) ([]byte, error) {
	depth := 0
	for {
		var op byte
		var err error
		out, op, err = x.instr(out, r)
		if err != nil {
			return out, err
		}
		switch op {
		case 0x02, 0x03, 0x04:
			depth++
		case 0x0b:
			if depth == 0 {
				return out, nil
			}
			depth--
		}
	}
}

func (x *renumber) globalSection(body []byte) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	out := appendU32(make([]byte, 0, len(body)+8), n)
	for i := uint32(0); i < n; i++ {
		start := r.off
		r.valtype()
		r.byte() // mut
		if r.err != nil {
			return nil, fmt.Errorf("global %d: %v", i, r.err)
		}
		out = append(out, body[start:r.off]...)
		var err error
		if out, err = x.expr(out, r); err != nil {
			return nil, fmt.Errorf("global %d: %v", i, err)
		}
	}
	if r.off != len(body) {
		return nil, errors.New("trailing bytes")
	}
	return out, nil
}

func (x *renumber) exportSection(body []byte) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	out := appendU32(make([]byte, 0, len(body)+8), n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		start := r.off
		r.bytes(int(r.u32()))
		kind := r.byte()
		out = append(out, body[start:r.off]...)
		idx := r.u32()
		if kind == 0x00 {
			idx = x.fn(idx)
		}
		out = appendU32(out, idx)
	}
	if r.err == nil && r.off != len(body) {
		r.err = errors.New("trailing bytes")
	}
	return out, r.err
}

func (x *renumber) elementSection(body []byte) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	out := appendU32(make([]byte, 0, len(body)+8), n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		out = appendU32(out, flags)
		if flags > 7 {
			return nil, fmt.Errorf("element segment %d: flags %d", i, flags)
		}
		var err error
		if flags == 2 || flags == 6 { // table index
			out = appendU32(out, r.u32())
		}
		if flags&1 == 0 { // active: offset expression
			if out, err = x.expr(out, r); err != nil {
				return nil, fmt.Errorf("element segment %d: %v", i, err)
			}
		}
		if flags&3 != 0 { // elemkind or reftype
			out = append(out, r.byte())
		}
		m := r.u32()
		out = appendU32(out, m)
		for j := uint32(0); j < m && r.err == nil; j++ {
			if flags&4 == 0 {
				out = appendU32(out, x.fn(r.u32()))
			} else if out, err = x.expr(out, r); err != nil {
				return nil, fmt.Errorf("element segment %d: %v", i, err)
			}
		}
	}
	if r.err == nil && r.off != len(body) {
		r.err = errors.New("trailing bytes")
	}
	return out, r.err
}

// customSection renumbers the function indexes of the name section
// (function names, local names, label names); other custom sections are
// kept as they are. A name section it cannot read is dropped rather than
// left wrong: it only names things in stack traces.
func (x *renumber) customSection(body []byte) ([]byte, error) {
	r := &reader{b: body}
	name := r.bytes(int(r.u32()))
	if r.err != nil {
		return nil, r.err
	}
	if string(name) != "name" {
		return body, nil
	}
	out := append([]byte(nil), body[:r.off]...)
	for r.off < len(r.b) {
		id := r.byte()
		sub := r.bytes(int(r.u32()))
		if r.err != nil {
			return out, nil // drop what we cannot read
		}
		switch id {
		case 1, 2, 3: // name map or indirect name maps keyed by function index
			sr := &reader{b: sub}
			n := sr.u32()
			nb := appendU32(nil, n)
			for i := uint32(0); i < n && sr.err == nil; i++ {
				nb = appendU32(nb, x.fn(sr.u32()))
				start := sr.off
				if id == 1 {
					sr.bytes(int(sr.u32()))
				} else {
					m := sr.u32()
					for j := uint32(0); j < m && sr.err == nil; j++ {
						sr.u32()
						sr.bytes(int(sr.u32()))
					}
				}
				nb = append(nb, sub[start:sr.off]...)
			}
			if sr.err != nil || sr.off != len(sub) {
				continue // drop a subsection we cannot read
			}
			sub = nb
		}
		out = append(out, id)
		out = appendU32(out, uint32(len(sub)))
		out = append(out, sub...)
	}
	return out, nil
}

func (x *renumber) codeSection(body []byte, params []uint32) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	if n != uint32(len(params)) {
		return nil, fmt.Errorf("%d bodies for %d functions", n, len(params))
	}
	// Each body grows by a few checks; the estimate is bounded by the
	// section's size, the count being untrusted.
	out := appendU32(make([]byte, 0, len(body)+len(body)/4+int(n)*64), n)
	fn := make([]byte, 0, 1024)
	for i := uint32(0); i < n; i++ {
		size := r.u32()
		code := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("function %d: %v", i, r.err)
		}
		var err error
		fn, err = x.function(fn[:0], code, params[i])
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

// label is one of the guest's block, if or loop labels while function
// rewrites its body.
type label struct {
	extra   uint32 // labels function added around this one (0 or 3)
	wrapped bool   // a loop wrapped for its check (see function)
}

// function instruments one body whose function has params parameters.
//
// A loop's check must not put a call inside the loop: the register
// allocator would then keep the loop's values on the stack across every
// iteration, which cost a tight loop twice its time. So a loop with no
// parameters is wrapped, and its check branches out of it to call yield
// and then enters it again, which is the same as going on with the
// iteration, since the check is the loop's first instruction:
//
//	block bt                        ;; $exit
//	  loop                          ;; $again
//	    block                       ;; $y
//	      loop bt                   ;; the guest's loop
//	        local.get $c; i32.const 1; i32.sub; local.tee $c
//	        i32.const 1; i32.lt_s; br_if $y
//	        ...                     ;; the guest's body
//	      end
//	      br $exit
//	    end
//	    call $yield; local.set $c
//	    br $again
//	  end
//	  unreachable
//	end
//
// Branches of the guest's body to labels outside the loop get deeper by the
// three labels added. A loop with parameters (multi-value) keeps the check
// with the call inside (`if; call $yield; local.set $c; end`).
func (x *renumber) function(out, code []byte, params uint32) ([]byte, error) {
	r := &reader{b: code}
	groups := r.u32()
	groupsEnd := r.off
	locals := uint64(params)
	for i := uint32(0); i < groups && r.err == nil; i++ {
		locals += uint64(r.u32())
		r.valtype()
	}
	if r.err != nil {
		return nil, fmt.Errorf("locals: %v", r.err)
	}
	if locals >= 50000 { // wazero's limit on locals is far below
		return nil, fmt.Errorf("%d locals", locals)
	}
	c := uint32(locals) // the countdown's local: after every other one
	out = appendU32(out, groups+1)
	out = append(out, code[groupsEnd:r.off]...)
	out = append(out, 0x01, 0x7f) // 1 x i32

	dec := appendU32(append([]byte(nil), 0x41, 0x01, 0x6b, 0x22), c) // i32.const 1; i32.sub; local.tee $c
	dec = append(dec, 0x41, 0x01, 0x48)                              // i32.const 1; i32.lt_s
	callYield := appendU32([]byte{0x10}, x.yield)
	callYield = appendU32(append(callYield, 0x21), c) // call $yield; local.set $c
	ifYield := append(append([]byte{0x04, 0x40}, callYield...), 0x0b)
	getLocal := appendU32([]byte{0x20}, c)
	getGlobal := appendU32([]byte{0x23}, x.global)
	save := append(appendU32(append([]byte(nil), 0x20), c), appendU32([]byte{0x24}, x.global)...) // local.get $c; global.set
	load := append(appendU32(append([]byte(nil), 0x23), x.global), appendU32([]byte{0x21}, c)...) // global.get; local.set $c

	out = append(append(append(out, getGlobal...), dec...), ifYield...)
	var labels []label
	// depthOf maps a branch's label to its depth in the instrumented body.
	depthOf := func(l uint32) uint32 {
		d := l
		for i := uint32(0); i < l && i < uint32(len(labels)); i++ {
			d += labels[len(labels)-1-int(i)].extra
		}
		return d
	}
	for r.off < len(r.b) {
		start := r.off
		op := r.byte()
		depth := uint32(len(labels)) // a branch to depth leaves the function
		switch op {
		case 0x06, 0x07, 0x08, 0x09, 0x18, 0x19, 0x1f: // exception handling
			return nil, fmt.Errorf("opcode %#x at %d: exception handling is not supported", op, start)
		case 0x02, 0x04: // block if
			labels = append(labels, label{})
		case 0x03: // loop
			r.blocktype()
			if r.err != nil {
				return nil, fmt.Errorf("loop at %d: %v", start, r.err)
			}
			bt := code[start+1 : r.off]
			if len(bt) == 1 && (bt[0] == 0x40 || bt[0] >= 0x6f) { // no parameters
				out = append(out, 0x02)
				out = append(out, bt...)
				out = append(out, 0x03, 0x40, 0x02, 0x40, 0x03)
				out = append(out, bt...)
				out = append(append(append(out, getLocal...), dec...), 0x0d, 0x01) // br_if $y
				labels = append(labels, label{extra: 3, wrapped: true})
			} else {
				out = append(out, code[start:r.off]...)
				out = append(append(append(out, getLocal...), dec...), ifYield...)
				labels = append(labels, label{})
			}
			continue
		case 0x0b: // end
			if depth == 0 {
				out = append(append(out, save...), 0x0b)
				continue
			}
			l := labels[len(labels)-1]
			labels = labels[:len(labels)-1]
			if l.wrapped {
				out = append(out, 0x0b, 0x0c, 0x02, 0x0b) // end (guest's loop); br $exit; end ($y)
				out = append(out, callYield...)
				out = append(out, 0x0c, 0x00, 0x0b, 0x00, 0x0b) // br $again; end; unreachable; end ($exit)
				continue
			}
		case 0x0f, 0x12, 0x13: // return return_call return_call_indirect
			out = append(out, save...)
		case 0x0c, 0x0d: // br br_if
			l := r.u32()
			if r.err != nil {
				return nil, fmt.Errorf("branch at %d: %v", start, r.err)
			}
			if l == depth {
				out = append(out, save...)
			}
			out = appendU32(append(out, op), depthOf(l))
			continue
		case 0x0e: // br_table
			n := r.u32()
			if n > uint32(len(r.b)) {
				return nil, fmt.Errorf("br_table at %d: %d targets", start, n)
			}
			targets := make([]uint32, 0, n+1)
			leaves := false
			for i := uint32(0); i <= n && r.err == nil; i++ {
				t := r.u32()
				leaves = leaves || t == depth
				targets = append(targets, t)
			}
			if r.err != nil {
				return nil, fmt.Errorf("br_table at %d: %v", start, r.err)
			}
			if leaves {
				out = append(out, save...)
			}
			out = appendU32(append(out, op), n)
			for _, t := range targets {
				out = appendU32(out, depthOf(t))
			}
			continue
		case 0x10, 0x11: // call call_indirect
			if op == 0x11 || (&reader{b: r.b, off: r.off}).u32() >= x.from {
				out = append(out, save...)
				r.off = start
				var err error
				if out, _, err = x.instr(out, r); err != nil {
					return nil, err
				}
				out = append(out, load...)
				continue
			}
		}
		r.off = start
		var err error
		if out, _, err = x.instr(out, r); err != nil {
			return nil, err
		}
	}
	if len(labels) != 0 {
		return nil, errors.New("unbalanced blocks")
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

func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
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
