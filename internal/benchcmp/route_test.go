package benchcmp

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
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

// TestRouteLoad is the routing benchmark: end-to-end events/s from
// NATS publish to ack, through the router into the Go no-op guest with
// serve's wiring (embedded NATS with JetStream, the JetStream store, call
// log and definitions, internal/server as the Invoker, a JSON log line per
// call to io.Discard), next to the same stream consumed and acked by a
// no-op Go JetStream consumer with no Wasm. It runs only when asked for by
// name (`make bench` does):
//
//	go test -run '^TestRouteLoad$' -count=1 -v .
//
// Each measurement starts a fresh embedded server in a temporary
// directory, starts the consumer (idle), then publishes N CloudEvents
// (structured JSON, 256 bytes of data, async with a bounded window of
// PubAcks outstanding) while the consumer runs; the time is from the first
// publish to the moment the consumer's ack floor reaches the last event.
// The targets interleave over rounds; the table reports medians.
//
// -routeload.cpuprofile=PREFIX writes a CPU profile of each measurement.
func TestRouteLoad(t *testing.T) {
	if f := flag.Lookup("test.run"); f == nil || !strings.Contains(f.Value.String(), "RouteLoad") {
		t.Skip("run with -run RouteLoad")
	}
	wasm, err := readGo(hostGuests + "noop")
	if err != nil {
		t.Fatal(err)
	}
	targets := []routeTarget{
		{name: "no-Wasm JetStream consumer (Consume, Ack)", durable: routeConsumer, run: plainConsumer},
		{name: "no-Wasm consumer + one record per event (Consume, record, Ack)", durable: routeConsumer, run: recordingConsumer},
		{name: "wasmfaas router -> no-op Go guest", durable: router.DurableName(routeConsumer), run: func(t *testing.T, js jetstream.JetStream) func() { return wasmfaasRouter(t, js.Conn(), wasm) }},
	}
	results := map[string][]float64{}
	for round := range *routeRounds {
		for _, tg := range targets {
			var prof string
			if *routeProfile != "" {
				prof = fmt.Sprintf("%s-%s-r%d.pprof", *routeProfile, strings.Fields(tg.name)[0], round+1)
			}
			rate := measureRoute(t, tg, *routeEvents, prof)
			t.Logf("round %d: %-45s %8.0f events/s", round+1, tg.name, rate)
			results[tg.name] = append(results[tg.name], rate)
		}
	}
	base := median(results[targets[0].name])
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\nrouting: %d events per run, publish to ack, medians of %d rounds\n", *routeEvents, *routeRounds)
	fmt.Fprintln(tw, "target\tevents/s\tratio")
	for _, tg := range targets {
		m := median(results[tg.name])
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\n", tg.name, m, m/base)
	}
	router := median(results[targets[2].name])
	ratio := router / base
	result := "met"
	if ratio < 0.70 {
		result = "missed"
	}
	fmt.Fprintf(tw, "target: router >= 0.70 of the plain consumer\t%.2f\t%s\n", ratio, result)
	fmt.Fprintf(tw, "router against the durability floor (the consumer that records)\t\t%.2f\n", router/median(results[targets[1].name]))
	_ = tw.Flush()
}

var (
	routeEvents  = flag.Int("routeload.events", 20000, "TestRouteLoad: events per measurement")
	routeRounds  = flag.Int("routeload.rounds", 3, "TestRouteLoad: rounds (targets interleaved); the table shows medians")
	routeProfile = flag.String("routeload.cpuprofile", "", "TestRouteLoad: write a CPU profile per measurement to PREFIX-<target>-r<round>.pprof")
)

// routeTarget consumes the events stream; run starts it and returns its
// stop function.
type routeTarget struct {
	name    string
	durable string // the consumer whose ack floor is watched
	run     func(t *testing.T, js jetstream.JetStream) (stop func())
}

const (
	routeType     = "com.example.bench"
	routeConsumer = "bench"
)

// measureRoute runs one measurement of tg on a fresh embedded server and
// returns its events/s.
func measureRoute(t *testing.T, tg routeTarget, n int, profile string) float64 {
	t.Helper()
	ctx := context.Background()
	srv := natstest.Start(t) // with the layout
	defer srv.Shutdown()     // each measurement on a fresh server; natstest's cleanup is for a failed test
	js := srv.JetStream(jetstream.WithPublishAsyncMaxPending(4096))
	stop := tg.run(t, js)
	defer stop()

	// The consumer whose ack floor says when every event was handled: the
	// plain consumer's own, the router's trigger's durable.
	consName := tg.durable
	var cons jetstream.Consumer
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for cons == nil {
		var err error
		if cons, err = js.Consumer(ctx, layout.EventsStream, consName); err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("%s: consumer %s: %v", tg.name, consName, err)
			}
			<-tick.C
		}
	}

	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		ev := benchEvent()
		ev.SetID(fmt.Sprintf("bench-%07d", i))
		m, err := router.EncodeMsg("events.bench", ev)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = m
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	start := time.Now()
	pubErr := make(chan error, 1)
	var lastSeq atomic.Uint64
	go func() { pubErr <- publishAll(js, msgs, &lastSeq) }()
	ackPoll := time.NewTicker(2 * time.Millisecond)
	defer ackPoll.Stop()

	for {
		select {
		case err := <-pubErr:
			if err != nil {
				t.Fatalf("%s: publish: %v", tg.name, err)
			}
			pubErr = nil
		default:
		}
		if pubErr == nil {
			info, err := cons.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.AckFloor.Stream >= lastSeq.Load() && info.NumAckPending == 0 {
				break
			}
		}
		if time.Since(start) > 5*time.Minute {
			t.Fatalf("%s: not every event acked after 5 minutes", tg.name)
		}
		<-ackPoll.C // the ack floor is polled: its resolution is the measurement's
	}
	rate := float64(n) / time.Since(start).Seconds()
	if st, err := js.Stream(ctx, layout.CallsStream); err == nil && st.CachedInfo().State.Msgs > 0 {
		info := st.CachedInfo().State
		t.Logf("%s: %d call-log messages, %d bytes each on average", tg.name, info.Msgs, info.Bytes/info.Msgs)
	}
	return rate
}

// publishAll publishes msgs with at most 4096 PubAcks outstanding and
// records the last sequence.
func publishAll(js jetstream.JetStream, msgs []*nats.Msg, last *atomic.Uint64) error {
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		// A long stall wait: on a loaded cluster the window of 4096
		// PubAcks can stay full for longer than nats.go's default 200ms.
		f, err := js.PublishMsgAsync(m, jetstream.WithStallWait(30*time.Second))
		if err != nil {
			return err
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case ack := <-f.Ok():
			last.Store(max(last.Load(), ack.Sequence))
		case err := <-f.Err():
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("no PubAck after 30s")
		}
	}
	return nil
}

// plainConsumer is the baseline: a durable pull consumer on the same
// stream and filter as a trigger's, consumed with Consume, every message
// acked (Ack, not waiting for the server), nothing else.
func plainConsumer(t *testing.T, js jetstream.JetStream) func() {
	t.Helper()
	cons, err := js.CreateOrUpdateConsumer(context.Background(), layout.EventsStream, jetstream.ConsumerConfig{
		Durable: routeConsumer, FilterSubject: layout.EventsPrefix + ".>",
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: router.DefaultAckWait,
	})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { _ = m.Ack() })
	if err != nil {
		t.Fatal(err)
	}
	return cc.Stop
}

// recordSize is the size of the record recordingConsumer writes per event:
// about what the router's call log holds for one call of the no-op guest
// on a bench event (its execution event, ExecutionInfo as data, measured
// as the calls stream's bytes over its messages after a router run).
const recordSize = 1400

// recordingConsumer is the durability floor: the plain consumer plus what
// the product must do for every event whatever its speed, one durable
// write before the ack. For each message it publishes a record of
// recordSize bytes to its own call-log subject with the same options the
// call log uses (Nats-Msg-Id, expected stream, expected last subject
// sequence 0), asynchronously, and acks the message when its PubAck comes.
// No decoding, no call, nothing else.
func recordingConsumer(t *testing.T, js jetstream.JetStream) func() {
	t.Helper()
	cons, err := js.CreateOrUpdateConsumer(context.Background(), layout.EventsStream, jetstream.ConsumerConfig{
		Durable: routeConsumer, FilterSubject: layout.EventsPrefix + ".>",
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: router.DefaultAckWait,
	})
	if err != nil {
		t.Fatal(err)
	}
	type pending struct {
		m jetstream.Msg
		f jetstream.PubAckFuture
	}
	queue := make(chan pending, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range queue {
			select {
			case <-p.f.Ok():
				_ = p.m.Ack()
			case <-p.f.Err():
				// Left unacked: redelivered after the ack wait, and the
				// measurement shows it.
			}
		}
	}()
	record := []byte(strings.Repeat("x", recordSize))
	var n atomic.Uint64
	cc, err := cons.Consume(func(m jetstream.Msg) {
		id := fmt.Sprintf("c%d", n.Add(1))
		out := nats.NewMsg(layout.CallsSubject + ".bench.ok." + id)
		out.Data = record
		f, err := js.PublishMsgAsync(out, jetstream.WithMsgID(id), jetstream.WithExpectStream(layout.CallsStream),
			jetstream.WithExpectLastSequencePerSubject(0))
		if err != nil {
			return // redelivered after the ack wait
		}
		queue <- pending{m, f}
	})
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		cc.Stop()
		<-cc.Closed() // no callback runs after this
		close(queue)
		<-done
	}
}

// wasmfaasRouter starts a host as `wasmfaas serve` does (internal/app) on
// nc, deploys the no-op guest as "noop" with a trigger named routeConsumer
// on routeType, and returns the function that stops the host.
func wasmfaasRouter(t *testing.T, nc *nats.Conn, wasm []byte) func() {
	t.Helper()
	a, err := app.New(context.Background(), app.Config{
		DataDir: t.TempDir(), NATS: app.NATSConfig{Conn: nc},
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	deployNoop(t, a.Handler(), wasm, [2]string{"/v1/triggers/" + routeConsumer,
		`{"function": "noop", "filters": [{"exact": {"type": "` + routeType + `"}}]}`})
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = a.Shutdown(sctx)
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
