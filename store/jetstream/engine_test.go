package jetstream_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
	"github.com/wasmfaas/wasmfaas/store"
)

// TestEngine pins the JetStream behaviours idempotent writes rest on
// (docs/RATIONALE.md, "Why atomic batches for idempotent writes?"), on the
// server version we embed, with raw publishes and no store code in
// between: if an upgrade changes one, this fails before the store does.
func TestEngine(t *testing.T) {
	ctx := t.Context()
	srv := natstest.Start(t, natstest.Bare())
	nc := srv.Conn()
	js, err := jetstream.New(nc) // the batch must go over one connection, in order
	require.NoError(t, err)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "ENGINE", Subjects: []string{"e.>"}, MaxMsgsPerSubject: 1,
		AllowAtomicPublish: true, AllowMsgTTL: true, AllowDirect: true,
	})
	require.NoError(t, err)
	st, err := js.Stream(ctx, "ENGINE")
	require.NoError(t, err)

	batchN := 0
	// batch publishes msgs as one atomic batch: every message but the last
	// without a reply subject, the last (the commit) as a request whose
	// answer is the batch's PubAck or its error.
	batch := func(msgs ...*nats.Msg) (*jetstream.PubAck, error) {
		batchN++
		id := "b" + strconv.Itoa(batchN)
		for i, m := range msgs {
			m.Header.Set("Nats-Batch-Id", id)
			m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
			if i < len(msgs)-1 {
				require.NoError(t, nc.PublishMsg(m))
			}
		}
		last := msgs[len(msgs)-1]
		last.Header.Set("Nats-Batch-Commit", "1")
		return js.PublishMsg(ctx, last)
	}
	msg := func(subj, data string, hdr ...string) *nats.Msg {
		m := nats.NewMsg(subj)
		m.Data = []byte(data)
		for i := 0; i+1 < len(hdr); i += 2 {
			m.Header.Set(hdr[i], hdr[i+1])
		}
		return m
	}
	wrongLast := func(t *testing.T, err error) {
		t.Helper()
		var apiErr *jetstream.APIError
		require.True(t, errors.As(err, &apiErr), "want an API error, got %v", err)
		assert.Equal(t, jetstream.JSErrCodeStreamWrongLastSequence, apiErr.ErrorCode, "%v", err)
	}
	last := func(subj string) uint64 {
		m, err := st.GetLastMsgForSubject(ctx, subj)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return 0
		}
		require.NoError(t, err)
		return m.Sequence
	}

	t.Run("commit answers the last sequence", func(t *testing.T) {
		pa, err := batch(
			msg("e.m.1", "", "Nats-Expected-Last-Subject-Sequence", "0", "Nats-TTL", "24h"),
			msg("e.k.a", "1", "Nats-Expected-Last-Subject-Sequence", "0"),
		)
		require.NoError(t, err)
		assert.Equal(t, last("e.k.a"), pa.Sequence, "the PubAck's sequence is the commit message's")
		assert.Equal(t, pa.Sequence-1, last("e.m.1"), "a batch is stored contiguously")
	})
	t.Run("an existing marker refuses the whole batch", func(t *testing.T) {
		before := last("e.k.a")
		_, err := batch(
			msg("e.m.1", "", "Nats-Expected-Last-Subject-Sequence", "0", "Nats-TTL", "24h"),
			msg("e.k.a", "2", "Nats-Expected-Last-Subject-Sequence", strconv.FormatUint(before, 10)),
		)
		wrongLast(t, err)
		assert.Equal(t, before, last("e.k.a"), "the value was not written")
	})
	t.Run("a stale value refuses the whole batch", func(t *testing.T) {
		_, err := batch(
			msg("e.m.2", "", "Nats-Expected-Last-Subject-Sequence", "0", "Nats-TTL", "24h"),
			msg("e.k.a", "3", "Nats-Expected-Last-Subject-Sequence", "1"),
		)
		wrongLast(t, err)
		assert.Zero(t, last("e.m.2"), "the marker was not written")
	})
	t.Run("a marker expires after its Nats-TTL", func(t *testing.T) {
		_, err := batch(
			msg("e.m.3", "", "Nats-Expected-Last-Subject-Sequence", "0", "Nats-TTL", "1s"),
			msg("e.k.b", "1"),
		)
		require.NoError(t, err)
		require.NotZero(t, last("e.m.3"))
		require.Eventually(t, func() bool { return last("e.m.3") == 0 }, 10*time.Second, 50*time.Millisecond)
		assert.NotZero(t, last("e.k.b"), "the value stays")
	})
	t.Run("Nats-Msg-Id does not excuse a stale expected sequence", func(t *testing.T) {
		// A compare-and-set retried after a crash carries the revision it
		// read then; the server checks it before the duplicate window, so
		// the retry is refused as a conflict, not acknowledged as a
		// duplicate: Nats-Msg-Id alone cannot make it idempotent.
		seq := last("e.k.a")
		_, err := js.PublishMsg(ctx, msg("e.k.a", "4", "Nats-Msg-Id", "w1"), jetstream.WithExpectLastSequencePerSubject(seq))
		require.NoError(t, err)
		_, err = js.PublishMsg(ctx, msg("e.k.a", "4", "Nats-Msg-Id", "w1"), jetstream.WithExpectLastSequencePerSubject(seq))
		wrongLast(t, err)
	})
}

// TestWriteMarkerTTL: the markers of write ids live as long as the store
// package promises to remember them.
func TestWriteMarkerTTL(t *testing.T) {
	assert.Equal(t, store.WriteIDRetention, layout.WriteMarkerTTL)
}
