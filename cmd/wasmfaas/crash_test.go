package main

import (
	"bytes"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// killableServe is a `wasmfaas serve` process the test may SIGKILL.
type killableServe struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit, valid once done is closed
}

// wait waits up to d for the process to exit and returns its exit error.
func (p *killableServe) wait(t *testing.T, d time.Duration, logs *syncBuffer) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		t.Fatalf("serve did not exit within %s:\n%s", d, logs.String())
		return nil
	}
}

// startServeKillable starts `wasmfaas serve` like startServe and waits until
// it is ready, but returns the process, so the test can SIGKILL it. A
// cleanup kills it if the test leaves it running.
func startServeKillable(t *testing.T, rig *e2eRig, logs *syncBuffer) *killableServe {
	t.Helper()
	p := spawnServe(t, rig, logs)
	p.waitReady(t, rig.addr, logs)
	return p
}

// spawnServe starts `wasmfaas serve args...` in rig's directory with its
// environment, its output to logs, without waiting for it. A cleanup kills
// it if the test leaves it running.
func spawnServe(t *testing.T, rig *e2eRig, logs *syncBuffer, args ...string) *killableServe {
	t.Helper()
	cmd := exec.Command(rig.bin, append([]string{"serve"}, args...)...)
	cmd.Dir, cmd.Env = rig.dir, rig.env
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	p := &killableServe{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// readyWait bounds waitReady: a cluster's first node waits up to
// nats.cluster_wait (60s) for its peers.
const readyWait = 90 * time.Second

// waitReady waits until the serve at addr answers /readyz with 200,
// failing the test if the process exits first or after readyWait.
func (p *killableServe) waitReady(t *testing.T, addr string, logs *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(readyWait)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after %s:\n%s", readyWait, logs.String())
		}
		select {
		case <-p.done:
			t.Fatalf("serve exited early: %v\n%s", p.err, logs.String())
		case <-tick.C:
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the child's two output pipes and
// the test reading it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestCrash is the routing scenario "Crash": the host process is killed with SIGKILL
// while it processes a stream of events, then started again on the same
// data directory. Every event accepted (202) before the kill is durable and
// is processed at least once; the events whose POST failed or was never
// answered are posted again with the same ids (ingress dedupes by
// source+id), and in the end every one of the N events has incremented the
// counter at least once. The duplicates (count - N: calls whose increment
// was committed but whose message was not acked before the kill) are
// reported, not failed on.
func TestCrash(t *testing.T) {
	const (
		n       = 200
		killAt  = 50
		subject = "device|crash"
		typ     = "com.example.tick"
	)
	rig := newE2ERig(t)
	wasm, err := hosttest.BuildGo(t.Context(), "../../examples/counter/go")
	require.NoError(t, err)

	logs := &syncBuffer{}
	first := startServeKillable(t, rig, logs)
	out, err := rig.run("deploy", "counter", wasm, "--grant", "props")
	require.NoError(t, err, out)
	rig.putTrigger(t, "counter", `{"function": "counter", "filters": [{"exact": {"type": "`+typ+`"}}], `+
		`"delivery": {"retries": 3, "backoff": "100ms", "backoff_policy": "exponential"}}`)

	id := func(i int) string { return "tick-" + strconv.Itoa(i) }

	// Post the stream from one goroutine; kill the host from this one once
	// killAt events were accepted, while the stream and the deliveries are
	// in flight. accepted[i] is true only for a 202.
	accepted := make([]bool, n)
	var mu sync.Mutex
	acceptedCount := 0
	reachedKill := make(chan struct{})
	posted := make(chan struct{})
	streamStart := time.Now()
	go func() {
		defer close(posted)
		for i := range n {
			code, err := rig.postEvent(id(i), typ, subject, `{}`)
			mu.Lock()
			if err == nil && code == http.StatusAccepted {
				accepted[i] = true
				acceptedCount++
				if acceptedCount == killAt {
					close(reachedKill)
				}
			}
			mu.Unlock()
		}
	}()
	select {
	case <-reachedKill:
	case <-time.After(60 * time.Second):
		t.Fatalf("fewer than %d events accepted after 60s:\n%s", killAt, logs.String())
	}
	require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
	killedAfter := time.Since(streamStart)
	require.Error(t, first.wait(t, 30*time.Second, logs), "serve was killed")
	<-posted // the rest of the stream fails against the dead host

	mu.Lock()
	var missing []int
	for i, ok := range accepted {
		if !ok {
			missing = append(missing, i)
		}
	}
	before := n - len(missing)
	mu.Unlock()
	t.Logf("killed serve with SIGKILL %s after the first POST; %d of %d events were accepted", killedAfter.Round(time.Millisecond), before, n)

	// Restart on the same data directory and port.
	logs2 := &syncBuffer{}
	second := startServeKillable(t, rig, logs2)
	for _, i := range missing {
		var code int
		require.Eventually(t, func() bool {
			code, err = rig.postEvent(id(i), typ, subject, `{}`)
			return err == nil && code == http.StatusAccepted
		}, 30*time.Second, 100*time.Millisecond, "re-post %s: code %d, err %v", id(i), code, err)
	}

	// Wait until every event was counted and the count has settled: the same
	// value (>= n) on several consecutive reads a while apart.
	count := func() (int64, error) {
		p, err := rig.props(subject)
		if err != nil {
			return 0, err
		}
		v, ok := p["count"]
		if !ok {
			return 0, nil
		}
		return strconv.ParseInt(string(v), 10, 64)
	}
	var last int64 = -1
	stable := 0
	require.Eventually(t, func() bool {
		c, err := count()
		if err != nil {
			last, stable = -1, 0
			return false
		}
		if c == last {
			stable++
		} else {
			last, stable = c, 0
		}
		return c >= n && stable >= 4
	}, 120*time.Second, 500*time.Millisecond, "count reaches %d and settles; last %d\n%s", n, last, logs2.String())

	dups := last - n
	t.Logf("crash: %d events, %d accepted before SIGKILL, %d re-posted after restart; count %d: every event processed at least once, %d duplicate(s)",
		n, before, len(missing), last, dups)
	assert.GreaterOrEqual(t, last, int64(n))

	// The restarted host stops cleanly on SIGTERM.
	require.NoError(t, second.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, second.wait(t, 60*time.Second, logs2), logs2.String())
	assert.Contains(t, logs2.String(), `"msg":"stopped"`)
}
