package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// counterCrash is the set-up the crash tests share: serve with a NATS
// listener the test reads the streams through, examples/counter deployed
// with the props grant, a trigger on the tick type, and n ticks about
// `subjects` subjects posted in batches of 500.
type counterCrash struct {
	rig      *e2eRig
	natsAddr string
	logs     *syncBuffer
	p        *killableServe
}

const tickType = "com.example.tick"

func tickSubject(i, subjects int) string { return "device|" + strconv.Itoa(i%subjects) }
func tickID(i int) string                { return "tick-" + strconv.Itoa(i) }

func startCounterCrash(t *testing.T, n, subjects int) *counterCrash {
	t.Helper()
	c := &counterCrash{rig: newE2ERig(t), natsAddr: freeAddr(t), logs: &syncBuffer{}}
	c.rig.env = append(c.rig.env, "WASMFAAS_NATS_LISTEN="+c.natsAddr)
	wasm, err := hosttest.BuildGo(t.Context(), "../../examples/counter/go")
	require.NoError(t, err)
	c.p = startServeKillable(t, c.rig, c.logs)
	out, err := c.rig.run("deploy", "counter", wasm, "--grant", "props")
	require.NoError(t, err, out)
	c.rig.putTrigger(t, "counter", `{"function": "counter", "filters": [{"exact": {"type": "`+tickType+`"}}], `+
		`"delivery": {"retries": 20, "backoff": "50ms"}}`)
	const chunk = 500
	for lo := 0; lo < n; lo += chunk {
		var b strings.Builder
		b.WriteByte('[')
		for i := lo; i < min(lo+chunk, n); i++ {
			if i > lo {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"specversion":"1.0","id":%q,"source":"/sensors","type":%q,"subject":%q,"datacontenttype":"application/json","data":{}}`,
				tickID(i), tickType, tickSubject(i, subjects))
		}
		b.WriteByte(']')
		resp, err := http.Post("http://"+c.rig.addr+"/v1/events", "application/cloudevents-batch+json", strings.NewReader(b.String()))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "events %d to %d", lo, lo+chunk)
	}
	return c
}

// connect opens a client connection to serve's NATS listener.
func (c *counterCrash) connect(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect("nats://" + c.natsAddr)
	require.NoError(t, err)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return nc, js
}

// kill SIGKILLs serve once until(js) holds, and starts it again on the
// same data directory.
func (c *counterCrash) kill(t *testing.T, what string, until func(js jetstream.JetStream) bool) {
	t.Helper()
	nc, js := c.connect(t)
	defer nc.Close()
	require.Eventually(t, func() bool { return until(js) }, 120*time.Second, 2*time.Millisecond,
		"%s before the kill\n%s", what, c.logs.String())
	require.NoError(t, c.p.cmd.Process.Signal(syscall.SIGKILL))
	require.Error(t, c.p.wait(t, 30*time.Second, c.logs), "serve was killed")
	c.logs = &syncBuffer{}
	c.p = startServeKillable(t, c.rig, c.logs)
}

// streamMsgs is the number of messages in stream, 0 if it cannot be read.
func streamMsgs(t *testing.T, js jetstream.JetStream, stream string) uint64 {
	st, err := js.Stream(t.Context(), stream)
	if err != nil {
		return 0
	}
	info, err := st.Info(t.Context())
	if err != nil {
		return 0
	}
	return info.State.Msgs
}
