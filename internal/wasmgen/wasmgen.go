// Package wasmgen owns tiny hand-assembled wasm modules for tests and
// benchmarks: a minimal binary encoder, so bad-module and edge-case fixtures
// are readable Go instead of opaque committed bytes.
package wasmgen

// Value types.
const (
	I32 byte = 0x7f
	I64 byte = 0x7e
)

// Module accumulates sections. Add every import before the first Func:
// function indexes count imports first.
type Module struct {
	types   [][]byte
	imports [][]byte
	nImport uint32
	funcs   []uint32
	codes   [][]byte
	exports [][]byte
	memory  []byte
	data    [][]byte
	start   *uint32
}

// Type adds a function type and returns its index.
func (m *Module) Type(params, results []byte) uint32 {
	b := []byte{0x60}
	b = appendVec(b, params)
	b = appendVec(b, results)
	for i, t := range m.types {
		if string(t) == string(b) {
			return uint32(i)
		}
	}
	m.types = append(m.types, b)
	return uint32(len(m.types) - 1)
}

// Import adds a function import and returns its function index.
func (m *Module) Import(module, name string, typ uint32) uint32 {
	if len(m.funcs) > 0 {
		panic("wasmgen: imports must come before functions")
	}
	b := appendName(nil, module)
	b = appendName(b, name)
	b = append(b, 0x00)
	b = appendU32(b, typ)
	m.imports = append(m.imports, b)
	m.nImport++
	return m.nImport - 1
}

// Memory defines memory 0 with min pages and, if max > 0, a maximum, and
// exports it as "memory".
func (m *Module) Memory(min, max uint32) {
	if max > 0 {
		m.memory = appendU32(appendU32([]byte{0x01}, min), max)
	} else {
		m.memory = appendU32([]byte{0x00}, min)
	}
	m.exports = append(m.exports, appendU32(append(appendName(nil, "memory"), 0x02), 0))
}

// Func defines a function with extra locals (each an i32 or i64) and a body
// (without the final end, which Func adds); it returns the function index.
func (m *Module) Func(typ uint32, locals []byte, body ...[]byte) uint32 {
	m.funcs = append(m.funcs, typ)
	var code []byte
	code = appendU32(code, uint32(len(locals)))
	for _, l := range locals {
		code = append(code, 1, l)
	}
	for _, b := range body {
		code = append(code, b...)
	}
	code = append(code, 0x0b)
	m.codes = append(m.codes, appendU32(nil, uint32(len(code))))
	m.codes[len(m.codes)-1] = append(m.codes[len(m.codes)-1], code...)
	return m.nImport + uint32(len(m.funcs)-1)
}

// Export exports function idx as name.
func (m *Module) Export(name string, idx uint32) {
	m.exports = append(m.exports, appendU32(append(appendName(nil, name), 0x00), idx))
}

// Data places bytes at a constant offset of memory 0.
func (m *Module) Data(offset uint32, b []byte) {
	d := []byte{0x00}
	d = append(d, I32Const(int32(offset))...)
	d = append(d, 0x0b)
	d = appendU32(d, uint32(len(b)))
	m.data = append(m.data, append(d, b...))
}

// Start makes function idx the module's start function (the start
// section), run when an instance is created.
func (m *Module) Start(idx uint32) { m.start = &idx }

// Bytes encodes the module.
func (m *Module) Bytes() []byte {
	out := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	out = section(out, 1, m.types)
	out = section(out, 2, m.imports)
	var fs [][]byte
	for _, t := range m.funcs {
		fs = append(fs, appendU32(nil, t))
	}
	out = section(out, 3, fs)
	if m.memory != nil {
		out = section(out, 5, [][]byte{m.memory})
	}
	out = section(out, 7, m.exports)
	if m.start != nil {
		body := appendU32(nil, *m.start)
		out = append(out, 8)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	out = section(out, 10, m.codes)
	out = section(out, 11, m.data)
	return out
}

func section(out []byte, id byte, items [][]byte) []byte {
	if len(items) == 0 {
		return out
	}
	body := appendU32(nil, uint32(len(items)))
	for _, it := range items {
		body = append(body, it...)
	}
	out = append(out, id)
	out = appendU32(out, uint32(len(body)))
	return append(out, body...)
}

func appendVec(b, items []byte) []byte { return append(appendU32(b, uint32(len(items))), items...) }

func appendName(b []byte, s string) []byte { return append(appendU32(b, uint32(len(s))), s...) }

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

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// Instructions.

// I32Const pushes an i32.
func I32Const(v int32) []byte { return appendS64([]byte{0x41}, int64(v)) }

// I64Const pushes an i64.
func I64Const(v int64) []byte { return appendS64([]byte{0x42}, v) }

// Call calls function idx.
func Call(idx uint32) []byte { return appendU32([]byte{0x10}, idx) }

// LocalGet pushes local i.
func LocalGet(i uint32) []byte { return appendU32([]byte{0x20}, i) }

// LocalSet pops into local i.
func LocalSet(i uint32) []byte { return appendU32([]byte{0x21}, i) }

// Fixed instructions.
var (
	Unreachable = []byte{0x00}
	Drop        = []byte{0x1a}
	Return      = []byte{0x0f}
	LoopVoid    = []byte{0x03, 0x40}
	End         = []byte{0x0b}
	Br0         = []byte{0x0c, 0x00}
	BrIf0       = []byte{0x0d, 0x00}
	MemoryGrow  = []byte{0x40, 0x00}
	I32Add      = []byte{0x6a}
	I32Eqz      = []byte{0x45}
	I64Store    = []byte{0x37, 0x03, 0x00}
	I32Store    = []byte{0x36, 0x02, 0x00}
	I32Load     = []byte{0x28, 0x02, 0x00}
)
