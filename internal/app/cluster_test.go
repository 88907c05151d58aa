package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/internal/app"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/store"
)

// TestClusterFaults: three hosts, each on its own node of a three-node
// JetStream cluster with every stream and bucket at three replicas, share
// a trigger while 10,000 events (3,000 under the race detector) are
// published at a steady rate. During the load one host dies (its
// connection drops with its events unacked, as at kill -9), one NATS node
// stops (its host and the publisher reconnect to the others; the streams
// keep their quorum) and one host stops gracefully (it stops pulling,
// finishes its calls, leaves). Every event
// published has an ok call in the call log; duplicates (the dead host's
// calls that ran but were not acked) are counted and reported.
func TestClusterFaults(t *testing.T) {
	const n = clusterEvents
	nodes := natstest.Cluster(t, 3)
	ctx := t.Context()

	type member struct {
		a  *app.App
		ts *httptest.Server
		nc *nats.Conn
	}
	hosts := make([]*member, 3)
	for i := range hosts {
		nc := nodes.Conn(i)
		a, err := app.New(ctx, app.Config{DataDir: t.TempDir(), NATS: app.NATSConfig{Conn: nc}, Layout: layout.Config{Replicas: 3}})
		require.NoError(t, err, "host %d", i)
		ts := httptest.NewServer(a.Handler())
		hosts[i] = &member{a: a, ts: ts, nc: nc}
	}
	var stopped sync.Map // index → true once stopped by the test
	t.Cleanup(func() {
		for i, h := range hosts {
			h.ts.Close()
			if _, done := stopped.Load(i); done {
				continue
			}
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			assert.NoError(t, h.a.Shutdown(sctx), "host %d", i)
			cancel()
		}
	})
	// A young cluster on a loaded machine may answer a first write with
	// 503: a client repeats it, and so does the test.
	path, err := hosttest.BuildGo(ctx, "../../examples/hello/go")
	require.NoError(t, err)
	wasm, err := os.ReadFile(path)
	require.NoError(t, err)
	repeat := func(what, method, path, ctype string, body []byte) []byte {
		t.Helper()
		var out []byte
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			resp, b := call(t, hosts[0].ts, method, path, ctype, body)
			out = b
			if resp.StatusCode/100 != 2 {
				assert.Equal(c, http.StatusServiceUnavailable, resp.StatusCode, "%s", b)
			}
			assert.Equal(c, 2, resp.StatusCode/100, "%s", b)
		}, 60*time.Second, 250*time.Millisecond, "%s", what)
		return out
	}
	var mf struct{ Digest string }
	require.NoError(t, json.Unmarshal(repeat("upload the module", "POST", "/v1/modules", "application/wasm", wasm), &mf))
	repeat("put the function", "PUT", "/v1/functions/hello", "application/json", []byte(`{"module": "`+mf.Digest+`", "limits": {"max_concurrency": 8}}`))
	// A young cluster under load may not take the trigger's consumer at
	// once: the API says 503, and a repeat succeeds.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resp, body := call(t, hosts[1].ts, "PUT", "/v1/triggers/all", "application/json", []byte(`{"function": "hello", "filters": [{"exact": {"type": "com.example.load"}}]}`))
		if resp.StatusCode != http.StatusOK {
			assert.Equal(c, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
		}
		assert.Equal(c, http.StatusOK, resp.StatusCode, "%s", body)
	}, 60*time.Second, 250*time.Millisecond, "the trigger is put")
	// Every host pulls from the trigger's consumer before the load starts.
	for i, h := range hosts {
		require.Eventually(t, func() bool {
			resp, _ := call(t, h.ts, "GET", "/v1/triggers/all", "", nil)
			if resp.StatusCode != http.StatusOK {
				return false
			}
			for _, tr := range h.a.Router().Triggers() {
				if tr.Name == "all" {
					return true
				}
			}
			return false
		}, 60*time.Second, 10*time.Millisecond, "host %d delivers the trigger", i)
	}

	// The publisher: its own connection, to node 0 first; every event
	// published until its PubAck comes (the same Nats-Msg-Id each time).
	pub := nodes.JetStream(0)
	var published atomic.Int64
	pubDone := make(chan error, 1)
	go func() {
		// 200 events per 5 ms tick at most: about 40,000 events/s.
		pace := time.NewTicker(5 * time.Millisecond)
		defer pace.Stop()
		pubDone <- func() error {
			for i := range n {
				ev := cloudevents.NewEvent()
				ev.SetID(fmt.Sprintf("load-%05d", i))
				ev.SetSource("/load")
				ev.SetType("com.example.load")
				ev.SetSubject(fmt.Sprintf("s%d", i%50))
				if err := ev.SetData(cloudevents.ApplicationJSON, map[string]int{"i": i}); err != nil {
					return err
				}
				m, err := router.EncodeMsg(layout.EventsPrefix+".load", ev)
				if err != nil {
					return err
				}
				for attempt := 1; ; attempt++ {
					pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					_, err := pub.PublishMsg(pctx, m, jetstream.WithMsgID(ev.ID()))
					cancel()
					if err == nil {
						break
					}
					if attempt == 100 || ctx.Err() != nil {
						return fmt.Errorf("publish %s: %w", ev.ID(), err)
					}
					select {
					case <-time.After(50 * time.Millisecond):
					case <-ctx.Done():
					}
				}
				published.Add(1)
				if i%200 == 199 {
					<-pace.C // a steady rate, not one burst
				}
			}
			return nil
		}()
	}()

	calls := nodes.JetStream(1)
	recorded := func() uint64 {
		st, err := calls.Stream(ctx, layout.CallsStream)
		if err != nil {
			return 0
		}
		info, err := st.Info(ctx)
		if err != nil {
			return 0
		}
		return info.State.Msgs
	}
	waitCalls := func(at uint64, what string) {
		t.Helper()
		require.Eventually(t, func() bool { return recorded() >= at }, 120*time.Second, 20*time.Millisecond, "%d calls recorded before %s", at, what)
	}

	start := time.Now()
	waitCalls(n/4, "a host dies")
	hosts[2].nc.Close() // kill -9: nothing acked, nothing drained
	stopped.Store(2, true)
	t.Logf("host 2 killed after %d calls, %s", recorded(), time.Since(start).Round(time.Millisecond))
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = hosts[2].a.Shutdown(sctx) // what is left of it: its connection is gone
	}()

	waitCalls(n/2, "a NATS node stops")
	nodes.Stop(2)
	t.Logf("NATS node 2 stopped after %d calls, %s", recorded(), time.Since(start).Round(time.Millisecond))

	waitCalls(3*n/4, "a host leaves")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	require.NoError(t, hosts[1].a.Shutdown(sctx), "host 1 leaves gracefully")
	cancel()
	stopped.Store(1, true)
	t.Logf("host 1 stopped gracefully after %d calls, %s", recorded(), time.Since(start).Round(time.Millisecond))

	require.NoError(t, <-pubDone)
	require.EqualValues(t, n, published.Load())

	// Every event has an ok call: read the call log until it holds one
	// for each.
	ok := map[string]int{}
	statuses := map[string]int{}
	var seq uint64
	read := func() {
		st, err := calls.Stream(ctx, layout.CallsStream)
		if err != nil {
			return
		}
		cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: seq + 1})
		if err != nil {
			return
		}
		for {
			m, err := cons.Next(jetstream.FetchMaxWait(time.Second))
			if err != nil {
				return
			}
			meta, err := m.Metadata()
			if err != nil {
				return
			}
			seq = meta.Sequence.Stream
			statuses[m.Headers().Get(store.HeaderCallStatus)]++
			if m.Headers().Get(store.HeaderCallStatus) == "ok" {
				ok[m.Headers().Get(store.HeaderCallCauseID)]++
			}
		}
	}
	deadline := time.Now().Add(120 * time.Second)
	for len(ok) < n && time.Now().Before(deadline) {
		read()
	}
	if len(ok) < n {
		st, _ := calls.Stream(ctx, layout.DeadLetterStream)
		var dl uint64
		if st != nil {
			info, _ := st.Info(ctx)
			if info != nil {
				dl = info.State.Msgs
			}
		}
		var missing, dups []string
		for i := range n {
			id := fmt.Sprintf("load-%05d", i)
			switch ok[id] {
			case 0:
				missing = append(missing, id)
			case 1:
			default:
				dups = append(dups, id)
			}
		}
		for id, c := range ok {
			if !strings.HasPrefix(id, "load-") {
				dups = append(dups, fmt.Sprintf("%q×%d", id, c))
			}
		}
		var consumer string
		if c, err := calls.Consumer(ctx, layout.EventsStream, router.DurableName("all")); err == nil {
			if info, err := c.Info(ctx); err == nil {
				consumer = fmt.Sprintf("delivered %d, ack floor %d, pending %d, ack pending %d, redelivered %d",
					info.Delivered.Stream, info.AckFloor.Stream, info.NumPending, info.NumAckPending, info.NumRedelivered)
			}
		}
		var callsState string
		if st, err := calls.Stream(ctx, layout.CallsStream); err == nil {
			if info, err := st.Info(ctx); err == nil {
				callsState = fmt.Sprintf("%d messages, seq %d-%d, %d deleted", info.State.Msgs, info.State.FirstSeq, info.State.LastSeq, info.State.NumDeleted)
			}
		}
		t.Fatalf("%d of %d events have an ok call; calls by status %v; %d dead letters; missing %v; more than one ok call %v; trigger consumer: %s; calls stream: %s; last read seq %d",
			len(ok), n, statuses, dl, missing, dups, consumer, callsState, seq)
	}
	var missing, dup int
	for i := range n {
		switch c := ok[fmt.Sprintf("load-%05d", i)]; {
		case c == 0:
			missing++
		case c > 1:
			dup += c - 1
		}
	}
	assert.Zero(t, missing, "events published without an ok call")
	t.Logf("cluster faults: %d events published, %d with an ok call, %d lost, %d duplicate calls; %s in all",
		n, len(ok), missing, dup, time.Since(start).Round(time.Millisecond))
}
