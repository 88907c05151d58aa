package jetstream_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
	"github.com/wasmfaas/wasmfaas/store"
	jsstore "github.com/wasmfaas/wasmfaas/store/jetstream"
)

// changed is what the tests read of a property-changed event.
type changed struct {
	ID      string
	Subject string
	Name    string
	Old     string
	New     string
	Rev     string
}

// readChanges reads every event of the property-changed stream, in order,
// waiting until there are want of them.
func readChanges(t *testing.T, js jetstream.JetStream, want int) []changed {
	t.Helper()
	ctx := t.Context()
	st, err := js.Stream(ctx, layout.PropsStream)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := st.Info(ctx)
		return err == nil && info.State.Msgs >= uint64(want)
	}, 20*time.Second, 5*time.Millisecond, "%d property-changed events", want)
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	var out []changed
	for range info.State.Msgs {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		require.NoError(t, err)
		var ev struct {
			ID      string `json:"id"`
			Subject string `json:"subject"`
			Name    string `json:"propertyname"`
			Data    struct {
				Old json.RawMessage `json:"old_value"`
				New json.RawMessage `json:"value"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(m.Data(), &ev))
		out = append(out, changed{ID: ev.ID, Subject: ev.Subject, Name: ev.Name, Old: string(ev.Data.Old), New: string(ev.Data.New), Rev: m.Headers().Get("Wasmfaas-Rev")})
	}
	return out
}

func pauseRelay(t *testing.T, js jetstream.JetStream, until time.Time) {
	t.Helper()
	_, err := js.PauseConsumer(t.Context(), "KV_"+layout.PropsBucket, layout.PropsRelay, until)
	require.NoError(t, err)
}

// TestRelaySupersededWrites: writes to one property made while the relay
// is held back (its consumer paused, as when every host is busy or down)
// are each published once it resumes, old and new value included, though
// each write replaced the one before in the bucket.
func TestRelaySupersededWrites(t *testing.T) {
	ctx := t.Context()
	js := natstest.Start(t).JetStream()
	s := newStore(t, js, jsstore.Config{})
	pauseRelay(t, js, time.Now().Add(time.Hour))
	p := s.Properties()
	for i := 1; i <= 5; i++ {
		_, err := p.Set(ctx, "dev", "n", json.RawMessage(strconv.Itoa(i)), abi.RevAny)
		require.NoError(t, err)
	}
	_, err := p.Delete(ctx, "dev", "n", abi.RevAny)
	require.NoError(t, err)
	got, err := p.Get(ctx, "dev", "n")
	assert.ErrorIs(t, err, store.ErrNotFound, "%+v", got)

	_, err = js.ResumeConsumer(ctx, "KV_"+layout.PropsBucket, layout.PropsRelay)
	require.NoError(t, err)
	var chain []string
	for _, c := range readChanges(t, js, 6) {
		chain = append(chain, c.Old+"→"+c.New)
	}
	assert.Equal(t, []string{"null→1", "1→2", "2→3", "3→4", "4→5", "5→null"}, chain)

	// The relay purges behind itself: the bucket keeps the latest message
	// of the key (here its delete marker), as any KV bucket does.
	kst, err := js.Stream(ctx, "KV_"+layout.PropsBucket)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := kst.Info(ctx)
		return err == nil && info.State.Msgs == 1
	}, 10*time.Second, 10*time.Millisecond, "relayed writes purged")
}

// TestRelayRestart: a host that stops before its relay has published
// anything loses nothing, and one that stopped after publishing but before
// acknowledging (simulated by re-delivering what was published) publishes
// nothing twice, even outside the stream's duplicate window.
func TestRelayRestart(t *testing.T) {
	ctx := t.Context()
	srv := natstest.Start(t)
	js := srv.JetStream()
	s := newStore(t, js, jsstore.Config{})
	// The duplicate window is shrunk to 100ms (the least the server takes)
	// before anything is published: the server arms its expiry timer by
	// the window in force when an id is stored, so shrinking it later would
	// leave the ids of this test for the default's two minutes.
	ps, err := js.Stream(ctx, layout.PropsStream)
	require.NoError(t, err)
	cfg := ps.CachedInfo().Config
	cfg.Duplicates = 100 * time.Millisecond
	_, err = js.UpdateStream(ctx, cfg)
	require.NoError(t, err)
	pauseRelay(t, js, time.Now().Add(time.Hour))
	for i := range 10 {
		_, err := s.Properties().Set(ctx, fmt.Sprintf("dev|%d", i%3), "n", json.RawMessage(strconv.Itoa(i)), abi.RevAny)
		require.NoError(t, err)
	}
	require.Error(t, s.Close(), "Close says the events are not all stored yet")

	// The next host (same server) relays them.
	_, err = js.ResumeConsumer(ctx, "KV_"+layout.PropsBucket, layout.PropsRelay)
	require.NoError(t, err)
	s2 := newStore(t, js, jsstore.Config{})
	require.Len(t, readChanges(t, js, 10), 10)
	require.NoError(t, s2.Close())

	// Every write delivered again, as after a crash between publishing and
	// acknowledging, with the duplicate window long gone (the stream's
	// window is shrunk to 100ms and let pass): nothing is published twice.
	kst, err := js.Stream(ctx, "KV_"+layout.PropsBucket)
	require.NoError(t, err)
	require.NoError(t, kst.DeleteConsumer(ctx, layout.PropsRelay))
	_, err = kst.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: layout.PropsRelay, DeliverPolicy: jetstream.DeliverAllPolicy, AckPolicy: jetstream.AckExplicitPolicy,
		FilterSubject: "$KV." + layout.PropsBucket + ".>",
	})
	require.NoError(t, err)
	waitWindowPassed(t, js, ps)
	s3 := newStore(t, js, jsstore.Config{})
	// A new write after the redelivered ones: once its event is there,
	// the relay has handled all the earlier ones.
	_, err = s3.Properties().Set(ctx, "dev|0", "n", json.RawMessage(`"last"`), abi.RevAny)
	require.NoError(t, err)
	got := readChanges(t, js, 11)
	require.NoError(t, s3.Close())
	got = readChanges(t, js, 11)
	ids := map[string]int{}
	for _, c := range got {
		ids[c.ID]++
	}
	assert.Len(t, got, 11, "each write has one event")
	for id, n := range ids {
		assert.Equal(t, 1, n, id)
	}
	assert.Equal(t, `"last"`, got[len(got)-1].New)
}

// TestRelayWriteIDs: idempotent writes (atomic batch with a marker) are
// relayed like any other, and the markers are not.
func TestRelayWriteIDs(t *testing.T) {
	ctx := store.WithWriteID(t.Context(), "call-1/0")
	js := natstest.Start(t).JetStream()
	s := newStore(t, js, jsstore.Config{})
	_, err := s.Properties().Set(ctx, "dev", "a", json.RawMessage(`1`), abi.RevAny)
	require.NoError(t, err)
	ctx2 := store.WithWriteID(t.Context(), "call-1/1")
	_, err = s.Properties().Set(ctx2, "dev", "a", json.RawMessage(`2`), abi.RevAny)
	require.NoError(t, err)
	_, err = s.Properties().Set(ctx2, "dev", "a", json.RawMessage(`2`), abi.RevAny)
	require.NoError(t, err, "a repeat is answered, not written")
	require.NoError(t, s.Close())
	got := readChanges(t, js, 2)
	require.Len(t, got, 2)
	assert.Equal(t, "null", got[0].Old)
	assert.Equal(t, "1", got[1].Old)
	assert.Equal(t, "2", got[1].New)
}

// TestRelayNATSRestart: the server restarts with 20 writes not yet relayed;
// the relay (on a connection that reconnects) publishes every write's
// event once, in order, those made before the restart and those after.
func TestRelayNATSRestart(t *testing.T) {
	ctx := t.Context()
	srv := natstest.Start(t, natstest.WithTCP(), natstest.WithDir(t.TempDir()))
	js, err := jetstream.New(srv.Dial())
	require.NoError(t, err)
	s := newStore(t, js, jsstore.Config{})
	set := func(i int) {
		t.Helper()
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			_, err := s.Properties().Set(ctx, "dev", "n", json.RawMessage(strconv.Itoa(i)), abi.RevAny)
			assert.NoError(c, err)
		}, 30*time.Second, 20*time.Millisecond, "write %d", i)
	}
	// The first 20 are still unrelayed when the server goes down.
	pauseRelay(t, js, time.Now().Add(time.Hour))
	for i := 1; i <= 20; i++ {
		set(i)
	}
	srv.Restart()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := js.ResumeConsumer(ctx, "KV_"+layout.PropsBucket, layout.PropsRelay)
		assert.NoError(c, err)
	}, 30*time.Second, 20*time.Millisecond, "resume the relay after the restart")
	for i := 21; i <= 40; i++ {
		set(i)
	}
	got := readChanges(t, js, 40)
	require.Len(t, got, 40)
	for i, c := range got {
		want := strconv.Itoa(i)
		if i == 0 {
			want = "null"
		}
		assert.Equal(t, want+"→"+strconv.Itoa(i+1), c.Old+"→"+c.New, "event %d", i+1)
	}
}

// waitWindowPassed waits until the stream st (on the props-changed
// subjects) no longer remembers a Nats-Msg-Id published now: a probe is
// published until the server stores it a second time, then removed.
func waitWindowPassed(t *testing.T, js jetstream.JetStream, st jetstream.Stream) {
	t.Helper()
	ctx := t.Context()
	probe := layout.PropsSubject + ".probe.window"
	_, err := js.Publish(ctx, probe, nil, jetstream.WithMsgID("window-probe"))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ack, err := js.Publish(ctx, probe, nil, jetstream.WithMsgID("window-probe"))
		return err == nil && !ack.Duplicate
	}, 30*time.Second, 5*time.Millisecond, "the duplicate window passes")
	require.NoError(t, st.Purge(ctx, jetstream.WithPurgeSubject(probe)))
}

// TestRelayLateDelivery: writes delivered to a relay that died (a client
// that fetched them and never acknowledged) come again only after the ack
// wait, after a newer write of the same property reached the next relay.
// Each still has its event, once, and the events follow the writes' order.
func TestRelayLateDelivery(t *testing.T) {
	ctx := t.Context()
	js := natstest.Start(t).JetStream()
	s := newStore(t, js, jsstore.Config{})
	pauseRelay(t, js, time.Now().Add(time.Hour))
	for i := 1; i <= 3; i++ {
		_, err := s.Properties().Set(ctx, "dev", "n", json.RawMessage(strconv.Itoa(i)), abi.RevAny)
		require.NoError(t, err)
	}
	require.Error(t, s.Close(), "the events are not stored yet")

	// The dead relay: a client that takes the three writes and dies. A
	// short ack wait brings them back soon.
	kst, err := js.Stream(ctx, "KV_"+layout.PropsBucket)
	require.NoError(t, err)
	cons, err := kst.Consumer(ctx, layout.PropsRelay)
	require.NoError(t, err)
	cfg := cons.CachedInfo().Config
	cfg.AckWait = time.Second
	_, err = kst.UpdateConsumer(ctx, cfg)
	require.NoError(t, err)
	_, err = js.ResumeConsumer(ctx, "KV_"+layout.PropsBucket, layout.PropsRelay)
	require.NoError(t, err)
	batch, err := cons.Fetch(3, jetstream.FetchMaxWait(5*time.Second), jetstream.FetchPriorityGroup(layout.PropsRelayGroup))
	require.NoError(t, err)
	n := 0
	for range batch.Messages() {
		n++
	}
	require.NoError(t, batch.Error())
	require.Equal(t, 3, n, "the dead relay holds the three writes")
	// Unpin the dead client so the next relay gets deliveries at once.
	require.NoError(t, kst.UnpinConsumer(ctx, layout.PropsRelay, layout.PropsRelayGroup))

	// The next relay gets the newer write first.
	s2 := newStore(t, js, jsstore.Config{})
	_, err = s2.Properties().Set(ctx, "dev", "n", json.RawMessage(`4`), abi.RevAny)
	require.NoError(t, err)
	got := readChanges(t, js, 4)
	var chain []string
	for _, c := range got {
		chain = append(chain, c.Old+"→"+c.New)
	}
	assert.Equal(t, []string{"null→1", "1→2", "2→3", "3→4"}, chain)
	// The late deliveries are acknowledged without a second event.
	require.Eventually(t, func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0 && info.NumRedelivered == 0
	}, 20*time.Second, 10*time.Millisecond, "the late writes acknowledged")
	require.NoError(t, s2.Close())
	assert.Len(t, readChanges(t, js, 4), 4, "nothing twice")
}
