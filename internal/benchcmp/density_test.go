package benchcmp

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// TestDensity measures memory per warm (idle, pooled) instance: 100 of the
// Go no-op guest and 1,000 of the C no-op guest (a density target). It runs
// only when asked for by name:
//
//	go test -run '^TestDensity$' -v .
//
// Each guest is measured in a process of its own (this test binary, run
// again with $BENCHCMP_DENSITY_ROW), so memory one measurement freed cannot
// hide what the next one maps. Memory is read after a forced GC and
// FreeOSMemory, with one instance already warm (so one-time costs are not
// counted), and again with N: the delta divided by N-1 is per instance.
//
// Instances are warmed with (*host.Function).Prewarm and stay idle in the
// pool.
func TestDensity(t *testing.T) {
	if f := flag.Lookup("test.run"); f == nil || !strings.Contains(f.Value.String(), "Density") {
		t.Skip("run with -run Density")
	}
	type guest struct {
		name string
		wasm func() ([]byte, error)
		n    int
		skip string
	}
	guests := []guest{
		{name: "Go no-op", n: 100, wasm: func() ([]byte, error) { return readGo(hostGuests + "noop") }},
		{name: "C no-op", n: 1000, wasm: func() ([]byte, error) { return readC(cNoopGuest) }},
	}
	if buildC == nil {
		guests[1].skip = "no C guest builder (buildC is nil)"
	}

	// In the child: measure one row and print it for the parent.
	if row := os.Getenv(densityRowEnv); row != "" {
		i, err := strconv.Atoi(row)
		if err != nil || i < 0 || i >= len(guests) {
			t.Fatalf("%s=%q", densityRowEnv, row)
		}
		g := guests[i]
		wasm, err := g.wasm()
		if err != nil {
			t.Fatal(err)
		}
		d, err := density(t, wasm, g.n)
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		b, _ := json.Marshal(d)
		fmt.Printf("%s%s\n", densityRowPrefix, b)
		return
	}

	var rows []string
	for i, g := range guests {
		if g.skip != "" {
			rows = append(rows, fmt.Sprintf("| %s | %d | not measured: %s | | | | |", g.name, g.n, g.skip))
			continue
		}
		d, err := densityChild(t, i)
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		rows = append(rows, fmt.Sprintf("| %s | %d | %s | %s | %s | %s | %s |", g.name, g.n, (d.Warm/time.Duration(g.n-1)).Round(time.Microsecond),
			perInstance(d.After.Heap-d.Before.Heap, g.n-1), perInstance(d.After.Sys-d.Before.Sys, g.n-1),
			perInstance(d.After.RSS-d.Before.RSS, g.n-1), mib(d.After.RSS)))
	}
	fmt.Printf("\n%s/%s, %s; per instance = (with N warm - with 1 warm) / (N-1), after GC and FreeOSMemory, one process per row\n\n",
		runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Println("| guest | warm instances | Prewarm / instance | Go heap+stack in use / instance | Go Sys / instance | VmRSS / instance | VmRSS total |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Println(r)
	}
	fmt.Println("\nHeap counts each instance's linear memory as allocated; VmRSS only the pages it has touched.")
	fmt.Println()
}

const (
	densityRowEnv    = "BENCHCMP_DENSITY_ROW"
	densityRowPrefix = "density-row: "
)

// densityChild runs TestDensity for row i in a new process of this test
// binary and returns what it measured.
func densityChild(t *testing.T, i int) (densityResult, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestDensity$", "-test.count=1")
	cmd.Env = append(os.Environ(), densityRowEnv+"="+strconv.Itoa(i))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return densityResult{}, fmt.Errorf("%v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if rest, ok := strings.CutPrefix(line, densityRowPrefix); ok {
			var d densityResult
			return d, json.Unmarshal([]byte(rest), &d)
		}
	}
	return densityResult{}, fmt.Errorf("no %q line in:\n%s", densityRowPrefix, out)
}

type memSample struct{ Heap, Sys, RSS int64 }

type densityResult struct {
	Before, After memSample
	Warm          time.Duration // Prewarm's time for the n-1 instances
}

func sample() memSample {
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{Heap: int64(ms.HeapInuse + ms.StackInuse), Sys: int64(ms.Sys), RSS: vmRSS()}
}

// vmRSS is /proc/self/status's VmRSS in bytes, 0 where there is none.
func vmRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func density(t *testing.T, wasm []byte, n int) (densityResult, error) {
	ctx := context.Background()
	h, err := hosttest.New(hosttest.Options{})
	if err != nil {
		return densityResult{}, err
	}
	defer h.Close()
	fn, err := h.Deploy(ctx, "density", wasm, hosttest.WithIsolation(host.Pooled),
		hosttest.WithLimits(host.Limits{MaxConcurrency: n, Timeout: time.Minute}))
	if err != nil {
		return densityResult{}, err
	}
	defer fn.Close(ctx)
	if info := h.Send(ctx, fn, benchEvent()); info.Status != host.StatusOK {
		return densityResult{}, fmt.Errorf("status %s: %+v", info.Status, info.Error)
	}
	var res densityResult
	res.Before = sample()
	start := time.Now()
	if err := fn.Prewarm(ctx, n); err != nil {
		return res, err
	}
	res.Warm = time.Since(start)
	st := fn.Stats()
	if st.Instances != int64(n) || st.Busy != 0 || st.Created != int64(n) {
		return res, fmt.Errorf("pool has %d instances (%d busy), want %d idle", st.Instances, st.Busy, n)
	}
	res.After = sample()
	runtime.KeepAlive(fn)
	return res, nil
}

func perInstance(delta int64, n int) string { return kib(delta / int64(n)) }

func kib(b int64) string { return fmt.Sprintf("%.0f KiB", float64(b)/1024) }

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
