package benchcmp

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/internal/app"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
	"github.com/wasmfaas/wasmfaas/router"
)

// TestScaleLoad is the scaling benchmark: events/s from publish to ack
// with 1, 2 and 3 hosts sharing one trigger on a three-node JetStream
// cluster (every stream and bucket at three replicas; host i on node i;
// all in this process). It runs only when asked for by name (`make bench`
// does):
//
//	go test -run '^TestScaleLoad$' -count=1 -v .
//
// Two variants:
//
//   - CPU-independent: each host runs at most scaleConcurrency calls at
//     once (router concurrency) of a guest that waits 5 ms in a host call
//     (WASI poll_oneoff), so a host's throughput is bounded by its calls,
//     not by the CPUs: what adding hosts must multiply.
//   - CPU-bound: the no-op guest with router defaults. Every host of this
//     process shares the machine's cores (2 here), so more hosts cannot
//     add CPU: this row shows what coordination costs, not scaling.
//
// Each measurement starts a fresh cluster, its hosts, deploys through the
// first host and puts the trigger through the last (every host learns of
// both through the definitions watch), waits until every host delivers
// the trigger, then publishes the events and waits until the trigger's
// consumer has acked the last one.
func TestScaleLoad(t *testing.T) {
	if f := flag.Lookup("test.run"); f == nil || !strings.Contains(f.Value.String(), "ScaleLoad") {
		t.Skip("run with -run ScaleLoad")
	}
	sleep, err := readGo(hostGuests + "sleep")
	if err != nil {
		t.Fatal(err)
	}
	noop, err := readGo(hostGuests + "noop")
	if err != nil {
		t.Fatal(err)
	}
	type variant struct {
		name        string
		wasm        []byte
		concurrency int
		events      int
	}
	variants := []variant{
		{fmt.Sprintf("CPU-independent: 5 ms wait in a host call, %d calls at once per host", scaleConcurrency), sleep, scaleConcurrency, *scaleEvents / 2},
		{"CPU-bound: no-op guest, router defaults, hosts share 2 cores", noop, 0, *scaleEvents},
	}
	rates := make([][3]float64, len(variants))
	for vi, v := range variants {
		for k := 1; k <= 3; k++ {
			t.Run(fmt.Sprintf("v%d-hosts%d", vi, k), func(t *testing.T) {
				rates[vi][k-1] = measureScale(t, v.wasm, k, v.concurrency, v.events)
				t.Logf("%s, %d hosts: %.0f events/s", v.name, k, rates[vi][k-1])
			})
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\nscaling: hosts on a 3-node JetStream cluster (R3), one trigger, publish to ack\n")
	fmt.Fprintln(tw, "variant\t1 host\t2 hosts\t3 hosts\t2/1\t3/1")
	for vi, v := range variants {
		r := rates[vi]
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.2fx\t%.2fx\n", v.name, r[0], r[1], r[2], r[1]/r[0], r[2]/r[0])
	}
	two := rates[0][1] / rates[0][0]
	result := "met"
	if two < 1.6 {
		result = "missed"
	}
	fmt.Fprintf(tw, "target: 2 hosts >= 1.6x of 1 (CPU-independent)\t\t%.2fx\t\t\t%s\n", two, result)
	_ = tw.Flush()
}

var scaleEvents = flag.Int("scaleload.events", 8000, "TestScaleLoad: events per measurement of the CPU-bound variant (half for the CPU-independent one)")

// scaleConcurrency is the CPU-independent variant's calls at once per host.
const scaleConcurrency = 8

// measureScale runs one measurement with k hosts and returns its events/s.
func measureScale(t *testing.T, wasm []byte, k, concurrency, n int) float64 {
	t.Helper()
	ctx := context.Background()
	nodes := natstest.Cluster(t, 3)
	hosts := make([]*app.App, k)
	for i := range hosts {
		cfg := app.Config{
			DataDir: t.TempDir(), NATS: app.NATSConfig{Conn: nodes.Conn(i)}, Layout: layout.Config{Replicas: 3},
			Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		}
		cfg.Router.Concurrency = concurrency
		a, err := app.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		hosts[i] = a
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = a.Shutdown(sctx)
		}()
	}
	deployModule(t, hosts[0].Handler(), wasm, "noop")
	apiDo(t, hosts[k-1].Handler(), "PUT", "/v1/triggers/"+routeConsumer, "application/json",
		[]byte(`{"function": "noop", "filters": [{"exact": {"type": "`+routeType+`"}}]}`))
	for i, a := range hosts {
		pollUntil(t, fmt.Sprintf("host %d runs the function and delivers the trigger", i), func() bool {
			return delivers(a, routeConsumer) && hasFunction(a, "noop")
		})
	}
	js := nodes.JetStream(0, jetstream.WithPublishAsyncMaxPending(4096))
	cons, err := js.Consumer(ctx, layout.EventsStream, router.DurableName(routeConsumer))
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		ev := benchEvent()
		ev.SetID(fmt.Sprintf("scale-%07d", i))
		m, err := router.EncodeMsg("events.bench", ev)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = m
	}
	return publishAndWait(t, js, cons, msgs)
}

// publishAndWait publishes msgs and waits until cons has acked the last
// one, polling its ack floor every 2 ms (the measurement's resolution);
// it returns the events/s from the first publish to the last ack.
func publishAndWait(t *testing.T, js jetstream.JetStream, cons jetstream.Consumer, msgs []*nats.Msg) float64 {
	t.Helper()
	start := time.Now()
	var last atomic.Uint64
	if err := publishAll(js, msgs, &last); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		info, err := cons.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.AckFloor.Stream >= last.Load() && info.NumAckPending == 0 {
			return float64(len(msgs)) / time.Since(start).Seconds()
		}
		if time.Since(start) > 5*time.Minute {
			t.Fatal("not every event acked after 5 minutes")
		}
		<-tick.C
	}
}

// pollUntil asks cond every 10 ms until it holds, failing the test after
// 60 s: for state that has no event to wait on (a host's live function and
// trigger set, an HTTP answer).
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 60s", what)
		}
		<-tick.C
	}
}

// hasFunction reports whether function name is live on a.
func hasFunction(a *app.App, name string) bool {
	req, _ := http.NewRequest("GET", "/v1/functions/"+name, nil)
	rec := &recorder{header: http.Header{}}
	a.Handler().ServeHTTP(rec, req)
	return rec.status == http.StatusOK
}

// delivers reports whether a's router delivers trigger name.
func delivers(a *app.App, name string) bool {
	for _, tr := range a.Router().Triggers() {
		if tr.Name == name {
			return true
		}
	}
	return false
}
