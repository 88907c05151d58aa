package host

import (
	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/internal/wasmgen"
)

var (
	ifVoid = []byte{0x04, 0x40}
	i32Eq  = []byte{0x46}
	i32Sub = []byte{0x6b}
)

// imports declares the named wasmfaas_v1 functions with their ABI
// signatures and returns their indexes.
func imports(m *wasmgen.Module, names ...string) map[string]uint32 {
	idx := map[string]uint32{}
	for _, n := range names {
		f, ok := abi.Lookup(n)
		if !ok {
			panic("unknown host function " + n)
		}
		var ps []byte
		for _, t := range f.Types {
			if t == abi.I64 {
				ps = append(ps, wasmgen.I64)
			} else {
				ps = append(ps, wasmgen.I32)
			}
		}
		r := wasmgen.I32
		if f.Result == abi.I64 {
			r = wasmgen.I64
		}
		idx[n] = m.Import(abi.ImportModule, n, m.Type(ps, []byte{r}))
	}
	return idx
}

// reactor returns an ABI v1 module whose handler is body; extra functions
// can be added by more before the handler is defined.
func reactor(pages uint32, names []string, more func(*wasmgen.Module, map[string]uint32), body ...[]byte) []byte {
	var m wasmgen.Module
	idx := imports(&m, names...)
	m.Memory(pages, 0)
	void := m.Type(nil, nil)
	m.Export(abi.VersionExport, m.Func(void, nil))
	if more != nil {
		more(&m, idx)
	}
	m.Export(abi.HandleExport, m.Func(m.Type(nil, []byte{wasmgen.I32}), []byte{wasmgen.I32}, body...))
	return m.Bytes()
}

// Chaos cases, chosen by the length of the event's data.
const (
	caseOK = iota
	caseLoop
	caseUnreachable
	caseGrow
	caseRecurse
	caseOOBPointer
	caseHugeLength
	caseBigResult
	caseManyEmits
	caseEmptyType
	caseSpin
)

// chaosModule misbehaves in the way the event's data length selects.
func chaosModule() []byte {
	var recurse uint32
	c := func(n int32) []byte { return wasmgen.I32Const(n) }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	is := func(n int32, then ...[]byte) []byte {
		return cat(wasmgen.LocalGet(0), c(n), i32Eq, ifVoid, cat(then...), wasmgen.End)
	}
	var m wasmgen.Module
	idx := imports(&m, "event_data", "log_write", "result_set", "error_set", "emit_event")
	m.Memory(1, 0)
	m.Data(16, []byte("type\x00com.example.x\x00")) // 19 bytes
	m.Data(64, []byte("type\x00\x00"))              // 6 bytes
	m.Data(80, []byte("out_of_memory"))             // 13 bytes
	void := m.Type(nil, nil)
	m.Export(abi.VersionExport, m.Func(void, nil))
	recurse = m.Func(void, nil, wasmgen.Call(1+5), wasmgen.Call(1+5)) // calls itself: index = imports(5) + 1
	_ = recurse
	body := cat(
		c(0), c(0), wasmgen.Call(idx["event_data"]), wasmgen.LocalSet(0),
		is(caseLoop, wasmgen.LoopVoid, wasmgen.Br0, wasmgen.End),
		is(caseUnreachable, wasmgen.Unreachable),
		is(caseGrow, c(10000), wasmgen.MemoryGrow, c(-1), i32Eq, ifVoid,
			c(80), c(13), c(80), c(13), wasmgen.Call(idx["error_set"]), wasmgen.Drop, c(1), wasmgen.Return, wasmgen.End),
		is(caseRecurse, wasmgen.Call(1+5)),
		is(caseOOBPointer, c(-16), c(32), wasmgen.Call(idx["event_data"]), wasmgen.Drop),
		is(caseHugeLength, c(0), c(0), c(-1), wasmgen.Call(idx["log_write"]), wasmgen.Drop),
		is(caseBigResult, c(0), c(60000), c(0), c(0), wasmgen.Call(idx["result_set"]), wasmgen.Drop),
		is(caseManyEmits,
			c(100), wasmgen.LocalSet(0),
			wasmgen.LoopVoid,
			c(16), c(19), c(0), c(0), wasmgen.Call(idx["emit_event"]), wasmgen.Drop,
			wasmgen.LocalGet(0), c(1), i32Sub, wasmgen.LocalSet(0),
			wasmgen.LocalGet(0), wasmgen.BrIf0,
			wasmgen.End),
		is(caseEmptyType, c(64), c(6), c(0), c(0), wasmgen.Call(idx["emit_event"]), wasmgen.Drop),
		is(caseSpin,
			c(100000), wasmgen.LocalSet(0),
			wasmgen.LoopVoid,
			wasmgen.LocalGet(0), c(1), i32Sub, wasmgen.LocalSet(0),
			wasmgen.LocalGet(0), wasmgen.BrIf0,
			wasmgen.End),
		c(0),
	)
	m.Export(abi.HandleExport, m.Func(m.Type(nil, []byte{wasmgen.I32}), []byte{wasmgen.I32}, body))
	return m.Bytes()
}
