package host

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/internal/wasmgen"
)

// renumberModule exercises every place instrument renumbers a function
// index or a branch depth: an imported function, a table filled by an
// element segment (both called through call_indirect), a start function, a
// global initialised with ref.func, exports, a name section, and a loop
// with a result that calls, branches out past its wrapper and loops through
// br_table. run(n) returns n + 7; boom traps.
func renumberModule() []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	sec := func(id byte, items ...[]byte) {
		var body []byte
		body = appendU32(body, uint32(len(items)))
		for _, it := range items {
			body = append(body, it...)
		}
		b = append(b, id)
		b = appendU32(b, uint32(len(body)))
		b = append(b, body...)
	}
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	name := func(s string) []byte { return append(appendU32(nil, uint32(len(s))), s...) }
	code := func(locals []byte, body ...[]byte) []byte {
		fn := cat(locals, cat(body...), wasmgen.End)
		return append(appendU32(nil, uint32(len(fn))), fn...)
	}
	const (
		tI2I, tV2V                = 0, 1 // types
		fID                       = 0    // imported
		fInc, fStart, fRun, fBoom = 1, 2, 3, 4
	)
	sec(1, []byte{0x60, 1, 0x7f, 1, 0x7f}, []byte{0x60, 0, 0})
	sec(2, cat(name("env"), name("id"), []byte{0x00, tI2I}))
	sec(3, []byte{tI2I}, []byte{tV2V}, []byte{tI2I}, []byte{tV2V})
	sec(4, []byte{0x70, 0x00, 2})                                                      // table funcref min 2
	sec(6, []byte{0x7f, 0x01, 0x41, 0x00, 0x0b}, []byte{0x70, 0x00, 0xd2, fInc, 0x0b}) // g0 mut i32 = 0; g1 funcref = ref.func inc
	sec(7, cat(name("run"), []byte{0x00, fRun}), cat(name("boom"), []byte{0x00, fBoom}), cat(name("g0"), []byte{0x03, 0}))
	b = append(b, 8, 1, fStart) // start
	sec(9, cat([]byte{0x00}, wasmgen.I32Const(0), wasmgen.End, []byte{2, fInc, fID}))
	callIndirect := func(slot int32) []byte { return cat(wasmgen.I32Const(slot), []byte{0x11, tI2I, 0x00}) }
	sec(10,
		code([]byte{0}, wasmgen.LocalGet(0), wasmgen.I32Const(1), wasmgen.I32Add),
		code([]byte{0}, wasmgen.I32Const(7), []byte{0x24, 0}),
		code([]byte{1, 1, 0x7f},
			[]byte{0x02, 0x7f}, []byte{0x03, 0x7f}, // block $out (result i32); loop $L (result i32)
			wasmgen.LocalGet(1), wasmgen.Call(fInc), wasmgen.LocalSet(1),
			wasmgen.LocalGet(1), callIndirect(0), wasmgen.Drop,
			wasmgen.LocalGet(1), callIndirect(1), wasmgen.LocalSet(1),
			wasmgen.LocalGet(0), wasmgen.I32Const(1), i32Sub, []byte{0x22, 0}, wasmgen.I32Eqz,
			ifVoid, wasmgen.LocalGet(1), []byte{0x23, 0}, wasmgen.I32Add, []byte{0x0c, 2}, wasmgen.End,
			wasmgen.LocalGet(0), []byte{0x0e, 1, 0, 0}, // br_table [$L] $L
			wasmgen.End, wasmgen.End),
		code([]byte{0}, wasmgen.Unreachable),
	)
	names := cat([]byte{fID}, name("id"), []byte{fInc}, name("inc"), []byte{fStart}, name("start"),
		[]byte{fRun}, name("run"), []byte{fBoom}, name("boom"))
	sub := append(appendU32(nil, 5), names...)
	custom := cat(name("name"), []byte{1}, appendU32(nil, uint32(len(sub))), sub)
	b = append(b, 0)
	b = appendU32(b, uint32(len(custom)))
	return append(b, custom...)
}

func TestInstrumentSameResults(t *testing.T) {
	ctx := context.Background()
	raw := renumberModule()
	inst, err := instrument(raw)
	require.NoError(t, err)
	for name, wasm := range map[string][]byte{"raw": raw, "instrumented": inst} {
		t.Run(name, func(t *testing.T) {
			rt := wazero.NewRuntime(ctx)
			defer rt.Close(ctx)
			require.NoError(t, instantiateYield(ctx, rt))
			_, err := rt.NewHostModuleBuilder("env").NewFunctionBuilder().
				WithGoFunction(api.GoFunc(func(_ context.Context, s []uint64) {}), []api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}).
				Export("id").Instantiate(ctx)
			require.NoError(t, err)
			mod, err := rt.Instantiate(ctx, wasm)
			require.NoError(t, err)
			for _, n := range []uint64{1, 5, 3 * yieldEvery} {
				res, err := mod.ExportedFunction("run").Call(ctx, n)
				require.NoError(t, err)
				assert.EqualValues(t, n+7, res[0], "run(%d)", n)
			}
			_, err = mod.ExportedFunction("boom").Call(ctx)
			require.Error(t, err)
			assert.Contains(t, err.Error(), ".boom(", "the name section still names the right function")
		})
	}
}

// TestInstrumentCountsAcrossCalls: the countdown is written back before a
// call and read after it, so a callee's iterations count for its caller and
// yield runs every yieldEvery checks, however the work is split in calls.
func TestInstrumentCountsAcrossCalls(t *testing.T) {
	ctx := context.Background()
	// spin(n) loops n times; run(m, n) calls spin(n) m times in a loop.
	var m wasmgen.Module
	i2i := m.Type([]byte{wasmgen.I32}, nil)
	spin := m.Func(i2i, nil, wasmgen.LoopVoid,
		wasmgen.LocalGet(0), wasmgen.I32Const(1), i32Sub, wasmgen.LocalSet(0),
		wasmgen.LocalGet(0), wasmgen.BrIf0, wasmgen.End)
	m.Export("run", m.Func(m.Type([]byte{wasmgen.I32, wasmgen.I32}, nil), nil, wasmgen.LoopVoid,
		wasmgen.LocalGet(1), wasmgen.Call(spin),
		wasmgen.LocalGet(0), wasmgen.I32Const(1), i32Sub, wasmgen.LocalSet(0),
		wasmgen.LocalGet(0), wasmgen.BrIf0, wasmgen.End))
	// down(n) counts n down in a loop with a parameter (multi-value), which
	// keeps its check inside: loop (param i32) (result i32).
	loopType := m.Type([]byte{wasmgen.I32}, []byte{wasmgen.I32})
	m.Export("down", m.Func(m.Type([]byte{wasmgen.I32}, []byte{wasmgen.I32}), nil,
		wasmgen.LocalGet(0), []byte{0x03, byte(loopType)},
		wasmgen.I32Const(1), i32Sub, []byte{0x22, 0}, wasmgen.LocalGet(0), wasmgen.BrIf0,
		wasmgen.End))
	wasm, err := instrument(m.Bytes())
	require.NoError(t, err)
	yields := 0
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	_, err = rt.NewHostModuleBuilder(yieldModule).NewFunctionBuilder().
		WithGoFunction(api.GoFunc(func(_ context.Context, s []uint64) { yields++; s[0] = yieldEvery }), nil, []api.ValueType{api.ValueTypeI32}).
		Export(yieldName).Instantiate(ctx)
	require.NoError(t, err)
	mod, err := rt.Instantiate(ctx, wasm)
	require.NoError(t, err)
	// 1,000 calls of 1,000 iterations: about 1,000 × (1,000 + 2) checks.
	_, err = mod.ExportedFunction("run").Call(ctx, 1000, 1000)
	require.NoError(t, err)
	want := 1000 * 1002 / yieldEvery
	assert.InDelta(t, want, yields, 2, "yield calls for ~1M checks")

	yields = 0
	res, err := mod.ExportedFunction("down").Call(ctx, 10*yieldEvery)
	require.NoError(t, err)
	assert.EqualValues(t, 0, res[0])
	assert.InDelta(t, 10, yields, 1, "yield calls for 10 x yieldEvery iterations of a loop with a parameter")
}

// TestInstrumentRefusesOwnImport: a guest may not import the host's yield.
func TestInstrumentRefusesOwnImport(t *testing.T) {
	var m wasmgen.Module
	m.Import(yieldModule, yieldName, m.Type(nil, []byte{wasmgen.I32}))
	m.Export(abi.VersionExport, m.Func(m.Type(nil, nil), nil))
	_, err := instrument(m.Bytes())
	assert.ErrorIs(t, err, errInstrument)
}
