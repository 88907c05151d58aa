package benchcmp

import (
	"bytes"
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// BenchmarkCompare is the comparison, in one process: every row runs
// once per -count, interleaved, so drift hits all rows alike. The names are
// what cmd/benchtable keys on:
//
//	floor                          no-op export, reused wazero instance (the ratio's denominator)
//	floor/deadline                 the same with close-on-context-done and a timeout per call, as the host ran before its own checks
//	extism/noop/plugin             extism.NewPlugin once, Plugin.Call("noop", 256 bytes) per op
//	extism/noop/compiled-instance  extism.NewCompiledPlugin + Instance once, Call per op
//	extism/noop/instance-per-call  CompiledPlugin.Instance + Call + Close per op (Extism's "fresh")
//	extism/input/plugin            as plugin, but the export reads its input (pdk.Input)
//	wasmfaas/<guest>-<lang>/<isolation>  host.Invoke of a 256-byte event (lang: go, c, rust, assemblyscript)
//
// The kvget rows read a 64-byte value; kvget-c minus noop-c is the host's
// cost of a KV get, kvget-go minus kvget-c what the Go SDK adds.
func BenchmarkCompare(b *testing.B) {
	b.Run("floor", func(b *testing.B) { benchFloor(b, false) })
	b.Run("floor/deadline", func(b *testing.B) { benchFloor(b, true) })

	b.Run("extism/noop/plugin", func(b *testing.B) {
		benchExtismCall(b, extismPlugin(b), "noop")
	})
	b.Run("extism/noop/compiled-instance", func(b *testing.B) {
		benchExtismCall(b, extismInstance(b), "noop")
	})
	b.Run("extism/noop/instance-per-call", func(b *testing.B) {
		cp := extismCompiled(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			p, err := cp.Instance(ctx, extism.PluginInstanceConfig{})
			if err != nil {
				b.Fatal(err)
			}
			if rc, _, err := p.Call("noop", eventData); err != nil || rc != 0 {
				b.Fatalf("noop: rc %d, %v", rc, err)
			}
			_ = p.Close(ctx)
		}
	})
	b.Run("extism/input/plugin", func(b *testing.B) {
		benchExtismCall(b, extismPlugin(b), "input")
	})

	b.Run("wasmfaas/noop-go/pooled", func(b *testing.B) {
		benchInvoke(b, fnNoopGoPooled.get(b, func() (*host.Function, error) {
			return deployGo(hostGuests+"noop", hosttest.WithIsolation(host.Pooled))
		}))
	})
	b.Run("wasmfaas/noop-go/fresh", func(b *testing.B) {
		benchInvoke(b, fnNoopGoFresh.get(b, func() (*host.Function, error) {
			return deployGo(hostGuests+"noop", hosttest.WithIsolation(host.Fresh))
		}))
	})
	// The C rows: skipped where buildC is nil.
	b.Run("wasmfaas/noop-c/pooled", func(b *testing.B) {
		if buildC == nil {
			b.Skip("no C guest builder (buildC is nil)")
		}
		benchInvoke(b, fnNoopCPooled.get(b, func() (*host.Function, error) {
			return deployC(cNoopGuest, hosttest.WithIsolation(host.Pooled))
		}))
	})
	b.Run("wasmfaas/noop-c/fresh", func(b *testing.B) {
		if buildC == nil {
			b.Skip("no C guest builder (buildC is nil)")
		}
		benchInvoke(b, fnNoopCFresh.get(b, func() (*host.Function, error) {
			return deployC(cNoopGuest, hosttest.WithIsolation(host.Fresh))
		}))
	})
	// The Rust row: skipped where buildRust is nil.
	b.Run("wasmfaas/noop-rust/pooled", func(b *testing.B) {
		if buildRust == nil {
			b.Skip("no Rust guest builder (buildRust is nil)")
		}
		benchInvoke(b, fnNoopRustPooled.get(b, func() (*host.Function, error) {
			wasm, err := readRust(rustNoopGuest)
			if err != nil {
				return nil, err
			}
			return deploy("bench", wasm, hosttest.WithIsolation(host.Pooled))
		}))
	})
	b.Run("wasmfaas/noop-assemblyscript/pooled", func(b *testing.B) {
		benchInvoke(b, fnNoopASPooled.get(b, func() (*host.Function, error) {
			wasm, err := readAS(asNoopGuest)
			if err != nil {
				return nil, err
			}
			return deploy("bench", wasm, hosttest.WithIsolation(host.Pooled))
		}))
	})
	b.Run("wasmfaas/kvget-go/pooled", func(b *testing.B) {
		fn := fnKVGet.get(b, func() (*host.Function, error) {
			fn, err := deployGo(hostGuests+"kvget", hosttest.Grant(abi.CapKV), hosttest.WithIsolation(host.Pooled))
			if err != nil {
				return nil, err
			}
			// A 64-byte value, as the host's own kvget benchmark.
			return fn, sharedHost.v.SetKV(context.Background(), fn.Name(), "k", bytes.Repeat([]byte("v"), 64))
		})
		benchInvoke(b, fn)
	})
	b.Run("wasmfaas/kvget-c/pooled", func(b *testing.B) {
		if buildC == nil {
			b.Skip("no C guest builder (buildC is nil)")
		}
		fn := fnKVGetC.get(b, func() (*host.Function, error) {
			fn, err := deployC(cKVGetGuest, hosttest.Grant(abi.CapKV), hosttest.WithIsolation(host.Pooled))
			if err != nil {
				return nil, err
			}
			return fn, sharedHost.v.SetKV(context.Background(), fn.Name(), "k", bytes.Repeat([]byte("v"), 64))
		})
		benchInvoke(b, fn)
	})
	b.Run("wasmfaas/propupdate-go/pooled", func(b *testing.B) {
		fn := fnPropUpdate.get(b, func() (*host.Function, error) {
			return deployGo(hostGuests+"propupdate", hosttest.Grant(abi.CapProps), hosttest.WithIsolation(host.Pooled))
		})
		ctx := context.Background()
		before := propN(b, ctx)
		// A new event id per call, as deliveries have: the host derives its
		// write ids from the event's id, so one id for every call would be
		// one write applied and the rest recognised as repeats.
		n := benchInvokeIDs(b, fn)
		// One update per call, warm-up included: nothing lost, nothing doubled.
		if after := propN(b, ctx); after != before+n {
			b.Fatalf("property n = %d after %d calls from %d, want %d", after, n, before, before+n)
		}
	})
}

func propN(b *testing.B, ctx context.Context) int {
	b.Helper()
	v, err := sharedHost.v.Property(ctx, "bench", "n")
	if err != nil || v == nil {
		return 0 // not set yet
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		b.Fatalf("property n = %s: %v", v, err)
	}
	return n
}

// benchFloor calls a no-op export on a reused wazero instance, resolved once,
// with a reused stack; with deadline, as the host's runtimes did before
// their own checks (close on context done, a timeout per call).
func benchFloor(b *testing.B, deadline bool) {
	ctx := context.Background()
	rc := wazero.NewRuntimeConfigCompiler()
	if deadline {
		rc = rc.WithCloseOnContextDone(true)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, floorModule())
	if err != nil {
		b.Fatal(err)
	}
	fn := mod.ExportedFunction("noop")
	stack := make([]uint64, 1)
	call := func(fn api.Function) error {
		if !deadline {
			return fn.CallWithStack(ctx, stack)
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return fn.CallWithStack(cctx, stack)
	}
	if err := call(fn); err != nil || stack[0] != 0 {
		b.Fatalf("noop: %v, %d", err, stack[0])
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := call(fn); err != nil {
			b.Fatal(err)
		}
	}
}

// Extism fixtures: one compiled plugin (and its instances) for the process.
var (
	extismCompiledOnce once[*extism.CompiledPlugin]
	extismPluginOnce   once[*extism.Plugin]
	extismInstanceOnce once[*extism.Plugin]
)

func extismManifest(b *testing.B) extism.Manifest {
	wasm, err := buildPlugin(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: wasm, Name: "noop"}}}
}

// extismPlugin is the documented way: extism.NewPlugin (compile and
// instantiate), WASI enabled.
func extismPlugin(b *testing.B) *extism.Plugin {
	return extismPluginOnce.get(b, func() (*extism.Plugin, error) {
		p, err := extism.NewPlugin(context.Background(), extismManifest(b), extism.PluginConfig{EnableWasi: true}, nil)
		if err == nil {
			atExit(func() { _ = p.Close(context.Background()) })
		}
		return p, err
	})
}

// extismCompiled is the pre-compiled way: NewCompiledPlugin once, then
// Instance per plugin.
func extismCompiled(b *testing.B) *extism.CompiledPlugin {
	return extismCompiledOnce.get(b, func() (*extism.CompiledPlugin, error) {
		cp, err := extism.NewCompiledPlugin(context.Background(), extismManifest(b), extism.PluginConfig{EnableWasi: true}, nil)
		if err == nil {
			atExit(func() { _ = cp.Close(context.Background()) })
		}
		return cp, err
	})
}

func extismInstance(b *testing.B) *extism.Plugin {
	cp := extismCompiled(b)
	return extismInstanceOnce.get(b, func() (*extism.Plugin, error) {
		p, err := cp.Instance(context.Background(), extism.PluginInstanceConfig{})
		if err == nil {
			atExit(func() { _ = p.Close(context.Background()) })
		}
		return p, err
	})
}

// benchExtismCall calls export on p with the 256-byte input per op, after a
// checked warm-up call (which also runs the Go guest's initialization).
func benchExtismCall(b *testing.B, p *extism.Plugin, export string) {
	if rc, _, err := p.Call(export, eventData); err != nil || rc != 0 {
		b.Fatalf("%s: rc %d, %v", export, rc, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if rc, _, err := p.Call(export, eventData); err != nil || rc != 0 {
			b.Fatalf("%s: rc %d, %v", export, rc, err)
		}
	}
}

// wasmfaas fixtures: one host (in-memory store) and one function per row.
var (
	sharedHost                                         once[*hosttest.Host]
	fnNoopGoPooled, fnNoopGoFresh                      once[*host.Function]
	fnNoopCPooled, fnNoopCFresh, fnKVGet, fnPropUpdate once[*host.Function]
	fnKVGetC, fnNoopRustPooled, fnNoopASPooled         once[*host.Function]
)

func theHost() (*hosttest.Host, error) {
	sharedHost.once.Do(func() {
		sharedHost.v, sharedHost.err = hosttest.New(hosttest.Options{})
		if sharedHost.err == nil {
			atExit(func() { _ = sharedHost.v.Close() })
		}
	})
	return sharedHost.v, sharedHost.err
}

func deploy(name string, wasm []byte, opts ...hosttest.FunctionOption) (*host.Function, error) {
	h, err := theHost()
	if err != nil {
		return nil, err
	}
	fn, err := h.Deploy(context.Background(), name, wasm, opts...)
	if err == nil {
		atExit(func() { _ = fn.Close(context.Background()) })
	}
	return fn, err
}

func deployGo(dir string, opts ...hosttest.FunctionOption) (*host.Function, error) {
	wasm, err := readGo(dir)
	if err != nil {
		return nil, err
	}
	return deploy("bench", wasm, opts...)
}

func deployC(dir string, opts ...hosttest.FunctionOption) (*host.Function, error) {
	wasm, err := readC(dir)
	if err != nil {
		return nil, err
	}
	return deploy("bench", wasm, opts...)
}

// benchInvoke invokes fn with the 256-byte event per op, after one checked
// warm-up call, and returns how many calls it made.
func benchInvoke(b *testing.B, fn *host.Function) int { return benchSend(b, fn, false) }

// benchInvokeIDs is benchInvoke with a new event id per call (its cost,
// a strconv and a SetID, is part of the row).
func benchInvokeIDs(b *testing.B, fn *host.Function) int { return benchSend(b, fn, true) }

// benchSeq numbers the events of benchInvokeIDs across every run of the
// process, so no id repeats between -count runs on the shared host.
var benchSeq atomic.Int64

func benchSend(b *testing.B, fn *host.Function, newIDs bool) int {
	h := sharedHost.v
	ctx := context.Background()
	ev := benchEvent()
	n := 0
	send := func() {
		if newIDs {
			ev.SetID("bench-" + strconv.FormatInt(benchSeq.Add(1), 10))
		}
		if info := h.Send(ctx, fn, ev); info.Status != host.StatusOK {
			b.Fatalf("status %s: %+v", info.Status, info.Error)
		}
		n++
	}
	send()
	b.ReportAllocs()
	for b.Loop() {
		send()
	}
	return n
}
