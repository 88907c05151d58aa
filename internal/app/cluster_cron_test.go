package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/internal/app"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
)

// TestClusterCronTrigger: two hosts on a three-node JetStream cluster
// (every stream at three replicas) share a cron trigger. The node leading
// the schedules stream is stopped while it ticks: the ticks go on from the
// new leader, and no tick runs twice (each fired tick is one call, on
// either host).
func TestClusterCronTrigger(t *testing.T) {
	nodes := natstest.Cluster(t, 3)
	ctx := t.Context()
	var servers []*httptest.Server
	for i := range 2 {
		a, err := app.New(ctx, app.Config{DataDir: t.TempDir(), NATS: app.NATSConfig{Conn: nodes.Conn(i)}, Layout: layout.Config{Replicas: 3}})
		require.NoError(t, err, "host %d", i)
		ts := httptest.NewServer(a.Handler())
		servers = append(servers, ts)
		t.Cleanup(func() {
			ts.Close()
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			assert.NoError(t, a.Shutdown(sctx))
		})
	}
	a, b := servers[0], servers[1]
	// A young cluster may answer a first write with 503; a client repeats.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		deployOnce(t, c, a, "tick", "../../examples/hello/go")
	}, 60*time.Second, 250*time.Millisecond)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, body := putTrigger(t, b, "tick", `{"function": "tick", "schedule": "@every 1s"}`)
		assert.Equal(c, http.StatusOK, code, body)
	}, 60*time.Second, 250*time.Millisecond)
	require.Eventually(t, func() bool { return len(callsOf(t, a, "tick")) >= 3 }, 60*time.Second, 100*time.Millisecond, "ticks")

	leader := nodes.StreamLeader(layout.SchedulesStream)
	before := len(callsOf(t, b, "tick"))
	t.Logf("stopping node %d, the leader of %s, after %d ticks", leader, layout.SchedulesStream, before)
	nodes.Stop(leader)
	survivor := a
	if leader == 0 {
		survivor = b
	}
	require.Eventually(t, func() bool { return len(callsOf(t, survivor, "tick")) >= before+3 }, 90*time.Second, 250*time.Millisecond,
		"ticks go on after the leader stopped")

	calls := callsOf(t, survivor, "tick")
	seen := map[string]bool{}
	for _, c := range calls {
		assert.False(t, seen[c.ID], "tick %s ran twice", c.ID)
		seen[c.ID] = true
		assert.Equal(t, "ok", c.Status)
	}
	t.Logf("%d ticks, each run once, %d after the leader stopped", len(calls), len(calls)-before)
}

// deployOnce uploads the Go example in dir as function name, reporting a
// failure to c (for a repeat) instead of failing the test.
func deployOnce(t *testing.T, c *assert.CollectT, ts *httptest.Server, name, dir string) {
	t.Helper()
	path, err := hosttestBuildGo(t, dir)
	if !assert.NoError(c, err) {
		return
	}
	resp, b := call(t, ts, "POST", "/v1/modules", "application/wasm", path)
	if !assert.Equal(c, http.StatusCreated, resp.StatusCode, string(b)) {
		return
	}
	digest := jsonField(b, "digest")
	resp, b = call(t, ts, "PUT", "/v1/functions/"+name, "application/json", []byte(`{"module": "`+digest+`"}`))
	assert.Equal(c, http.StatusOK, resp.StatusCode, string(b))
}

func hosttestBuildGo(t *testing.T, dir string) ([]byte, error) {
	path, err := hosttest.BuildGo(t.Context(), dir)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

func jsonField(b []byte, key string) string {
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	s, _ := m[key].(string)
	return s
}
