package host

import (
	"context"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wasmfaas/wasmfaas/internal/wasmgen"
)

// loopIterations is the loop-heavy guest of BENCHMARKS.md: a 3M-iteration
// counting loop.
const loopIterations = 3_000_000

// loopModule exports loop(n i32) -> i32, counting n down to 0; with call,
// each iteration also calls a function that does nothing (an entry check).
func loopModule(call bool) []byte {
	var m wasmgen.Module
	void := m.Type(nil, nil)
	nop := m.Func(void, nil)
	body := [][]byte{wasmgen.LoopVoid}
	if call {
		body = append(body, wasmgen.Call(nop))
	}
	body = append(body,
		wasmgen.LocalGet(0), wasmgen.I32Const(1), i32Sub, wasmgen.LocalSet(0),
		wasmgen.LocalGet(0), wasmgen.BrIf0,
		wasmgen.End, wasmgen.LocalGet(0))
	m.Export("loop", m.Func(m.Type([]byte{wasmgen.I32}, []byte{wasmgen.I32}), nil, body...))
	return m.Bytes()
}

// BenchmarkLoop runs the counting loop as compiled code with no checks, with
// instrument's checks (this host), and with wazero's WithCloseOnContextDone
// (what the host ran before). Compare ns/op within one run.
//
//	go test -run '^$' -bench Loop -count 5 ./host/
func BenchmarkLoop(b *testing.B) {
	for _, call := range []bool{false, true} {
		name := "count"
		if call {
			name = "count-call"
		}
		raw := loopModule(call)
		inst, err := instrument(raw)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/unchecked", func(b *testing.B) { benchLoop(b, raw, false) })
		b.Run(name+"/instrumented", func(b *testing.B) { benchLoop(b, inst, false) })
		b.Run(name+"/close-on-done", func(b *testing.B) { benchLoop(b, raw, true) })
	}
}

func benchLoop(b *testing.B, wasm []byte, closeOnDone bool) {
	ctx := context.Background()
	rc := wazero.NewRuntimeConfigCompiler()
	if closeOnDone {
		rc = rc.WithCloseOnContextDone(true)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Hour)
		defer cancel()
	}
	rt := wazero.NewRuntimeWithConfig(context.Background(), rc)
	defer rt.Close(context.Background())
	if err := instantiateYield(ctx, rt); err != nil {
		b.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	fn := mod.ExportedFunction("loop")
	stack := make([]uint64, 1)
	for b.Loop() {
		stack[0] = loopIterations
		if err := fn.CallWithStack(ctx, stack); err != nil {
			b.Fatal(err)
		}
	}
}
