package ingress_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/natstest"
	"github.com/wasmfaas/wasmfaas/router/ingress"
)

// env is an embedded NATS server with TCP on 127.0.0.1 and the streams.
type env struct {
	srv *natstest.Server
	nc  *nats.Conn
	js  jetstream.JetStream
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := natstest.Start(t, natstest.WithTCP())
	nc := srv.Conn()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, ingress.EnsureStreams(t.Context(), js, ingress.Config{}))
	return &env{srv: srv, nc: nc, js: js}
}

// msgs returns every message of stream, in order.
func (e *env) msgs(t *testing.T, stream string) []*jetstream.RawStreamMsg {
	t.Helper()
	s, err := e.js.Stream(t.Context(), stream)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		require.NoError(t, err)
		out = append(out, m)
	}
	return out
}

func TestEnsureStreamsTwiceAndRouterConfig(t *testing.T) {
	e := newEnv(t)
	// The router creates the events stream with the same config; both
	// orders and repetitions succeed.
	_, err := e.js.CreateOrUpdateStream(t.Context(), ingress.EventsStreamConfig("events"))
	require.NoError(t, err)
	require.NoError(t, ingress.EnsureStreams(t.Context(), e.js, ingress.Config{Prefix: "events"}))
	s, err := e.js.Stream(t.Context(), ingress.EventsStream)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{"events.>"}, info.Config.Subjects)
	require.Equal(t, 2*time.Minute, info.Config.Duplicates)
	require.Equal(t, jetstream.FileStorage, info.Config.Storage)

	for _, bad := range []string{"rejected", "a.*", "a..b", "has space"} {
		require.Error(t, ingress.EnsureStreams(t.Context(), e.js, ingress.Config{Prefix: bad}), bad)
	}
}
