package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/layout"
)

// TestCrashPropertyEvents: every committed property change has exactly one
// property-changed event, whatever moment the process dies. examples/counter
// increments "count" of each event's subject; 2,000 events about 20
// subjects are handled while `serve` is killed with SIGKILL twice and
// restarted on the same data directory. Each subject's count ends at its
// number of events (the writes are exactly-once), and the property-changed
// stream holds, per subject, one event for each value 1..count with the
// value before it as old_value: nothing missing, nothing twice.
func TestCrashPropertyEvents(t *testing.T) {
	const (
		n        = 2_000
		subjects = 20
	)
	start := time.Now()
	c := startCounterCrash(t, n, subjects)
	rig := c.rig
	subject := func(i int) string { return tickSubject(i, subjects) }
	msgs := func(js jetstream.JetStream, stream string) uint64 { return streamMsgs(t, js, stream) }
	for k := 1; k <= 2; k++ {
		at := uint64(k * n / 3)
		c.kill(t, fmt.Sprintf("%d property-changed events (kill %d)", at, k), func(js jetstream.JetStream) bool {
			return msgs(js, layout.PropsStream) >= at
		})
		t.Logf("kill %d: SIGKILL after %d events, %s into the test", k, at, time.Since(start).Round(time.Millisecond))
	}
	logs, p := c.logs, c.p
	connect := func() (*nats.Conn, jetstream.JetStream) { return c.connect(t) }

	// Wait until every count is final and the relay has caught up.
	nc, js := connect()
	defer nc.Close()
	final := map[string]int{}
	require.Eventually(t, func() bool {
		sum := 0
		for s := range subjects {
			pr, err := rig.props(subject(s))
			if err != nil {
				return false
			}
			c, _ := strconv.Atoi(string(pr["count"]))
			final[subject(s)] = c
			sum += c
		}
		return sum >= n
	}, 180*time.Second, 100*time.Millisecond, "every event counted\n%s", logs.String())
	kst, err := js.Stream(t.Context(), "KV_"+layout.PropsBucket)
	require.NoError(t, err)
	relay, err := kst.Consumer(t.Context(), layout.PropsRelay)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := relay.Info(t.Context())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	}, 60*time.Second, 20*time.Millisecond, "the relay caught up")

	// Read every property-changed event.
	seen := map[string]map[int]int{} // subject → value → events
	var bad []string
	st, err := js.Stream(t.Context(), layout.PropsStream)
	require.NoError(t, err)
	total := msgs(js, layout.PropsStream)
	cons, err := st.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	for range total {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		require.NoError(t, err)
		var ev struct {
			Subject string `json:"subject"`
			Data    struct {
				Name string          `json:"property_name"`
				Old  json.RawMessage `json:"old_value"`
				New  json.RawMessage `json:"value"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(m.Data(), &ev))
		v, err := strconv.Atoi(string(ev.Data.New))
		require.NoError(t, err, "value %s", ev.Data.New)
		want := strconv.Itoa(v - 1)
		if v == 1 {
			want = "null"
		}
		if ev.Data.Name != "count" || string(ev.Data.Old) != want {
			bad = append(bad, fmt.Sprintf("%s %s: %s→%s", ev.Subject, ev.Data.Name, ev.Data.Old, ev.Data.New))
		}
		if seen[ev.Subject] == nil {
			seen[ev.Subject] = map[int]int{}
		}
		seen[ev.Subject][v]++
	}
	var missing, twice []string
	sum := 0
	for s, c := range final {
		sum += c
		for v := 1; v <= c; v++ {
			switch seen[s][v] {
			case 1:
			case 0:
				missing = append(missing, fmt.Sprintf("%s=%d", s, v))
			default:
				twice = append(twice, fmt.Sprintf("%s=%d", s, v))
			}
		}
	}
	assert.Equal(t, n, sum, "the counts add up: every write applied once")
	assert.Empty(t, missing, "committed changes without an event")
	assert.Empty(t, twice, "changes with more than one event")
	assert.Empty(t, bad, "events whose old value is not the value before")
	assert.EqualValues(t, n, total, "one event per committed change")
	t.Logf("crash property events: %d changes, 2 SIGKILLs, %d events, %d missing, %d twice; %s in all",
		sum, total, len(missing), len(twice), time.Since(start).Round(time.Millisecond))

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, p.wait(t, 60*time.Second, logs), logs.String())
}
