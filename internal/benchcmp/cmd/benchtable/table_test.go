package main

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
)

// testdata/sample.txt is a captured `go test -run '^$' -bench . -benchmem
// -benchtime 100ms -count 3 .` of internal/benchcmp (before the C rows ran).
func TestParseSample(t *testing.T) {
	f, err := os.Open("testdata/sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := parse(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{
		"goos: linux", "goarch: amd64", "pkg: github.com/wasmfaas/wasmfaas/internal/benchcmp",
		"cpu: Oxide Virtual Turin-like Processor",
	}; strings.Join(rep.env, "|") != strings.Join(want, "|") {
		t.Errorf("env = %q, want %q", rep.env, want)
	}
	var names []string
	for _, rw := range rep.rows {
		names = append(names, rw.name)
		if len(rw.ns) != 3 || len(rw.bytes) != 3 || len(rw.allocs) != 3 {
			t.Errorf("%s: %d/%d/%d runs, want 3", rw.name, len(rw.ns), len(rw.bytes), len(rw.allocs))
		}
	}
	wantNames := "floor floor/deadline extism/noop/plugin extism/noop/compiled-instance extism/noop/instance-per-call " +
		"extism/input/plugin wasmfaas/noop-go/pooled wasmfaas/noop-go/fresh wasmfaas/kvget-go/pooled wasmfaas/propupdate-go/pooled"
	if got := strings.Join(names, " "); got != wantNames {
		t.Errorf("names =\n%s\nwant\n%s", got, wantNames)
	}
	for name, want := range map[string]float64{
		"floor":                    23.48,
		"extism/noop/plugin":       35826,
		extismCompiled:             31944,
		"wasmfaas/noop-go/pooled":  8749,
		"wasmfaas/kvget-go/pooled": 41021,
	} {
		if got := rep.med(name); got != want {
			t.Errorf("median %s = %v, want %v", name, got, want)
		}
	}
	if got := median(rep.get("wasmfaas/noop-go/pooled").allocs); got != 12 {
		t.Errorf("allocs = %v, want 12", got)
	}
	if n, v := rep.extism(); n != extismCompiled || v != 31944 {
		t.Errorf("extism reference = %s %v, want the compiled instance's 31944", n, v)
	}
	if !math.IsNaN(rep.med(noopCFresh)) {
		t.Errorf("C fresh row present in a sample without it")
	}

	tg := rep.targets()
	want := []struct{ measured, status string }{
		{"8.75 µs", "missed (4.4× the limit)"},
		{"0.27×", "missed (2.7× the limit)"},
		{"—", "not measured"},
		{"+32.27 µs", "missed (32.3× the limit)"},
		{"—", "not measured"},
	}
	if len(tg) != len(want) {
		t.Fatalf("%d targets, want %d", len(tg), len(want))
	}
	for i, w := range want {
		if tg[i].measured != w.measured || tg[i].status != w.status {
			t.Errorf("target %q = %q, %q; want %q, %q", tg[i].goal, tg[i].measured, tg[i].status, w.measured, w.status)
		}
	}

	var out bytes.Buffer
	rep.write(&out)
	for _, s := range []string{
		"Medians of 3 runs",
		"Extism reference: extism/noop/compiled-instance (31.94 µs)",
		"| floor | 23.5 ns | 23 | ±12% | 0 | 0 | 1.00× | 0.00074× |",
		"| wasmfaas/noop-go/pooled | 8.75 µs | 8749 | ±20% | 1478 | 12 | 373× | 0.27× |",
		"| wasmfaas/noop-c/fresh | not measured |",
	} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, out.String())
		}
	}
}

func TestParseLines(t *testing.T) {
	in := `BenchmarkInvoke/kvget-go/pooled-8   1000   2500 ns/op   12.5 ns-over-noop/op   100 B/op   3 allocs/op
BenchmarkInvoke/kvget-go/pooled-8   1000   1500 ns/op   100 B/op   5 allocs/op
BenchmarkFloor/plain   5000000   2.5 ns/op
--- SKIP: BenchmarkCompare/wasmfaas/noop-c/pooled
BenchmarkCompare/wasmfaas/noop-c/fresh-16
    bench_test.go:1: some log line
BenchmarkCompare/wasmfaas/noop-c/fresh-16   100   40000 ns/op
--- FAIL: BenchmarkCompare/wasmfaas/propupdate-go/pooled
    bench_test.go:2: status trap
FAIL
`
	var failures strings.Builder
	rep, err := parse(strings.NewReader(in), &failures)
	if err != nil {
		t.Fatal(err)
	}
	if want := "--- FAIL: BenchmarkCompare/wasmfaas/propupdate-go/pooled\nFAIL\n"; failures.String() != want {
		t.Errorf("failures = %q, want %q", failures.String(), want)
	}
	if len(rep.rows) != 3 {
		t.Fatalf("%d rows, want 3: %+v", len(rep.rows), rep.rows)
	}
	kv := rep.get("Invoke/kvget-go/pooled")
	if kv == nil || median(kv.ns) != 2000 || median(kv.allocs) != 4 {
		t.Errorf("kvget row = %+v, want median 2000 ns and 4 allocs", kv)
	}
	if fl := rep.get("Floor/plain"); fl == nil || len(fl.bytes) != 0 || median(fl.ns) != 2.5 {
		t.Errorf("floor row = %+v", fl)
	}
	if got := rep.med(noopCFresh); got != 40000 {
		t.Errorf("C fresh = %v, want 40000", got)
	}
	if tg := rep.targets()[2]; tg.status != "missed (1.6× the limit)" {
		t.Errorf("C fresh target = %+v", tg)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median(nil) is not NaN")
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"BenchmarkCompare/floor-2":                 "floor",
		"BenchmarkCompare/floor/deadline-16":       "floor/deadline",
		"BenchmarkCompare/wasmfaas/noop-go/pooled": "wasmfaas/noop-go/pooled",
		"BenchmarkFloor/close-on-done-8":           "Floor/close-on-done",
	} {
		if got := name(in); got != want {
			t.Errorf("name(%q) = %q, want %q", in, got, want)
		}
	}
}
