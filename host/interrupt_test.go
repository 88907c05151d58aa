package host

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/internal/wasmgen"
)

func TestInstrumentKeepsModulesValid(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for name, wasm := range map[string][]byte{
		"chaos":   chaosModule(),
		"command": commandModule(1, "x", 0),
		"no globals, no exports": func() []byte {
			var m wasmgen.Module
			m.Func(m.Type(nil, nil), nil, wasmgen.LoopVoid, wasmgen.End)
			return m.Bytes()
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			out, err := instrument(wasm)
			require.NoError(t, err)
			cm, err := rt.CompileModule(ctx, out)
			require.NoError(t, err)
			_, ok := cm.ExportedFunctions()[countdownExport]
			assert.False(t, ok, "the countdown is a global, not a function")
			again, err := instrument(wasm)
			require.NoError(t, err)
			assert.Equal(t, out, again, "instrument is deterministic")
		})
	}
}

func TestInstrumentRefusesGarbage(t *testing.T) {
	good := chaosModule()
	for _, b := range [][]byte{nil, []byte("\x00asm\x01\x00\x00\x00\x0a\xff"), good[:len(good)-3]} {
		_, err := instrument(b)
		assert.ErrorIs(t, err, errInstrument)
	}
}

// TestInitializeLoopTimesOut: an _initialize that never returns is stopped
// at its deadline (by yield) and the call ends as timeout.
func TestInitializeLoopTimesOut(t *testing.T) {
	h := newTestHost(t)
	var m wasmgen.Module
	m.Memory(1, 0)
	void := m.Type(nil, nil)
	m.Export(abi.VersionExport, m.Func(void, nil))
	m.Export(abi.InitializeExport, m.Func(void, nil, wasmgen.LoopVoid, wasmgen.Br0, wasmgen.End))
	m.Export(abi.HandleExport, m.Func(m.Type(nil, []byte{wasmgen.I32}), nil, wasmgen.I32Const(0)))
	mod, err := h.Load(t.Context(), m.Bytes())
	require.NoError(t, err)
	fn, err := h.NewFunction(t.Context(), mod, FunctionConfig{Name: "init", Limits: Limits{Timeout: 200 * time.Millisecond}})
	require.NoError(t, err)
	info := h.Invoke(t.Context(), fn, event(""))
	assert.Equal(t, StatusTimeout, info.Status, "%+v", info.Error)
	assert.Contains(t, info.Error.Message, "instantiate")
	assert.EqualValues(t, 0, fn.Stats().Instances)
}

// TestStartSectionLoopTimesOut: a module whose start section (run while the
// instance is created, as AssemblyScript's top-level code is) never returns
// is stopped at the call's deadline too; the host stays up.
func TestStartSectionLoopTimesOut(t *testing.T) {
	h := newTestHost(t)
	var m wasmgen.Module
	m.Memory(1, 0)
	void := m.Type(nil, nil)
	m.Export(abi.VersionExport, m.Func(void, nil))
	m.Export(abi.HandleExport, m.Func(m.Type(nil, []byte{wasmgen.I32}), nil, wasmgen.I32Const(0)))
	m.Start(m.Func(void, nil, wasmgen.LoopVoid, wasmgen.Br0, wasmgen.End))
	mod, err := h.Load(t.Context(), m.Bytes())
	require.NoError(t, err)
	fn, err := h.NewFunction(t.Context(), mod, FunctionConfig{Name: "start", Limits: Limits{Timeout: 200 * time.Millisecond}})
	require.NoError(t, err)
	done := make(chan ExecutionInfo, 1)
	go func() { done <- h.Invoke(t.Context(), fn, event("")) }()
	select {
	case info := <-done:
		assert.Equal(t, StatusTimeout, info.Status, "%+v", info.Error)
		assert.Contains(t, info.Error.Message, "instantiate")
	case <-time.After(30 * time.Second):
		t.Fatal("creating the instance never returned: the start section was not stopped")
	}
	assert.EqualValues(t, 0, fn.Stats().Instances)
}

// TestCommandLoopTimesOut: a WASI command stuck in a loop is stopped too.
func TestCommandLoopTimesOut(t *testing.T) {
	h := newTestHost(t)
	var m wasmgen.Module
	m.Memory(1, 0)
	m.Export(abi.StartExport, m.Func(m.Type(nil, nil), nil, wasmgen.LoopVoid, wasmgen.Br0, wasmgen.End))
	mod, err := h.Load(t.Context(), m.Bytes())
	require.NoError(t, err)
	fn, err := h.NewFunction(t.Context(), mod, FunctionConfig{Name: "cmd", Limits: Limits{Timeout: 200 * time.Millisecond}})
	require.NoError(t, err)
	start := time.Now()
	info := h.Invoke(t.Context(), fn, event(""))
	assert.Equal(t, StatusTimeout, info.Status, "%+v", info.Error)
	assert.Less(t, time.Since(start), 3*time.Second)
}

// TestLoopInterruptible: a loop is stopped at the deadline, and the same
// instrumented loop that ends on its own still runs to completion.
func TestLoopInterruptible(t *testing.T) {
	h := newTestHost(t)
	fn := chaosFunction(t, h, Limits{Timeout: 100 * time.Millisecond}, Pooled)
	info := h.Invoke(t.Context(), fn, event(strings.Repeat("x", caseLoop)))
	assert.Equal(t, StatusTimeout, info.Status)
	assert.Equal(t, StatusOK, h.Invoke(t.Context(), fn, event(strings.Repeat("x", caseSpin))).Status)
}

func FuzzInstrument(f *testing.F) {
	f.Add(chaosModule())
	f.Add(commandModule(2, "boom", 3))
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, err := instrument(wasm)
		if err != nil {
			return
		}
		// Whatever instrument accepts and wazero accepted before must still compile.
		if _, err := rt.CompileModule(ctx, wasm); err != nil {
			return
		}
		cm, err := rt.CompileModule(ctx, out)
		require.NoError(t, err)
		_ = cm.Close(ctx)
	})
}

// TestLoopDuringGC: a guest looping while the Go runtime collects garbage
// must still be stopped at its deadline. Without a safe point in the loop,
// the collection's stop-the-world waits for the guest forever: the process
// hangs. With a safe point too rare, each collection
// waits for it and the call ends late; so each call must end within 10 ms of
// its deadline, measured when Invoke returns (more under the race
// detector: raceSlack).
func TestLoopDuringGC(t *testing.T) {
	const timeout, margin = 200 * time.Millisecond, 10*time.Millisecond + raceSlack
	h := newTestHost(t)
	loop := chaosFunction(t, h, Limits{Timeout: timeout}, Pooled)
	mod, err := h.Load(t.Context(), treeModule())
	require.NoError(t, err)
	tree, err := h.NewFunction(t.Context(), mod, FunctionConfig{Name: "tree", Limits: Limits{Timeout: timeout}})
	require.NoError(t, err)
	stop := make(chan struct{})
	gcs := make(chan int, 1)
	go func() {
		n := 0
		defer func() { gcs <- n }()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
				n++
				// Pacing, not waiting: collections back to back, a
				// millisecond apart, are the load under test.
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for _, fn := range []*Function{loop, tree, loop, tree, loop} {
		start := time.Now()
		info := h.Invoke(t.Context(), fn, event(strings.Repeat("x", caseLoop)))
		late := time.Since(start.Add(timeout))
		assert.Equal(t, StatusTimeout, info.Status, fn.Name())
		assert.Less(t, late, margin, "%s ended %s after its deadline", fn.Name(), late)
		assert.GreaterOrEqual(t, late, time.Duration(0), "%s ended before its deadline", fn.Name())
	}
	close(stop)
	assert.Greater(t, <-gcs, 5, "collections ran during the calls")
}

// treeModule's handler calls f(40), where f(d) calls f(d-1) twice: 2^40
// calls and not one loop, so only function entries count down to yield.
func treeModule() []byte {
	const f = 1 // after the version export
	return reactor(1, nil, func(m *wasmgen.Module, _ map[string]uint32) {
		i2i := m.Type([]byte{wasmgen.I32}, []byte{wasmgen.I32})
		dec := []byte{}
		dec = append(dec, wasmgen.LocalGet(0)...)
		dec = append(dec, wasmgen.I32Const(1)...)
		dec = append(dec, i32Sub...)
		m.Func(i2i, nil,
			wasmgen.LocalGet(0), wasmgen.I32Eqz, []byte{0x04, 0x7f}, // if (result i32)
			wasmgen.I32Const(0),
			[]byte{0x05}, // else
			dec, wasmgen.Call(f), dec, wasmgen.Call(f), wasmgen.I32Add,
			wasmgen.End)
	}, wasmgen.I32Const(40), wasmgen.Call(f), wasmgen.Drop, wasmgen.I32Const(0))
}
