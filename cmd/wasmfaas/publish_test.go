package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/natstest"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/router/ingress"
)

func runPublish(t *testing.T, args ...string) (string, error) {
	t.Helper()
	t.Chdir(t.TempDir()) // no wasmfaas.yaml from the working directory
	cmd := newPublishCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SetContext(t.Context())
	err := cmd.Execute()
	return out.String(), err
}

func TestPublish(t *testing.T) {
	srv := natstest.Start(t, natstest.WithTCP())
	js := srv.JetStream()
	require.NoError(t, ingress.EnsureStreams(t.Context(), js, ingress.Config{}))

	file := filepath.Join(t.TempDir(), "data.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"tempc": 22}`), 0o600))
	url := srv.URL()

	out, err := runPublish(t, "com.example.reading", "--nats-url", url, "--source", "/kitchen",
		"--subject", "sensor-1", "--data", "@"+file, "--nats-subject", "events.sensors")
	require.NoError(t, err, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	id := strings.TrimPrefix(lines[0], "id ")
	assert.Equal(t, "stream WASMFAAS_EVENTS seq 1", lines[1])

	// --nats-listen (the serve config's address) is used when --nats-url is not.
	out, err = runPublish(t, "com.example.note", "--nats-listen", strings.TrimPrefix(url, "nats://"), "--data", "hello")
	require.NoError(t, err, out)
	assert.Contains(t, out, "seq 2")

	s, err := js.Stream(t.Context(), ingress.EventsStream)
	require.NoError(t, err)
	m, err := s.GetMsg(t.Context(), 1)
	require.NoError(t, err)
	assert.Equal(t, "events.sensors", m.Subject)
	ev, err := router.DecodeMsg(toNatsMsg(m))
	require.NoError(t, err)
	assert.Equal(t, id, ev.ID())
	assert.Equal(t, "com.example.reading", ev.Type())
	assert.Equal(t, "/kitchen", ev.Source())
	assert.Equal(t, "sensor-1", ev.Subject())
	assert.Equal(t, "application/json", ev.DataContentType())
	assert.JSONEq(t, `{"tempc": 22}`, string(ev.Data()))
	assert.WithinDuration(t, time.Now(), ev.Time(), time.Minute)

	m, err = s.GetMsg(t.Context(), 2)
	require.NoError(t, err)
	ev, err = router.DecodeMsg(toNatsMsg(m))
	require.NoError(t, err)
	assert.Equal(t, "events.cli", m.Subject)
	assert.Equal(t, "text/plain", ev.DataContentType())
	assert.Equal(t, "hello", string(ev.Data()))

	// A subject no stream stores: a clear error, not a hang.
	out, err = runPublish(t, "t", "--nats-url", url, "--nats-subject", "elsewhere.x", "--timeout", "2s")
	require.Error(t, err, out)
	assert.Contains(t, err.Error(), "no stream stores this subject")
}

func TestPublishCannotConnect(t *testing.T) {
	// Port 1 (tcpmux) has no listener on loopback: the connection is refused.
	url := "nats://127.0.0.1:1"
	_, err := runPublish(t, "t", "--nats-url", url, "--timeout", "1s")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connect to NATS at "+url)
	assert.Contains(t, err.Error(), "--nats-listen")
}

func TestPublishURL(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  NATSConfig
		want string
	}{
		{name: "default", want: defaultPublishURL},
		{name: "url wins", cfg: NATSConfig{URL: "nats://h:1", Listen: "127.0.0.1:2"}, want: "nats://h:1"},
		{name: "listen", cfg: NATSConfig{Listen: "127.0.0.1:4333"}, want: "nats://127.0.0.1:4333"},
		{name: "listen any host", cfg: NATSConfig{Listen: ":4333"}, want: "nats://127.0.0.1:4333"},
	} {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, publishURL(tt.cfg)) })
	}
}

func toNatsMsg(m *jetstream.RawStreamMsg) *nats.Msg {
	return &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data}
}
