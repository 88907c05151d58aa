package host

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/internal/wasmgen"
)

func newTestHost(t testing.TB) *Host {
	t.Helper()
	h, err := New(Config{CacheDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

func event(data string) cloudevents.Event {
	ev := cloudevents.NewEvent()
	ev.SetID("ev-1")
	ev.SetSource("test")
	ev.SetType("com.example.test")
	ev.SetSubject("device|1")
	if data != "" {
		_ = ev.SetData("text/plain", []byte(data))
	}
	return ev
}

func chaosFunction(t testing.TB, h *Host, lim Limits, iso Isolation) *Function {
	t.Helper()
	m, err := h.Load(t.Context(), chaosModule())
	require.NoError(t, err)
	fn, err := h.NewFunction(t.Context(), m, FunctionConfig{
		Name: "chaos", Grants: abi.NewGrants(abi.CapLog, abi.CapEmit), Limits: lim, Isolation: iso,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = fn.Close(context.Background()) })
	return fn
}

func TestLoadRefusesBadModules(t *testing.T) {
	h := newTestHost(t)
	good := reactor(1, []string{"event_data"}, nil, wasmgen.I32Const(0))
	var noEntry wasmgen.Module
	noEntry.Memory(1, 0)
	noEntry.Export("something", noEntry.Func(noEntry.Type(nil, nil), nil))

	var unknown wasmgen.Module
	unknown.Import(abi.ImportModule, "kv_frobnicate", unknown.Type(nil, []byte{wasmgen.I32}))
	unknown.Memory(1, 0)
	unknown.Export(abi.VersionExport, unknown.Func(unknown.Type(nil, nil), nil))
	unknown.Export(abi.HandleExport, unknown.Func(unknown.Type(nil, []byte{wasmgen.I32}), nil, wasmgen.I32Const(0)))

	var badSig wasmgen.Module
	badSig.Import(abi.ImportModule, "kv_get", badSig.Type([]byte{wasmgen.I32}, []byte{wasmgen.I32}))
	badSig.Memory(1, 0)
	badSig.Export(abi.VersionExport, badSig.Func(badSig.Type(nil, nil), nil))
	badSig.Export(abi.HandleExport, badSig.Func(badSig.Type(nil, []byte{wasmgen.I32}), nil, wasmgen.I32Const(0)))

	var v2 wasmgen.Module
	v2.Memory(1, 0)
	v2.Export("wasmfaas_abi_v2", v2.Func(v2.Type(nil, nil), nil))
	v2.Export(abi.HandleExport, v2.Func(v2.Type(nil, []byte{wasmgen.I32}), nil, wasmgen.I32Const(0)))

	var env wasmgen.Module
	env.Import("env", "abort", env.Type(nil, nil))
	env.Memory(1, 0)
	env.Export(abi.StartExport, env.Func(env.Type(nil, nil), nil))

	tests := []struct {
		name string
		wasm []byte
		want error
		msg  string
	}{
		{"garbage", []byte("this is not wasm at all"), abi.ErrInvalidModule, "bad magic"},
		{"truncated", good[:len(good)-5], abi.ErrInvalidModule, ""},
		{"empty", nil, abi.ErrInvalidModule, "bad magic"},
		{"no entry point", noEntry.Bytes(), abi.ErrInvalidModule, "neither wasmfaas_handle nor _start"},
		{"unknown host function", unknown.Bytes(), abi.ErrUnknownImport, "wasmfaas_v1.kv_frobnicate"},
		{"wrong signature", badSig.Bytes(), abi.ErrUnknownImport, "signature is (i32) -> i32"},
		{"abi v2", v2.Bytes(), abi.ErrABIVersion, "speaks wasmfaas ABI v2; this host speaks v1"},
		{"unknown import module", env.Bytes(), abi.ErrUnknownImport, "env.abort"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.Load(t.Context(), tt.wasm)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
	m, err := h.Load(t.Context(), good)
	require.NoError(t, err)
	assert.Equal(t, abi.ModeReactor, m.Mode)
	assert.Equal(t, []string{"wasmfaas_v1.event_data"}, m.Imports)
}

func TestNewFunctionRefusesUngrantedImports(t *testing.T) {
	h := newTestHost(t)
	m, err := h.Load(t.Context(), reactor(1, []string{"event_data", "kv_get"}, nil, wasmgen.I32Const(0)))
	require.NoError(t, err)
	assert.Equal(t, []abi.Capability{abi.CapKV}, m.Capabilities)

	_, err = h.NewFunction(t.Context(), m, FunctionConfig{Name: "f"})
	require.ErrorIs(t, err, abi.ErrNotGranted)
	assert.Contains(t, err.Error(), `wasmfaas_v1.kv_get: needs capability "kv"`)

	fn, err := h.NewFunction(t.Context(), m, FunctionConfig{Name: "f", Grants: abi.NewGrants(abi.CapKV)})
	require.NoError(t, err)
	require.NoError(t, fn.Close(t.Context()))

	var wasi wasmgen.Module
	wasi.Import(abi.WASIModule, "random_get", wasi.Type([]byte{wasmgen.I32, wasmgen.I32}, []byte{wasmgen.I32}))
	wasi.Memory(1, 0)
	wasi.Export(abi.VersionExport, wasi.Func(wasi.Type(nil, nil), nil))
	wasi.Export(abi.HandleExport, wasi.Func(wasi.Type(nil, []byte{wasmgen.I32}), nil, wasmgen.I32Const(0)))
	wm, err := h.Load(t.Context(), wasi.Bytes())
	require.NoError(t, err)
	_, err = h.NewFunction(t.Context(), wm, FunctionConfig{Name: "strict", Grants: abi.NewGrants(abi.CapLog)})
	require.ErrorIs(t, err, abi.ErrNotGranted)
	assert.Contains(t, err.Error(), "wasi_snapshot_preview1.random_get")

	big, err := h.Load(t.Context(), reactor(300, nil, nil, wasmgen.I32Const(0)))
	require.NoError(t, err)
	_, err = h.NewFunction(t.Context(), big, FunctionConfig{Name: "big", Limits: Limits{MemoryPages: 256}})
	require.ErrorIs(t, err, ErrInvalidFunction)
	assert.Contains(t, err.Error(), "needs 300 memory pages")
}

func TestChaos(t *testing.T) {
	h := newTestHost(t)
	fn := chaosFunction(t, h, Limits{Timeout: 3 * time.Second, MemoryPages: 64, MaxOutputBytes: 1000, MaxEmits: 10}, Pooled)
	tests := []struct {
		name   string
		c      int
		status Status
		kind   string
		msg    string
	}{
		{"infinite loop", caseLoop, StatusTimeout, abi.KindTimeout, "timeout of 3s"},
		{"unreachable", caseUnreachable, StatusTrap, abi.KindTrap, "unreachable"},
		{"memory past limit", caseGrow, StatusError, "out_of_memory", ""},
		{"out of bounds pointer", caseOOBPointer, StatusTrap, abi.KindTrap, "event_data: region [0xfffffff0, +0x20) outside memory"},
		{"length 0xFFFFFFFF", caseHugeLength, StatusTrap, abi.KindTrap, "log_write: region [0x0, +0xffffffff) outside memory"},
		{"output over limit", caseBigResult, StatusError, abi.KindLimit, "max output is 1000"},
		{"too many emits", caseManyEmits, StatusError, abi.KindLimit, "more than 10 emitted events"},
		{"emit without type", caseEmptyType, StatusError, abi.KindInvalidEmit, "type is missing or empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			info := h.Invoke(t.Context(), fn, event(strings.Repeat("x", tt.c)))
			require.Equal(t, tt.status, info.Status, "error: %+v", info.Error)
			require.NotNil(t, info.Error)
			assert.Equal(t, tt.kind, info.Error.Kind)
			assert.Contains(t, info.Error.Message, tt.msg)
			if tt.status == StatusTimeout {
				assert.Less(t, time.Since(start), 6*time.Second, "a loop must end near its deadline")
			}
			// The host carries on and the next call gets a healthy instance.
			next := h.Invoke(t.Context(), fn, event(""))
			assert.Equal(t, StatusOK, next.Status, "next call after %s: %+v", tt.name, next.Error)
		})
	}
}

func TestConcurrencyBounded(t *testing.T) {
	h := newTestHost(t)
	fn := chaosFunction(t, h, Limits{MaxConcurrency: 4, Timeout: 30 * time.Second}, Pooled)
	var wg sync.WaitGroup
	var maxLive, ok atomic.Int64
	infos := make([]ExecutionInfo, 200)
	for i := range infos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			infos[i] = h.Invoke(context.Background(), fn, event(strings.Repeat("x", caseSpin)))
			if infos[i].Status == StatusOK {
				ok.Add(1)
			}
			for {
				cur, live := maxLive.Load(), fn.Stats().Instances
				if live <= cur || maxLive.CompareAndSwap(cur, live) {
					break
				}
			}
		}()
	}
	wg.Wait()
	for i, info := range infos {
		require.NotEmpty(t, info.CallID, "call %d has no record", i)
	}
	assert.EqualValues(t, 200, ok.Load())
	assert.LessOrEqual(t, maxLive.Load(), int64(4))
	st := fn.Stats()
	assert.LessOrEqual(t, st.Created, int64(4), "pooled instances are reused")
	t.Logf("200 calls on 4 slots: %d instances created, %d calls waited", st.Created, st.Waits)
}

func TestOverloadRejects(t *testing.T) {
	h := newTestHost(t)
	fn := chaosFunction(t, h, Limits{MaxConcurrency: 1, Timeout: time.Second}, Pooled)
	done := make(chan ExecutionInfo)
	go func() { done <- h.Invoke(context.Background(), fn, event(strings.Repeat("x", caseLoop))) }()
	require.Eventually(t, func() bool { return fn.Stats().Busy > 0 }, 10*time.Second, time.Millisecond, "the first call holds the slot")
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	info := h.Invoke(ctx, fn, event(""))
	assert.Equal(t, StatusRejected, info.Status)
	require.NotNil(t, info.Error)
	assert.Equal(t, abi.KindOverloaded, info.Error.Kind)
	assert.Equal(t, StatusTimeout, (<-done).Status)
}

func TestFreshIsolation(t *testing.T) {
	h := newTestHost(t)
	fn := chaosFunction(t, h, Limits{}, Fresh)
	for range 3 {
		assert.Equal(t, StatusOK, h.Invoke(t.Context(), fn, event("")).Status)
	}
	st := fn.Stats()
	assert.EqualValues(t, 3, st.Created)
	assert.EqualValues(t, 0, st.Instances)
}

// TestRecursionMemoryBounded runs five guests recursing without bound at
// once and checks that the host's memory stays bounded.
func TestRecursionMemoryBounded(t *testing.T) {
	h := newTestHost(t)
	// Growing five stacks to wazero's ceiling takes seconds under -race.
	fn := chaosFunction(t, h, Limits{MaxConcurrency: 5, Timeout: 2 * time.Minute}, Pooled)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			info := h.Invoke(context.Background(), fn, event(strings.Repeat("x", caseRecurse)))
			assert.Equal(t, StatusTrap, info.Status)
			if assert.NotNil(t, info.Error) {
				assert.Contains(t, info.Error.Message, "stack overflow")
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, StatusOK, h.Invoke(t.Context(), fn, event("")).Status, "the host carries on")
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grown := int64(after.Sys) - int64(before.Sys)
	t.Logf("host Sys memory grew by %.1f MiB for 5 concurrent unbounded recursions", float64(grown)/(1<<20))
	// wazero caps each call stack at 400 MB (callStackCeiling in
	// internal/engine/wazevo), so the bound is concurrency x 400 MB; we
	// measured about 560 MB for five (docs/RATIONALE.md).
	assert.Less(t, grown, int64(5*400<<20))
}

func TestInvokeRejectsInvalidEvent(t *testing.T) {
	h := newTestHost(t)
	fn := chaosFunction(t, h, Limits{}, Pooled)
	ev := cloudevents.NewEvent()
	info := h.Invoke(t.Context(), fn, ev)
	assert.Equal(t, StatusRejected, info.Status)
	assert.Equal(t, abi.KindInvalidInput, info.Error.Kind)
}

func TestPrewarm(t *testing.T) {
	h := newTestHost(t)
	fn := chaosFunction(t, h, Limits{MaxConcurrency: 3}, Pooled)
	require.NoError(t, fn.Prewarm(t.Context(), 10))
	st := fn.Stats()
	assert.EqualValues(t, 3, st.Instances, "never more than MaxConcurrency")
	assert.Equal(t, StatusOK, h.Invoke(t.Context(), fn, event("")).Status)
	assert.EqualValues(t, 3, fn.Stats().Created, "the call used a warm instance")
}

// TestCallerCancelStopsGuest: cancelling the caller's context ends a
// looping guest (context.AfterFunc marks it stopped; yield ends it).
func TestCallerCancelStopsGuest(t *testing.T) {
	h := newTestHost(t)
	fn := chaosFunction(t, h, Limits{Timeout: time.Minute}, Pooled)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	info := h.Invoke(ctx, fn, event(strings.Repeat("x", caseLoop)))
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, StatusTimeout, info.Status)
	assert.Equal(t, "canceled", info.Error.Kind)
	assert.Equal(t, StatusOK, h.Invoke(t.Context(), fn, event("")).Status)
}

func TestCallIDIsUUIDv7(t *testing.T) {
	now := time.Now()
	id := newCallID(now)
	require.Len(t, id, 36)
	assert.Equal(t, byte('7'), id[14])
	assert.Contains(t, "89ab", string(id[19]))
	assert.NotEqual(t, id, newCallID(now))
	assert.Less(t, newCallID(now), newCallID(now.Add(2*time.Millisecond)), "ids sort by time")
}
