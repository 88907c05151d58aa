package hosttest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/store/storetest"
)

var repoRoot = filepath.Join("..", "..")

func build(t testing.TB, dir string) []byte {
	t.Helper()
	return buildWith(t, hosttest.BuildGo, dir)
}

// buildWith builds the guest at path (under the repository) with one of
// hosttest's builders and returns the module.
func buildWith(t testing.TB, builder func(context.Context, string) (string, error), path string) []byte {
	t.Helper()
	out, err := builder(context.Background(), filepath.Join(repoRoot, path))
	require.NoError(t, err)
	wasm, err := os.ReadFile(out)
	require.NoError(t, err)
	return wasm
}

// extraCapabilities are the capabilities m imports beyond core and the
// default grants: what its function must be granted.
func extraCapabilities(m *host.Module) []abi.Capability {
	var extra []abi.Capability
	defaults := abi.NewGrants(abi.DefaultGrants...)
	for _, c := range m.Capabilities {
		if !defaults[c] && c != abi.CapCore {
			extra = append(extra, c)
		}
	}
	return extra
}

func newHost(t testing.TB) *hosttest.Host {
	t.Helper()
	h, err := hosttest.New(hosttest.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// TestExamples runs every testdata case of every Go example; grants come
// from each testdata/suite.json, as for `wasmfaas test`.
func TestExamples(t *testing.T) {
	for _, name := range []string{"hello", "counter", "temperature", "wasi-upper"} {
		t.Run(name, func(t *testing.T) {
			suite := hosttest.Suite{Wasm: build(t, filepath.Join("examples", name, "go"))}
			results, err := suite.Run(t.Context(), filepath.Join(repoRoot, "examples", name, "testdata"))
			require.NoError(t, err)
			require.NotEmpty(t, results)
			for _, r := range results {
				assert.True(t, r.Passed(), "case %s: err=%v diffs=%v info.error=%+v", r.Case.Name, r.Err, r.Diffs, r.Info.Error)
			}
		})
	}
}

// TestCounterHammer: 8 goroutines x 500 increments of one property through
// the Go SDK's Update end at exactly 4000.
func TestCounterHammer(t *testing.T) {
	h := newHost(t)
	fn, err := h.Deploy(t.Context(), "counter", build(t, "examples/counter/go"),
		hosttest.Grant(abi.CapProps), hosttest.WithLimits(host.Limits{MaxConcurrency: 8}))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				info := h.Send(context.Background(), fn, hosttest.NewEvent("com.example.count", "door|1", nil))
				if !assert.Equal(t, host.StatusOK, info.Status, "%+v", info.Error) {
					return
				}
			}
		}()
	}
	wg.Wait()
	v, err := h.Property(t.Context(), "door|1", "count")
	require.NoError(t, err)
	assert.JSONEq(t, "4000", string(v))
}

// TestNaughtyStringsRoundTrip sends hostile strings as subject, type, an
// extension and data, and checks they come back exactly through attributes,
// data, KV keys and values, properties and extended properties.
func TestNaughtyStringsRoundTrip(t *testing.T) {
	strs, err := storetest.NaughtyStrings()
	require.NoError(t, err)
	h := newHost(t)
	fn, err := h.Deploy(t.Context(), "roundtrip", build(t, "host/hosttest/testdata/guests/roundtrip"),
		hosttest.Grant(abi.CapKV, abi.CapProps))
	require.NoError(t, err)
	tested := 0
	for _, s := range strs {
		if abi.CheckKey(s) != nil || abi.CheckSubject(s) != nil || abi.CheckPropertyName(s) != nil || abi.CheckExtValue(s) != nil {
			continue // the ABI refuses it, with INVALID, tested in store
		}
		if strings.ContainsAny(s, "\x00") || !utf8.ValidString(s) || hasControl(s) {
			continue // CloudEvents attributes cannot carry control characters
		}
		ev := cloudevents.NewEvent()
		ev.SetID("naughty")
		ev.SetSource("test")
		ev.SetType(s)
		ev.SetSubject(s)
		ev.SetExtension("note", s)
		require.NoError(t, ev.SetData("text/plain", []byte(s)))
		if ev.Validate() != nil {
			continue // not a valid CloudEvent (e.g. a blank type): ingress refuses it
		}
		info := h.Send(t.Context(), fn, ev)
		require.Equal(t, host.StatusOK, info.Status, "%q: %+v", s, info.Error)
		var got struct {
			Subject, Type, Note, Property, Ext string
			Data, KV                           []byte
			KVKeys                             []string `json:"kv_keys"`
		}
		require.NoError(t, json.Unmarshal(info.Result.Body, &got))
		// sdk-go's setters trim spaces from subject and type; the host must
		// carry exactly what the event holds.
		assert.Equal(t, ev.Subject(), got.Subject)
		assert.Equal(t, ev.Type(), got.Type)
		assert.Equal(t, s, got.Note)
		assert.Equal(t, s, got.Property)
		assert.Equal(t, s, got.Ext)
		assert.Equal(t, []byte(s), got.Data)
		assert.Equal(t, []byte(s), got.KV)
		assert.Contains(t, got.KVKeys, s)
		tested++
	}
	t.Logf("%d naughty strings round-tripped", tested)
	assert.Greater(t, tested, 50)
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return true
		}
	}
	return false
}

func TestGoPanicIsTrap(t *testing.T) {
	h := newHost(t)
	fn, err := h.Deploy(t.Context(), "panic", build(t, "host/hosttest/testdata/guests/panic"))
	require.NoError(t, err)
	info := h.Send(t.Context(), fn, hosttest.NewEvent("x", "", "panic"))
	require.Equal(t, host.StatusTrap, info.Status)
	assert.Contains(t, info.Error.Message, "sensor on fire")
	assert.Equal(t, host.StatusOK, h.Send(t.Context(), fn, hosttest.NewEvent("x", "", "calm")).Status)
}

// TestMemoryBudget: guests share one host-wide budget of linear memory. A
// function holding 20 MiB leaves a second one, whose own limit is 32 MiB,
// less than that: its memory bomb ends with kind limit when the budget
// refuses, not the host; the other function and the next calls carry on,
// and a limit above the budget is refused at deploy.
func TestMemoryBudget(t *testing.T) {
	const budget = 48 << 20
	h, err := hosttest.New(hosttest.Options{MemoryBudget: budget})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	wasm := build(t, "host/hosttest/testdata/guests/membomb")
	_, err = h.Deploy(t.Context(), "too-big", wasm, hosttest.WithLimits(host.Limits{MemoryPages: 1024}))
	require.ErrorIs(t, err, host.ErrInvalidFunction, "64 MiB over a 48 MiB budget")
	assert.ErrorContains(t, err, "memory budget")

	hold, err := h.Deploy(t.Context(), "hold", wasm, hosttest.WithLimits(host.Limits{MemoryPages: 512, MaxConcurrency: 1}))
	require.NoError(t, err)
	bomb, err := h.Deploy(t.Context(), "bomb", wasm, hosttest.WithLimits(host.Limits{MemoryPages: 512, MaxConcurrency: 1}))
	require.NoError(t, err)
	info := h.Send(t.Context(), hold, hosttest.NewEvent("x", "", "hold:20"))
	require.Equal(t, host.StatusOK, info.Status, "%+v", info.Error)
	held := h.MemoryUsed()
	assert.GreaterOrEqual(t, held, int64(20<<20))

	info = h.Send(t.Context(), bomb, hosttest.NewEvent("x", "", "bomb"))
	require.Equal(t, host.StatusError, info.Status, "%+v", info.Error)
	assert.Equal(t, "limit", info.Error.Kind)
	assert.Contains(t, info.Error.Message, "memory budget")
	assert.Less(t, info.MemoryBytes, uint64(32<<20), "the budget, not the function's limit, stopped it")
	assert.LessOrEqual(t, h.MemoryUsed(), int64(budget))

	assert.Equal(t, host.StatusOK, h.Send(t.Context(), bomb, hosttest.NewEvent("x", "", "calm")).Status, "the next call runs")
	assert.Equal(t, host.StatusOK, h.Send(t.Context(), hold, hosttest.NewEvent("x", "", "calm")).Status, "the other function carries on")
	require.NoError(t, hold.Close(t.Context()))
	require.NoError(t, bomb.Close(t.Context()))
	assert.Zero(t, h.MemoryUsed(), "closed instances give their memory back")
}

func TestGoMemoryBomb(t *testing.T) {
	h := newHost(t)
	fn, err := h.Deploy(t.Context(), "bomb", build(t, "host/hosttest/testdata/guests/membomb"),
		hosttest.WithLimits(host.Limits{MemoryPages: 512}))
	require.NoError(t, err)
	info := h.Send(t.Context(), fn, hosttest.NewEvent("x", "", "bomb"))
	require.Equal(t, host.StatusTrap, info.Status, "%+v", info.Error)
	assert.Contains(t, info.Error.Message, "out of memory")
	assert.LessOrEqual(t, info.MemoryBytes, uint64(512*65536))
	assert.Equal(t, host.StatusOK, h.Send(t.Context(), fn, hosttest.NewEvent("x", "", "calm")).Status)
}
