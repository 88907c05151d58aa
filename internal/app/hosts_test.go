package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/app"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
)

// TestHostsShareDefinitions: two hosts on one NATS server (as on a
// cluster: each with its own data and cache directory, sharing only
// JetStream) see each other's changes. A function deployed through one
// answers on the other; a trigger made through one delivers on both, each
// event running once; a delete through one removes the function from the
// other; two deploys of one name at once through both end with one
// revision live on both.
func TestHostsShareDefinitions(t *testing.T) {
	srv := natstest.Start(t, natstest.WithTCP())
	_, a := start(t, app.Config{NATS: app.NATSConfig{Conn: srv.Dial()}})
	_, b := start(t, app.Config{NATS: app.NATSConfig{Conn: srv.Dial()}})

	// Deployed through a, invoked through b.
	deploy(t, a, "counter", "../../examples/counter/go", `"grants": ["props"]`)
	deployed := time.Now()
	require.Eventually(t, func() bool {
		resp, _ := call(t, b, "POST", "/v1/functions/counter/invoke?subject=s0", "application/json", []byte(`{}`))
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 10*time.Millisecond, "the function deployed through a answers on b")
	t.Logf("deployed through one host, answering on the other after %s (it compiles there, from the module in the object store)", time.Since(deployed).Round(time.Millisecond))

	// A trigger made through b; events posted to a; both hosts pull from
	// the trigger's consumer, and each event runs once.
	resp, body := call(t, b, "PUT", "/v1/triggers/count", "application/json", []byte(`{"function": "counter", "filters": [{"exact": {"type": "com.example.tick"}}]}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	const n, subjects = 200, 4
	for i := range n {
		ts := a
		if i%2 == 1 {
			ts = b
		}
		resp, body := call(t, ts, "POST", "/v1/events", "application/json", []byte(`{}`),
			"Ce-Specversion", "1.0", "Ce-Id", fmt.Sprintf("e%d", i), "Ce-Source", "/t", "Ce-Type", "com.example.tick", "Ce-Subject", fmt.Sprintf("d%d", i%subjects))
		require.Equal(t, http.StatusAccepted, resp.StatusCode, string(body))
	}
	count := func(ts string, subject string) int {
		host := a
		if ts == "b" {
			host = b
		}
		_, body := call(t, host, "GET", "/v1/subjects/"+subject+"/properties", "", nil)
		var props struct {
			Properties map[string]struct{ Value json.RawMessage }
		}
		if json.Unmarshal(body, &props) != nil {
			return -1
		}
		c, _ := strconv.Atoi(string(props.Properties["count"].Value))
		return c
	}
	require.Eventually(t, func() bool {
		sum := 0
		for s := range subjects {
			sum += count("a", fmt.Sprintf("d%d", s))
		}
		return sum >= n
	}, 60*time.Second, 20*time.Millisecond, "every event counted: %d %d %d %d", count("a", "d0"), count("a", "d1"), count("b", "d0"), count("b", "d1"))
	for s := range subjects {
		subject := fmt.Sprintf("d%d", s)
		assert.Equal(t, n/subjects, count("a", subject), "%s counted once per event", subject)
		assert.Equal(t, count("a", subject), count("b", subject), "%s is the same from both hosts", subject)
	}

	// Deleted through b, gone from a.
	resp, body = call(t, b, "DELETE", "/v1/triggers/count", "", nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, string(body))
	resp, body = call(t, b, "DELETE", "/v1/functions/counter", "", nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, string(body))
	require.Eventually(t, func() bool {
		resp, _ := call(t, a, "POST", "/v1/functions/counter/invoke", "application/json", []byte(`{}`))
		return resp.StatusCode == http.StatusNotFound
	}, 10*time.Second, 10*time.Millisecond, "the function deleted through b is gone from a")

	// Two deploys of one name at once, one through each host.
	deploy(t, a, "twin", "../../examples/counter/go", `"grants": ["props"], "config": {"from": "start"}`)
	var fn struct {
		Revision uint64
		Spec     struct{ Module string }
	}
	_, body = call(t, a, "GET", "/v1/functions/twin", "", nil)
	require.NoError(t, json.Unmarshal(body, &fn), string(body))
	for round := range 5 {
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, host := range []string{"a", "b"} {
			ts := a
			if host == "b" {
				ts = b
			}
			wg.Go(func() {
				spec := fmt.Sprintf(`{"module": %q, "grants": ["props"], "config": {"from": "%s%d"}}`, fn.Spec.Module, host, round)
				resp, _ := call(t, ts, "PUT", "/v1/functions/twin", "application/json", []byte(spec))
				codes[i] = resp.StatusCode
			})
		}
		wg.Wait()
		for _, c := range codes {
			assert.Contains(t, []int{http.StatusOK, http.StatusConflict}, c, "a deploy wins or is told of the conflict")
		}
		assert.Contains(t, codes, http.StatusOK, "at least one deploy wins")
		var onA, onB string
		require.Eventually(t, func() bool {
			_, ba := call(t, a, "GET", "/v1/functions/twin", "", nil)
			_, bb := call(t, b, "GET", "/v1/functions/twin", "", nil)
			onA, onB = liveSpec(ba), liveSpec(bb)
			return onA != "" && onA == onB
		}, 10*time.Second, 10*time.Millisecond, "round %d: both hosts run the same revision (a: %s, b: %s)", round, onA, onB)
	}
}

// liveSpec is the revision and config of a GET /v1/functions/NAME answer.
func liveSpec(body []byte) string {
	var fn struct {
		Revision uint64
		Spec     struct{ Config map[string]string }
	}
	if json.Unmarshal(body, &fn) != nil {
		return ""
	}
	return fmt.Sprintf("%d %v", fn.Revision, fn.Spec.Config)
}

// TestHostsShareCronTrigger: two hosts on one JetStream; a cron trigger
// made through one is held once, and each tick the server fires runs the
// function once, on either host.
func TestHostsShareCronTrigger(t *testing.T) {
	srv := natstest.Start(t, natstest.WithTCP())
	appA, a := start(t, app.Config{NATS: app.NATSConfig{Conn: srv.Dial()}})
	_, b := start(t, app.Config{NATS: app.NATSConfig{Conn: srv.Dial()}})
	deploy(t, a, "tick", "../../examples/hello/go", `"grants": []`)
	code, body := putTrigger(t, b, "tick", `{"function": "tick", "schedule": "@every 1s"}`)
	require.Equal(t, http.StatusOK, code, body)
	require.Eventually(t, func() bool { return len(callsOf(t, a, "tick")) >= 4 }, 30*time.Second, 50*time.Millisecond)
	// Delete it, so the count below is final.
	resp, b2 := call(t, a, "DELETE", "/v1/triggers/tick", "", nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, string(b2))

	st, err := appA.JetStream().Stream(t.Context(), layout.SchedulesStream)
	require.NoError(t, err)
	info, err := st.Info(t.Context(), jsSubjects(layout.FiredSubject+".cron.tick"))
	require.NoError(t, err)
	fired := int(info.State.Msgs)
	calls := callsOf(t, b, "tick")
	// A tick fired just before the delete may have had no call yet when
	// the trigger's consumer went; none runs twice.
	assert.LessOrEqual(t, len(calls), fired)
	assert.LessOrEqual(t, fired-len(calls), 1, "every tick but one fired at the delete has its call")
	seen := map[string]bool{}
	for _, c := range calls {
		assert.False(t, seen[c.ID], "tick %s ran twice", c.ID)
		seen[c.ID] = true
	}
	t.Logf("%d ticks fired, %d calls, on two hosts", fired, len(calls))
	info, err = st.Info(t.Context(), jsSubjects(layout.SchedulesSubject+".cron.*"))
	require.NoError(t, err)
	assert.Empty(t, info.State.Subjects, "no schedule left behind")
}
