package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The rows the ratios and targets are keyed on (BenchmarkCompare's names).
const (
	floorRow       = "floor"
	extismPlugin   = "extism/noop/plugin"
	extismCompiled = "extism/noop/compiled-instance"
	noopGoPooled   = "wasmfaas/noop-go/pooled"
	noopCPooled    = "wasmfaas/noop-c/pooled"
	noopCFresh     = "wasmfaas/noop-c/fresh"
	kvGetGoPooled  = "wasmfaas/kvget-go/pooled"
	kvGetCPooled   = "wasmfaas/kvget-c/pooled"
)

// expected rows are listed even when absent, so a skipped row (the C guest
// before its builder lands) shows as not measured instead of vanishing.
var expected = []string{
	floorRow, extismPlugin, extismCompiled, noopGoPooled,
	"wasmfaas/noop-go/fresh", noopCPooled, noopCFresh, "wasmfaas/noop-rust/pooled", "wasmfaas/noop-assemblyscript/pooled",
	kvGetGoPooled, kvGetCPooled,
	"wasmfaas/propupdate-go/pooled",
}

// row is every run of one benchmark.
type row struct {
	name   string
	ns     []float64
	bytes  []float64
	allocs []float64
}

// report is one parsed `go test -bench` output.
type report struct {
	env  []string // goos, goarch, cpu, pkg lines, in order, deduplicated
	rows []*row   // in first-seen order

	failures io.Writer // where failure lines are echoed as they are read; nil drops them
}

// isFailure reports a line of a failing `go test` run, which the table
// would otherwise swallow.
func isFailure(line string) bool {
	for _, p := range []string{"--- FAIL", "FAIL", "panic:", "fatal error:"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// name normalizes a benchmark name: no "Benchmark" prefix, no
// "Compare/" (the comparison's own top level), no -GOMAXPROCS suffix.
func name(s string) string {
	s = strings.TrimPrefix(s, "Benchmark")
	s = procSuffix.ReplaceAllString(s, "")
	return strings.TrimPrefix(s, "Compare/")
}

func parse(r io.Reader, failures io.Writer) (*report, error) {
	rep := &report{failures: failures}
	byName := map[string]*row{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if isFailure(line) && rep.failures != nil {
			fmt.Fprintln(rep.failures, sc.Text())
		}
		for _, k := range []string{"goos:", "goarch:", "cpu:", "pkg:"} {
			if strings.HasPrefix(line, k) && !slices.Contains(rep.env, line) {
				rep.env = append(rep.env, line)
			}
		}
		f := strings.Fields(line)
		// BenchmarkX-8  N  v ns/op  [v B/op  v allocs/op  v unit ...]
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue
		}
		vals := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%q: value %q: %v", line, f[i], err)
			}
			vals[f[i+1]] = v
		}
		ns, ok := vals["ns/op"]
		if !ok {
			continue
		}
		n := name(f[0])
		rw := byName[n]
		if rw == nil {
			rw = &row{name: n}
			byName[n] = rw
			rep.rows = append(rep.rows, rw)
		}
		rw.ns = append(rw.ns, ns)
		if v, ok := vals["B/op"]; ok {
			rw.bytes = append(rw.bytes, v)
		}
		if v, ok := vals["allocs/op"]; ok {
			rw.allocs = append(rw.allocs, v)
		}
	}
	return rep, sc.Err()
}

// median of xs; NaN when empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func (r *report) get(name string) *row {
	for _, rw := range r.rows {
		if rw.name == name {
			return rw
		}
	}
	return nil
}

// med is the median ns/op of a row, NaN when it did not run.
func (r *report) med(name string) float64 {
	if rw := r.get(name); rw != nil {
		return median(rw.ns)
	}
	return math.NaN()
}

// extism is the reference Extism call: the cheaper median of NewPlugin's
// plugin and NewCompiledPlugin's instance (same call path; whichever ran).
func (r *report) extism() (string, float64) {
	best, bestNS := "", math.NaN()
	for _, n := range []string{extismPlugin, extismCompiled} {
		if v := r.med(n); !math.IsNaN(v) && (math.IsNaN(bestNS) || v < bestNS) {
			best, bestNS = n, v
		}
	}
	return best, bestNS
}

// target is one of the host-overhead goals.
type target struct {
	goal     string
	measured string
	status   string // met, missed, not measured
}

func (r *report) targets() []target {
	pooled := r.med(noopGoPooled)
	_, ext := r.extism()
	fresh := r.med(noopCFresh)
	kv := r.med(kvGetGoPooled)
	cPooled, kvC := r.med(noopCPooled), r.med(kvGetCPooled)
	check := func(goal string, v, limit float64, show string) target {
		switch {
		case math.IsNaN(v):
			return target{goal, "—", "not measured"}
		case v <= limit:
			return target{goal, show, fmt.Sprintf("met (%.0f%% of the limit)", 100*v/limit)}
		default:
			return target{goal, show, fmt.Sprintf("missed (%.1f× the limit)", v/limit)}
		}
	}
	return []target{
		check("pooled no-op Invoke, Go guest ≤ 2 µs", pooled, 2000, dur(pooled)),
		check("pooled no-op Invoke, Go guest ≤ 0.10× Extism's call", pooled/ext, 0.1, ratio(pooled/ext)),
		check("fresh instance per call, C guest ≤ 25 µs", fresh, 25000, dur(fresh)),
		check("KV get adds ≤ 1 µs over the pooled no-op, Go guest", kv-pooled, 1000, "+"+dur(kv-pooled)),
		check("KV get adds ≤ 1 µs over the pooled no-op, C guest", kvC-cPooled, 1000, "+"+dur(kvC-cPooled)),
	}
}

func dur(ns float64) string {
	switch {
	case math.IsNaN(ns):
		return "—"
	case math.Abs(ns) >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case math.Abs(ns) >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.1f ns", ns)
	}
}

func ratio(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return "—"
	case x >= 100:
		return fmt.Sprintf("%.0f×", x)
	case x >= 10:
		return fmt.Sprintf("%.1f×", x)
	case x >= 0.1:
		return fmt.Sprintf("%.2f×", x)
	default:
		return strconv.FormatFloat(x, 'g', 2, 64) + "×"
	}
}

func count(xs []float64) string {
	if len(xs) == 0 {
		return "—"
	}
	return strconv.FormatFloat(median(xs), 'f', -1, 64)
}

// spread is (max-min)/median of a row's ns/op, as a percentage.
func spread(xs []float64) string {
	if len(xs) < 2 {
		return "—"
	}
	return fmt.Sprintf("±%.0f%%", 50*(slices.Max(xs)-slices.Min(xs))/median(xs))
}

func (r *report) write(w io.Writer) {
	for _, e := range r.env {
		fmt.Fprintln(w, e)
	}
	floor := r.med(floorRow)
	extName, ext := r.extism()
	runs := 0
	for _, rw := range r.rows {
		runs = max(runs, len(rw.ns))
	}
	fmt.Fprintf(w, "\nMedians of %d runs. Floor: %s (%s). Extism reference: %s (%s), the cheaper of %s and %s.\n\n",
		runs, floorRow, dur(floor), or(extName, "none"), dur(ext), extismPlugin, extismCompiled)
	fmt.Fprintln(w, "| benchmark | median | ns/op | spread | B/op | allocs/op | × floor | × Extism |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	names := make([]string, 0, len(r.rows))
	for _, rw := range r.rows {
		names = append(names, rw.name)
	}
	for _, n := range expected {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, n := range names {
		rw := r.get(n)
		if rw == nil {
			fmt.Fprintf(w, "| %s | not measured | | | | | | |\n", n)
			continue
		}
		m := median(rw.ns)
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %s | %s | %s |\n",
			n, dur(m), m, spread(rw.ns), count(rw.bytes), count(rw.allocs), ratio(m/floor), ratio(m/ext))
	}
	fmt.Fprintln(w, "\n| target | measured | result |")
	fmt.Fprintln(w, "|---|---:|---|")
	for _, t := range r.targets() {
		fmt.Fprintf(w, "| %s | %s | %s |\n", t.goal, t.measured, t.status)
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
