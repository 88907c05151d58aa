package ingress_test

import (
	"testing"

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
	return newEnvOn(t, natstest.Start(t, natstest.WithTCP()))
}

// newEnvOn is newEnv on a server the test started.
func newEnvOn(t *testing.T, srv *natstest.Server) *env {
	t.Helper()
	nc := srv.Conn()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
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

func TestConfig(t *testing.T) {
	e := newEnv(t)
	for _, bad := range []string{"rejected", "a.*", "a..b", "has space"} {
		_, err := ingress.NewHTTP(ingress.Config{Prefix: bad}, e.js, nil)
		require.Error(t, err, bad)
		_, err = ingress.NewRejecter(ingress.Config{Prefix: bad}, e.js, nil)
		require.Error(t, err, bad)
	}
	_, err := ingress.NewHTTP(ingress.Config{MaxBodyBytes: -1}, e.js, nil)
	require.Error(t, err)
}
