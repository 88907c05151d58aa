package router

import (
	"context"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
)

// TestNATSRestart stops and restarts the server on the same data directory
// while events are processed: every event is still processed, at least
// once; duplicates are counted.
func TestNATSRestart(t *testing.T) {
	const n = 300
	srv := natstest.Start(t, natstest.WithTCP())
	nc := srv.Dial()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	inv := newFake(func(fn string, ev cloudevents.Event, attempt int) host.ExecutionInfo {
		// A little work per call, so the restart falls mid-stream.
		time.Sleep(2 * time.Millisecond)
		return host.ExecutionInfo{Status: host.StatusOK}
	})
	startRouter(t, Config{AckWait: 2 * time.Second, Concurrency: 4}, js, inv,
		Trigger{Name: "all", Function: "all", Delivery: fastDelivery})
	var evs []cloudevents.Event
	for i := range n {
		evs = append(evs, reading(i))
	}
	publish(t, js, evs...)
	eventually(t, 20*time.Second, func() bool { return inv.okCount("all") >= n/3 }, "first third")

	// An outage the client notices, then the server back on its files.
	srv.Shutdown()
	eventually(t, 10*time.Second, func() bool { return !nc.IsConnected() }, "the client sees the outage")
	srv.Restart()

	// More events after the restart, published by the reconnected client.
	for i := n; i < 2*n; i++ {
		ev := reading(i)
		evs = append(evs, ev)
		msg, err := EncodeMsg("events.test", ev)
		require.NoError(t, err)
		eventually(t, 10*time.Second, func() bool {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			_, err := js.PublishMsg(ctx, msg)
			return err == nil
		}, "publish after restart")
	}
	eventually(t, 40*time.Second, func() bool { return inv.okCount("all") == 2*n }, "all events: %d of %d", inv.okCount("all"), 2*n)
	inv.mu.Lock()
	dups := 0
	for _, ev := range evs {
		dups += inv.okN["all/"+ev.ID()] - 1
	}
	inv.mu.Unlock()
	t.Logf("%d events processed, %d processed twice or more (redelivered after the restart)", 2*n, dups)
}

// TestGracefulStop: Stop lets calls in flight finish and ack; what was not
// started is redelivered to the next Router, and nothing runs twice.
func TestGracefulStop(t *testing.T) {
	const n = 20
	js := natstest.Start(t).JetStream()
	inv1 := newFake(func(fn string, ev cloudevents.Event, attempt int) host.ExecutionInfo {
		// Slow calls are what is under test: Stop must wait for them.
		time.Sleep(400 * time.Millisecond)
		return host.ExecutionInfo{Status: host.StatusOK}
	})
	tr := Trigger{Name: "slow", Function: "slow", Delivery: fastDelivery}
	r1, err := New(Config{AckWait: time.Second, Concurrency: 4}, js, inv1, testLogger(t))
	require.NoError(t, err)
	require.NoError(t, r1.SetTriggers(t.Context(), []Trigger{tr}))
	require.NoError(t, r1.Start(t.Context()))
	var evs []cloudevents.Event
	for i := range n {
		evs = append(evs, reading(i))
	}
	publish(t, js, evs...)
	eventually(t, 10*time.Second, func() bool {
		inv1.mu.Lock()
		defer inv1.mu.Unlock()
		return inv1.active == 4
	}, "4 calls in flight")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	require.NoError(t, r1.Stop(ctx))
	inv1.mu.Lock()
	assert.Zero(t, inv1.active, "calls in flight finished before Stop returned")
	done1 := len(inv1.oks)
	inv1.mu.Unlock()
	assert.GreaterOrEqual(t, done1, 4)
	assert.Less(t, done1, n)

	inv2 := newFake(nil)
	startRouter(t, Config{AckWait: time.Second}, js, inv2, tr)
	eventually(t, 20*time.Second, func() bool { return inv1.okCount("slow")+inv2.okCount("slow") >= n }, "the rest")
	// Once the trigger has nothing pending or unacked, no redelivery (and
	// so no second run) can come.
	settled(t, js, "slow")
	for _, ev := range evs {
		runs := len(inv1.attempts("slow", ev.ID())) + len(inv2.attempts("slow", ev.ID()))
		assert.Equal(t, 1, runs, "event %s ran %d times", ev.ID(), runs)
	}
	t.Logf("first router finished %d events, the second %d", done1, inv2.okCount("slow"))
}
