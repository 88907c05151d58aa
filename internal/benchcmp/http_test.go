package benchcmp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/internal/app"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/server"
)

// TestHTTPLoad is the HTTP invoke benchmark: synchronous
// POST /v1/functions/noop/invoke of the Go no-op guest through the real
// API of a host started as `wasmfaas serve` starts one (internal/app:
// embedded NATS, JetStream call log and store), next to a native
// Go handler served by the same http.Server and mux, driven by a Go load
// generator in the same process at concurrency 1 and 50. It runs only when
// asked for by name (`make bench` does):
//
//	go test -run '^TestHTTPLoad$' -count=1 -v .
//
// Each target gets a warm-up, then a fixed measuring window in which every
// request's latency is recorded; rounds interleave the targets and the
// table reports medians over rounds. Every response must be the success
// the target promises (native 200; wasmfaas 204 with Wasmfaas-Status: ok,
// the no-op guest returns no result) or the test fails.
//
// -httpload.variants adds a diagnostic row: the API with a JSON slog
// handler (to io.Discard) at INFO instead of a discard logger. -httpload.cpuprofile=PREFIX writes a CPU profile of each
// measuring window, PREFIX-wasmfaas-c1-r1.pprof and so on (go tool pprof
// merges several files). The load generator shares the process, so its
// frames (net/http.(*Transport), persistConn) appear too.
func TestHTTPLoad(t *testing.T) {
	if f := flag.Lookup("test.run"); f == nil || !strings.Contains(f.Value.String(), "HTTPLoad") {
		t.Skip("run with -run HTTPLoad")
	}
	cfg := loadConfig{warmup: *httpWarmup, window: *httpWindow, body: httpBody()}
	concs, err := parseInts(*httpConcs)
	if err != nil {
		t.Fatal(err)
	}

	wasm, err := readGo(hostGuests + "noop")
	if err != nil {
		t.Fatal(err)
	}
	discard := slog.New(slog.DiscardHandler)
	targets := []*httpTarget{
		{name: "native", path: "/native", want: http.StatusOK},
		{name: "native + one record", path: "/native-record", want: http.StatusOK},
		{name: "wasmfaas", path: "/v1/functions/noop/invoke", want: http.StatusNoContent, callStatus: "ok"},
	}
	api, host := newAPIHost(t, wasm, discard)
	recordJS = host.JetStream()
	apis := map[string]http.Handler{"wasmfaas": api}
	if *httpVariants {
		// What the INFO log line costs: a JSON slog handler (to io.Discard)
		// at INFO instead of a discarding logger.
		targets = append(targets,
			&httpTarget{name: "wasmfaas, JSON log at INFO", path: "/v1/functions/noop/invoke", want: http.StatusNoContent, callStatus: "ok"})
		apis["wasmfaas, JSON log at INFO"] = newAPI(t, wasm, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	}

	// One http.Server stack per API: the same outer mux, the native handler
	// on /native, the API on everything else. Native is measured on the
	// first server, next to the real API.
	base := serve(t, apis["wasmfaas"])
	for _, tg := range targets {
		switch tg.name {
		case "native", "native + one record", "wasmfaas":
			tg.base = base
		default:
			tg.base = serve(t, apis[tg.name])
		}
	}

	// Smoke check: one request per target.
	for _, tg := range targets {
		if _, err := oneRequest(http.DefaultClient, tg, cfg.body); err != nil {
			t.Fatalf("%s: %v", tg.name, err)
		}
	}

	results := map[string]map[int][]loadResult{}
	for round := range *httpRounds {
		for _, c := range concs {
			for _, tg := range targets {
				var prof string
				if *httpProfile != "" {
					prof = fmt.Sprintf("%s-%s-c%d-r%d.pprof", *httpProfile,
						strings.NewReplacer(", ", "-", " ", "-").Replace(tg.name), c, round+1)
				}
				res, err := runLoad(tg, c, cfg, prof)
				if err != nil {
					t.Fatalf("%s, concurrency %d: %v", tg.name, c, err)
				}
				if results[tg.name] == nil {
					results[tg.name] = map[int][]loadResult{}
				}
				results[tg.name][c] = append(results[tg.name][c], res)
			}
		}
	}
	writeHTTPTable(os.Stdout, cfg, *httpRounds, concs, targets, results)
}

var (
	httpWarmup   = flag.Duration("httpload.warmup", 500*time.Millisecond, "TestHTTPLoad: warm-up per target and concurrency")
	httpWindow   = flag.Duration("httpload.duration", 3*time.Second, "TestHTTPLoad: measuring window per target and concurrency")
	httpRounds   = flag.Int("httpload.rounds", 3, "TestHTTPLoad: rounds (targets interleaved); the table shows medians over rounds")
	httpConcs    = flag.String("httpload.concurrency", "1,50", "TestHTTPLoad: comma-separated concurrencies")
	httpVariants = flag.Bool("httpload.variants", false, "TestHTTPLoad: also measure the API without a call log and with a JSON INFO log")
	httpProfile  = flag.String("httpload.cpuprofile", "", "TestHTTPLoad: write a CPU profile per target and concurrency to PREFIX-<target>-c<N>-r<round>.pprof")
)

// httpBody is the 256-byte JSON document every request sends as plain data.
func httpBody() []byte {
	const n = 256
	pre, post := `{"data":"`, `"}`
	b := []byte(pre + strings.Repeat("x", n-len(pre)-len(post)) + post)
	if len(b) != n || !json.Valid(b) {
		panic("httpBody")
	}
	return b
}

// newAPI starts a host as `wasmfaas serve` does (internal/app: embedded
// NATS with JetStream, the JetStream call log and store), then uploads the
// no-op guest and PUTs the function "noop" through the API itself.
func newAPI(t *testing.T, wasm []byte, log *slog.Logger) http.Handler {
	t.Helper()
	api, _ := newAPIHost(t, wasm, log)
	return api
}

// newAPIHost is newAPI that returns the host too.
func newAPIHost(t *testing.T, wasm []byte, log *slog.Logger) (http.Handler, *app.App) {
	t.Helper()
	a, err := app.New(context.Background(), app.Config{
		DataDir: t.TempDir(), Logger: log, HTTP: server.Config{MaxBodyBytes: 1 << 16},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	api := a.Handler()
	deployNoop(t, api, wasm)
	return api, a
}

// deployNoop uploads wasm through api and PUTs it as the function "noop";
// more, if given, are further PUTs (path, JSON body) made after it.
func deployNoop(t *testing.T, api http.Handler, wasm []byte, more ...[2]string) {
	t.Helper()
	deployModule(t, api, wasm, "noop")
	for _, put := range more {
		apiDo(t, api, "PUT", put[0], "application/json", []byte(put[1]))
	}
}

// apiDo sends one request to api in-process and returns the body of its
// 2xx answer; anything else fails the test.
func apiDo(t *testing.T, api http.Handler, method, path, ctype string, body []byte) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	rec := &recorder{header: http.Header{}}
	api.ServeHTTP(rec, req)
	if rec.status/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, rec.status, rec.body.String())
	}
	return rec.body.Bytes()
}

// recorder is a minimal http.ResponseWriter for setting up the API
// (httptest is not needed for three calls).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// nativeReply is the native handler's response body.
var nativeReply = []byte(`{"ok":true}`)

// native is the reference: the least a handler of the same request can
// do — read the (bounded) body, write a small JSON response.
func native(w http.ResponseWriter, r *http.Request) {
	if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 1<<16)); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(nativeReply)
}

// recordJS is where nativeRecord writes: the JetStream of the host whose
// API is measured, so the record goes to the same embedded server.
var recordJS jetstream.JetStream

var (
	recordBody = []byte(strings.Repeat("x", recordSize))
	recordN    atomic.Uint64
)

// nativeRecord is the durability floor of a synchronous invoke: the native
// handler plus what the product must do for every call whatever its
// speed, one durable write before the answer (a record of recordSize
// bytes to its own call-log subject, with the call log's publish options,
// its PubAck awaited).
func nativeRecord(w http.ResponseWriter, r *http.Request) {
	if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 1<<16)); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := fmt.Sprintf("h%d", recordN.Add(1))
	m := nats.NewMsg(layout.CallsSubject + ".bench.ok." + id)
	m.Data = recordBody
	if _, err := recordJS.PublishMsg(r.Context(), m, jetstream.WithMsgID(id), jetstream.WithExpectStream(layout.CallsStream),
		jetstream.WithExpectLastSequencePerSubject(0)); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(nativeReply)
}

// serve starts an http.Server on a loopback listener: the native handler
// on POST /native, api on everything else. It returns the base URL.
func serve(t *testing.T, api http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /native", native)
	mux.HandleFunc("POST /native-record", nativeRecord)
	mux.Handle("/", api)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

type httpTarget struct {
	name       string
	base, path string
	want       int    // the success status
	callStatus string // the Wasmfaas-Status header a success carries, if any
}

type loadConfig struct {
	warmup, window time.Duration
	body           []byte
}

// loadResult is one measuring window.
type loadResult struct {
	n             int
	conns         int // connections dialled, warm-up included: c when keep-alive holds
	rps           float64
	p50, p99, max time.Duration
}

// oneRequest sends the body to tg and checks the response.
func oneRequest(c *http.Client, tg *httpTarget, body []byte) (time.Duration, error) {
	req, err := http.NewRequest(http.MethodPost, tg.base+tg.path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != tg.want {
		return 0, fmt.Errorf("status %d, want %d: %s", resp.StatusCode, tg.want, b)
	}
	if tg.callStatus != "" && resp.Header.Get(server.HeaderStatus) != tg.callStatus {
		return 0, fmt.Errorf("%s: %q, want %q", server.HeaderStatus, resp.Header.Get(server.HeaderStatus), tg.callStatus)
	}
	return d, nil
}

// runLoad drives tg with c workers, each sending the next request when
// the previous one is answered (closed loop), for cfg.warmup and then
// cfg.window; the latencies of requests started in the window count. The
// CPU profile, if prof names a file, covers the window only.
func runLoad(tg *httpTarget, c int, cfg loadConfig, prof string) (loadResult, error) {
	var dials atomic.Int64
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        2 * c,
		MaxIdleConnsPerHost: 2 * c,
		MaxConnsPerHost:     c,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	runtime.GC()
	start := time.Now()
	measure, end := start.Add(cfg.warmup), start.Add(cfg.warmup+cfg.window)
	lats := make([][]time.Duration, c)
	var (
		failed   atomic.Bool
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for i := range c {
		lats[i] = make([]time.Duration, 0, 1<<16)
		wg.Go(func() {
			for !failed.Load() {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				d, err := oneRequest(client, tg, cfg.body)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
				if !t0.Before(measure) {
					lats[i] = append(lats[i], d)
				}
			}
		})
	}
	var profErr error
	if prof != "" {
		// The profile covers the measurement window: it starts when the
		// window opens and stops when the load generators have finished.
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		<-time.After(time.Until(measure))
		profErr = profileUntil(prof, done)
	}
	wg.Wait()
	if firstErr != nil {
		return loadResult{}, firstErr
	}
	if profErr != nil {
		return loadResult{}, profErr
	}
	all := slices.Concat(lats...)
	if len(all) == 0 {
		return loadResult{}, errors.New("no request completed in the window")
	}
	slices.Sort(all)
	return loadResult{
		n: len(all), conns: int(dials.Load()),
		rps: float64(len(all)) / cfg.window.Seconds(),
		p50: pct(all, 50), p99: pct(all, 99), max: all[len(all)-1],
	}, nil
}

// profileUntil writes a CPU profile of the process to path until done is
// closed (the load generators have stopped).
func profileUntil(path string, done <-chan struct{}) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	<-done
	pprof.StopCPUProfile()
	return f.Close()
}

// pct is the nearest-rank percentile of sorted xs.
func pct(xs []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(xs)))) - 1
	return xs[max(0, min(i, len(xs)-1))]
}

func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err != nil || n < 1 {
			return nil, fmt.Errorf("concurrency %q: want positive integers", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// medianOf is the median of f over rs (the middle one, or the mean of the
// two middle ones).
func medianOf(rs []loadResult, f func(loadResult) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 1 {
		return xs[n/2]
	} else {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
}

func spreadOf(rs []loadResult, f func(loadResult) float64) float64 {
	m := medianOf(rs, f)
	var d float64
	for _, r := range rs {
		d = max(d, math.Abs(f(r)-m))
	}
	return d / m
}

func fmtDur(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.0f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.0f ns", ns)
	}
}

func writeHTTPTable(w io.Writer, cfg loadConfig, rounds int, concs []int, targets []*httpTarget, res map[string]map[int][]loadResult) {
	rps := func(r loadResult) float64 { return r.rps }
	p50 := func(r loadResult) float64 { return float64(r.p50) }
	p99 := func(r loadResult) float64 { return float64(r.p99) }
	fmt.Fprintf(w, "\n## HTTP invoke (GOMAXPROCS %d; %d-byte JSON body; %v warm-up + %v window per row; medians of %d interleaved rounds)\n\n",
		runtime.GOMAXPROCS(0), len(cfg.body), cfg.warmup, cfg.window, rounds)
	fmt.Fprintln(w, "| target | concurrency | req/s | spread | × native | p50 | p99 | requests/round | conns |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, c := range concs {
		nat := medianOf(res["native"][c], rps)
		for _, tg := range targets {
			rs := res[tg.name][c]
			r := medianOf(rs, rps)
			fmt.Fprintf(w, "| %s | %d | %.0f | ±%.0f%% | %.2f× | %s | %s | %.0f | %.0f |\n",
				tg.name, c, r, 100*spreadOf(rs, rps), r/nat,
				fmtDur(medianOf(rs, p50)), fmtDur(medianOf(rs, p99)),
				medianOf(rs, func(r loadResult) float64 { return float64(r.n) }),
				medianOf(rs, func(r loadResult) float64 { return float64(r.conns) }))
		}
	}
	fmt.Fprintln(w, "\n### Targets: HTTP invoke")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | measured | result |")
	fmt.Fprintln(w, "|---|---:|---|")
	if rs, nat := res["wasmfaas"][50], res["native"][50]; rs != nil && nat != nil {
		ratio := medianOf(rs, rps) / medianOf(nat, rps)
		fmt.Fprintf(w, "| throughput at concurrency 50 ≥ 80%% of native | %.0f%% | %s |\n", 100*ratio, verdict(ratio >= 0.80,
			fmt.Sprintf("%.0f points over", 100*(ratio-0.80)), fmt.Sprintf("%.0f points short", 100*(0.80-ratio))))
	} else {
		fmt.Fprintln(w, "| throughput at concurrency 50 ≥ 80% of native | — | not measured |")
	}
	if rs := res["wasmfaas"][1]; rs != nil {
		v := medianOf(rs, p50)
		const limit = 50e3
		fmt.Fprintf(w, "| p50 at concurrency 1 ≤ 50 µs | %s | %s |\n", fmtDur(v), verdict(v <= limit,
			fmt.Sprintf("%s (%.0f%%) under", fmtDur(limit-v), 100*(limit-v)/limit), fmt.Sprintf("%s over", fmtDur(v-limit))))
	} else {
		fmt.Fprintln(w, "| p50 at concurrency 1 ≤ 50 µs | — | not measured |")
	}
	// The floor: what any host that records a call before answering
	// spends; the targets above are out of reach where it is below them.
	if fl, nat := res["native + one record"][50], res["native"][50]; fl != nil && nat != nil {
		fmt.Fprintf(w, "| (floor: native + one record, concurrency 50) | %.0f%% of native |  |\n", 100*medianOf(fl, rps)/medianOf(nat, rps))
		if rs := res["wasmfaas"][50]; rs != nil {
			fmt.Fprintf(w, "| (wasmfaas against the floor, concurrency 50) | %.0f%% |  |\n", 100*medianOf(rs, rps)/medianOf(fl, rps))
		}
	}
	if fl := res["native + one record"][1]; fl != nil {
		fmt.Fprintf(w, "| (floor: p50 at concurrency 1) | %s |  |\n", fmtDur(medianOf(fl, p50)))
	}
}

func verdict(ok bool, met, missed string) string {
	if ok {
		return "met, " + met
	}
	return "**missed**, " + missed
}
