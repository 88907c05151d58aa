package natstest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/natsserver"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
)

// TestRestartKeepsDataAndPort writes to a stream over TCP, restarts the
// server, and reads it back over the same client connection: same URL,
// same files.
func TestRestartKeepsDataAndPort(t *testing.T) {
	s := natstest.Start(t, natstest.WithTCP(), natstest.WithSyncInterval(natsserver.SyncAlways))
	url := s.URL()
	require.Equal(t, url, s.NATS().ClientURL())
	nc := s.Dial()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}})
	require.NoError(t, err)
	_, err = js.Publish(t.Context(), "s.1", []byte("before"))
	require.NoError(t, err)

	s.Restart()
	assert.Equal(t, url, s.URL())
	assert.Equal(t, url, s.NATS().ClientURL(), "the same port")
	require.Eventually(t, nc.IsConnected, 10*time.Second, 10*time.Millisecond, "the client reconnects")
	st, err := js.Stream(t.Context(), "S")
	require.NoError(t, err)
	m, err := st.GetLastMsgForSubject(t.Context(), "s.1")
	require.NoError(t, err)
	assert.Equal(t, "before", string(m.Data))
}

// TestInProcess checks the in-process defaults: no TCP, JetStream on, the
// connection closed by Shutdown; a second Shutdown does nothing.
func TestInProcess(t *testing.T) {
	s := natstest.Start(t)
	assert.Nil(t, s.NATS().Addr(), "no TCP listener unless asked")
	js := s.JetStream()
	_, err := js.AccountInfo(t.Context())
	require.NoError(t, err)
	s.Shutdown()
	assert.True(t, js.Conn().IsClosed())
	s.Shutdown()
}

func TestMaxPayload(t *testing.T) {
	assert.EqualValues(t, natsserver.MaxPayload, natstest.Start(t).Conn().MaxPayload())
	s := natstest.Start(t, natstest.WithMaxPayload(1<<20))
	assert.EqualValues(t, 1<<20, s.Conn().MaxPayload())
	_, err := s.JetStream().AccountInfo(t.Context())
	assert.NoError(t, err)
}

// TestClusterSurvivesNodeLoss creates an R3 stream on three nodes, stops
// the stream's leader, and still publishes and reads every message through
// the others; the node restarted on its files catches up.
func TestClusterSurvivesNodeLoss(t *testing.T) {
	c := natstest.Cluster(t, 3)
	js := c.JetStream(0)
	_, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3})
	require.NoError(t, err)
	for i := range 5 {
		_, err := js.Publish(t.Context(), "r3.x", fmt.Appendf(nil, "%d", i))
		require.NoError(t, err)
	}

	down := c.StreamLeader("R3")
	c.Stop(down)
	up := (down + 1) % c.Len()
	js = c.JetStream(up)
	for i := 5; i < 10; i++ {
		// The first publish may wait for a new stream leader.
		require.Eventually(t, func() bool {
			_, err := js.Publish(t.Context(), "r3.x", fmt.Appendf(nil, "%d", i), jetstream.WithMsgID(fmt.Sprint(i)))
			return err == nil
		}, 30*time.Second, 50*time.Millisecond, "publish %d with node %d down", i, down)
	}
	assert.Equal(t, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, allMessages(t, js, "R3"))

	c.Restart(down)
	require.Eventually(t, func() bool {
		return c.Server(down).JetStreamIsStreamCurrent("$G", "R3")
	}, 30*time.Second, 50*time.Millisecond, "the restarted node catches up")
	assert.Len(t, allMessages(t, c.JetStream(down), "R3"), 10)
}

// allMessages reads every message of stream in order. Right after a node
// loss or restart the stream's API and its consumers may answer "no
// responders" while leadership settles: the whole read is retried until
// it succeeds.
func allMessages(t *testing.T, js jetstream.JetStream, stream string) []string {
	t.Helper()
	var out []string
	read := func() error {
		out = nil
		st, err := js.Stream(t.Context(), stream)
		if err != nil {
			return err
		}
		info, err := st.Info(t.Context())
		if err != nil {
			return err
		}
		cons, err := st.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{})
		if err != nil {
			return err
		}
		for range info.State.Msgs {
			m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
			if err != nil {
				return err
			}
			out = append(out, string(m.Data()))
		}
		return nil
	}
	require.Eventually(t, func() bool { return read() == nil }, 60*time.Second, 100*time.Millisecond, "read stream %s", stream)
	return out
}
