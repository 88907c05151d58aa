package hosttest_test

import (
	"bytes"
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/tetratelabs/wazero"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/internal/wasmgen"
)

// The host's benchmarks: what one Invoke costs on top of the floor (a
// no-op export called on a reused wazero instance).
//
//	go test -run '^$' -bench . -benchtime 2s -count 3 ./host/hosttest/

const benchGuests = "host/hosttest/testdata/guests/"

// benchEvent is a valid event with exactly 256 bytes of data, made once: the
// benchmarks measure the host, not building events.
func benchEvent(b *testing.B) cloudevents.Event {
	b.Helper()
	ev := hosttest.NewEvent("com.example.bench", "bench", bytes.Repeat([]byte("x"), 256))
	if n := len(ev.Data()); n != 256 {
		b.Fatalf("event data is %d bytes, want 256", n)
	}
	return ev
}

// benchDeploy deploys a test guest on a fresh host and checks that a first
// call is ok, so a broken guest never benchmarks an error path.
func benchDeploy(b *testing.B, guest string, opts ...hosttest.FunctionOption) (*hosttest.Host, *host.Function) {
	b.Helper()
	h := newHost(b)
	fn, err := h.Deploy(context.Background(), guest, build(b, benchGuests+guest), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = fn.Close(context.Background()) })
	return h, fn
}

func checkOK(b *testing.B, info host.ExecutionInfo) {
	b.Helper()
	if info.Status != host.StatusOK {
		b.Fatalf("status %s, want ok: %+v", info.Status, info.Error)
	}
}

// benchInvoke calls fn b.N times with ev, after one checked warm-up call.
func benchInvoke(b *testing.B, h *hosttest.Host, fn *host.Function) {
	b.Helper()
	ctx := context.Background()
	ev := benchEvent(b)
	checkOK(b, h.Send(ctx, fn, ev))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if info := h.Send(ctx, fn, ev); info.Status != host.StatusOK {
			b.Fatalf("status %s: %+v", info.Status, info.Error)
		}
	}
}

// noopPooledNS is the last noop-go/pooled result, for kvget's delta.
var noopPooledNS float64

func BenchmarkInvoke(b *testing.B) {
	b.Run("noop-go/pooled", func(b *testing.B) {
		h, fn := benchDeploy(b, "noop", hosttest.WithIsolation(host.Pooled))
		benchInvoke(b, h, fn)
		noopPooledNS = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("noop-go/fresh", func(b *testing.B) {
		h, fn := benchDeploy(b, "noop", hosttest.WithIsolation(host.Fresh))
		benchInvoke(b, h, fn)
	})
	b.Run("noop-go/pooled-parallel", func(b *testing.B) {
		h, fn := benchDeploy(b, "noop", hosttest.WithIsolation(host.Pooled),
			hosttest.WithLimits(host.Limits{MaxConcurrency: runtime.GOMAXPROCS(0) * 2}))
		ev := benchEvent(b)
		checkOK(b, h.Send(context.Background(), fn, ev))
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				if info := h.Send(ctx, fn, ev); info.Status != host.StatusOK {
					b.Errorf("status %s: %+v", info.Status, info.Error)
					return
				}
			}
		})
	})
	b.Run("kvget-go/pooled", func(b *testing.B) {
		h, fn := benchDeploy(b, "kvget", hosttest.Grant(abi.CapKV), hosttest.WithIsolation(host.Pooled))
		if err := h.SetKV(context.Background(), fn.Name(), "k", bytes.Repeat([]byte("v"), 64)); err != nil {
			b.Fatal(err)
		}
		benchInvoke(b, h, fn)
		if noopPooledNS > 0 {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)-noopPooledNS, "ns-over-noop/op")
		}
	})
	b.Run("propupdate-go/pooled", func(b *testing.B) {
		h, fn := benchDeploy(b, "propupdate", hosttest.Grant(abi.CapProps), hosttest.WithIsolation(host.Pooled))
		// A new event id per call, as deliveries have: write ids derive from
		// the event id, so a repeated id would be a repeated write.
		ctx := context.Background()
		ev := benchEvent(b)
		checkOK(b, h.Send(ctx, fn, ev))
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			ev.SetID("bench-" + strconv.Itoa(i))
			if info := h.Send(ctx, fn, ev); info.Status != host.StatusOK {
				b.Fatalf("status %s: %+v", info.Status, info.Error)
			}
		}
		b.StopTimer()
		// One update per call, warm-up included: nothing lost, nothing doubled.
		v, err := h.Property(context.Background(), "bench", "n")
		if err != nil {
			b.Fatal(err)
		}
		if want := strconv.Itoa(b.N + 1); string(v) != want {
			b.Fatalf("property n = %s after %d calls, want %s", v, b.N+1, want)
		}
	})
}

// floorModule exports noop() -> i32, returning 0.
func floorModule() []byte {
	var m wasmgen.Module
	m.Export("noop", m.Func(m.Type(nil, []byte{wasmgen.I32}), nil, wasmgen.I32Const(0)))
	return m.Bytes()
}

// BenchmarkFloor is the cost no host can go under: a no-op export called on
// a reused wazero instance, resolved once, with a reused stack.
func BenchmarkFloor(b *testing.B) {
	run := func(b *testing.B, rc wazero.RuntimeConfig, ctx context.Context, perCall time.Duration) {
		rt := wazero.NewRuntimeWithConfig(context.Background(), rc)
		b.Cleanup(func() { _ = rt.Close(context.Background()) })
		mod, err := rt.Instantiate(context.Background(), floorModule())
		if err != nil {
			b.Fatal(err)
		}
		fn := mod.ExportedFunction("noop")
		stack := make([]uint64, 1)
		if err := fn.CallWithStack(ctx, stack); err != nil || stack[0] != 0 {
			b.Fatalf("noop: %v, %d", err, stack[0])
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			cctx, cancel := ctx, context.CancelFunc(nil)
			if perCall > 0 {
				cctx, cancel = context.WithTimeout(ctx, perCall)
			}
			err := fn.CallWithStack(cctx, stack)
			if cancel != nil {
				cancel()
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("plain", func(b *testing.B) {
		run(b, wazero.NewRuntimeConfigCompiler(), context.Background(), 0)
	})
	// What the host's runtimes did before its own checks and yield import
	// (docs/RATIONALE.md): close modules when the call's context is done,
	// paying a watcher per call and an exit to Go per loop iteration.
	b.Run("close-on-done", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		run(b, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(true), ctx, 0)
	})
	// As the host does it: a context.WithTimeout per call as well.
	b.Run("close-on-done-timeout-per-call", func(b *testing.B) {
		run(b, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(true), context.Background(), 10*time.Second)
	})
}
