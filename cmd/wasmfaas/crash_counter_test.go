package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/store"
)

// TestCrashCounterExact is the exactly-once proof of idempotent writes:
// examples/counter increments the property "count" of each event's subject
// with a compare-and-set loop; 10,000 events about 10 subjects are
// accepted, and `serve` is killed with SIGKILL three times while it
// handles them (at a quarter, half and three quarters of the calls logged,
// observed through the call log), restarting each time on the same data
// directory. Calls interrupted between their write and their ack run
// again (redelivered), and the store does not apply their writes twice:
// the counts add up to exactly 10,000, and every event has exactly one ok
// call in the call log.
func TestCrashCounterExact(t *testing.T) {
	const (
		n        = 10_000
		subjects = 10
	)
	start := time.Now()
	c := startCounterCrash(t, n, subjects)
	rig := c.rig
	subject := func(i int) string { return tickSubject(i, subjects) }
	id := tickID
	t.Logf("%d events accepted in %s", n, time.Since(start).Round(time.Millisecond))

	for k := 1; k <= 3; k++ {
		at := uint64(k * n / 4)
		c.kill(t, fmt.Sprintf("%d calls logged (kill %d)", at, k), func(js jetstream.JetStream) bool {
			return streamMsgs(t, js, layout.CallsStream) >= at
		})
		t.Logf("kill %d: SIGKILL after %d calls logged, %s into the test", k, at, time.Since(start).Round(time.Millisecond))
	}
	logs, p := c.logs, c.p
	connect := func() (*nats.Conn, jetstream.JetStream) { return c.connect(t) }

	// Wait until every event was handled: the trigger's consumer has
	// nothing pending and nothing unacknowledged, and the counts add up
	// to at least n.
	nc, js := connect()
	defer nc.Close()
	count := func() (int64, error) {
		var sum int64
		for s := range subjects {
			pr, err := rig.props(subject(s))
			if err != nil {
				return 0, err
			}
			if v, ok := pr["count"]; ok {
				c, err := strconv.ParseInt(string(v), 10, 64)
				if err != nil {
					return 0, err
				}
				sum += c
			}
		}
		return sum, nil
	}
	idle := func() bool {
		st, err := js.Stream(t.Context(), layout.EventsStream)
		if err != nil {
			return false
		}
		for name := range st.ConsumerNames(t.Context()).Name() {
			c, err := st.Consumer(t.Context(), name)
			if err != nil {
				return false
			}
			info, err := c.Info(t.Context())
			if err != nil || info.NumPending > 0 || info.NumAckPending > 0 || info.NumRedelivered > 0 {
				return false
			}
		}
		return true
	}
	var total int64
	require.Eventually(t, func() bool {
		if !idle() {
			return false
		}
		c, err := count()
		total = c
		return err == nil && c >= n
	}, 180*time.Second, 200*time.Millisecond, "every event handled; count %d\n%s", total, logs.String())
	assert.Equal(t, int64(n), total, "the counts add up to the number of events: no increment lost, none applied twice")

	// Read the whole call log: every event has exactly one ok call.
	st, err := js.Stream(t.Context(), layout.CallsStream)
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	cons, err := st.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	ok := map[string]int{}
	var calls, redelivered, notOK int
	for calls < int(info.State.Msgs) {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		require.NoError(t, err)
		got := 0
		for m := range batch.Messages() {
			got++
			calls++
			toks := strings.Split(m.Subject(), ".") // wasmfaas.calls.<fn>.<status>.<id>
			status, err := base64.RawURLEncoding.DecodeString(toks[3])
			require.NoError(t, err)
			ev, err := router.DecodeMsg(&nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
			require.NoError(t, err)
			attempt, _ := router.Attr(&ev, store.ExtAttempt)
			if attempt != "1" {
				redelivered++
				assert.True(t, bytes.Contains(ev.Data(), []byte(`"redelivered":true`)), "a call on attempt %s is marked redelivered", attempt)
			}
			if string(status) != "ok" {
				notOK++
				continue
			}
			ok[m.Headers().Get(store.HeaderCallCauseID)]++
		}
		require.NoError(t, batch.Error())
		require.NotZero(t, got, "read %d of %d calls", calls, info.State.Msgs)
	}
	var missing, twice []string
	for i := range n {
		switch ok[id(i)] {
		case 1:
		case 0:
			missing = append(missing, id(i))
		default:
			twice = append(twice, id(i))
		}
	}
	assert.Len(t, ok, n, "ok calls are about the %d events and nothing else", n)
	assert.Empty(t, missing, "events without an ok call")
	assert.Empty(t, twice, "events with more than one ok call")
	t.Logf("crash counter: %d events, 3 SIGKILLs, count %d; %d calls logged (%d not ok, %d on a redelivered event); %s in all",
		n, total, calls, notOK, redelivered, time.Since(start).Round(time.Millisecond))

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, p.wait(t, 60*time.Second, logs), logs.String())
}
