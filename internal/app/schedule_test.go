package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/internal/app"
	"github.com/wasmfaas/wasmfaas/internal/layout"
)

// callsOf lists function's recorded calls, newest first: event type, id
// and status of each.
func callsOf(t *testing.T, ts *httptest.Server, fn string) []callSummary {
	t.Helper()
	_, b := call(t, ts, "GET", "/v1/calls?limit=1000&function="+fn, "", nil)
	var list struct {
		Calls []struct {
			Status string
			Event  struct{ ID, Type, Subject, Time string }
		}
	}
	require.NoError(t, json.Unmarshal(b, &list), string(b))
	out := make([]callSummary, len(list.Calls))
	for i, c := range list.Calls {
		out[i] = callSummary{c.Event.ID, c.Event.Type, c.Event.Subject, c.Status}
	}
	return out
}

type callSummary struct{ ID, Type, Subject, Status string }

func putTrigger(t *testing.T, ts *httptest.Server, name, body string) (int, string) {
	t.Helper()
	resp, b := call(t, ts, "PUT", "/v1/triggers/"+name, "application/json", []byte(body))
	return resp.StatusCode, string(b)
}

// TestCronTrigger: a trigger with "@every 1s" runs its function on a
// wasmfaas.schedule event at every tick, each with an id of its own; the
// schedule is a message schedule in the schedules stream; deleting the
// trigger removes it and the ticks stop.
func TestCronTrigger(t *testing.T) {
	a, ts := start(t, app.Config{})
	deploy(t, ts, "tick", "../../examples/hello/go", `"grants": []`)
	code, b := putTrigger(t, ts, "tick", `{"function": "tick", "schedule": "@every 1s"}`)
	require.Equal(t, http.StatusOK, code, b)

	require.Eventually(t, func() bool { return len(callsOf(t, ts, "tick")) >= 2 }, 20*time.Second, 50*time.Millisecond, "at least two ticks")
	calls := callsOf(t, ts, "tick")
	seen := map[string]bool{}
	for _, c := range calls {
		assert.Equal(t, "wasmfaas.schedule", c.Type)
		assert.Equal(t, "tick", c.Subject)
		assert.Equal(t, "ok", c.Status)
		assert.False(t, seen[c.ID], "tick id %s twice", c.ID)
		seen[c.ID] = true
	}

	_, b2 := call(t, ts, "GET", "/v1/triggers/tick", "", nil)
	assert.Contains(t, string(b2), `"schedule": "@every 1s"`)

	st, err := a.JetStream().Stream(t.Context(), layout.SchedulesStream)
	require.NoError(t, err)
	info, err := st.Info(t.Context(), jsSubjects(layout.SchedulesSubject+".cron.*"))
	require.NoError(t, err)
	assert.Len(t, info.State.Subjects, 1, "one schedule held")

	resp, b3 := call(t, ts, "DELETE", "/v1/triggers/tick", "", nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, string(b3))
	info, err = st.Info(t.Context(), jsSubjects(layout.SchedulesSubject+".cron.*"))
	require.NoError(t, err)
	assert.Empty(t, info.State.Subjects, "the schedule is removed with its trigger")

	// Made again under the same name, it ticks again.
	before := len(callsOf(t, ts, "tick"))
	code, b = putTrigger(t, ts, "tick", `{"function": "tick", "schedule": "@every 1s"}`)
	require.Equal(t, http.StatusOK, code, b)
	require.Eventually(t, func() bool { return len(callsOf(t, ts, "tick")) >= before+2 }, 20*time.Second, 50*time.Millisecond, "ticks again")
}

// TestCronTriggerRefused: bad schedules are refused at deploy with the
// reason, and nothing is stored.
func TestCronTriggerRefused(t *testing.T) {
	_, ts := start(t, app.Config{})
	deploy(t, ts, "tick", "../../examples/hello/go", `"grants": []`)
	for _, tc := range []struct{ body, reason string }{
		{`{"function": "tick", "schedule": "@every 100ms"}`, "at least 1s"},
		{`{"function": "tick", "schedule": "* * * *"}`, "6 fields"},
		{`{"function": "tick", "schedule": "0 61 * * * *"}`, "minutes field"},
		{`{"function": "tick", "schedule": "0 0 9 * * mon", "schedule_tz": "Mars/Olympus"}`, "IANA time zone"},
		{`{"function": "tick", "schedule": "@every 5s", "schedule_tz": "Europe/Berlin"}`, "cron expressions"},
		{`{"function": "tick", "schedule": "@sometimes"}`, "unknown"},
		{`{"function": "tick", "schedule": "@every 5s", "filters": [{"exact": {"type": "x"}}]}`, "no filters"},
	} {
		code, b := putTrigger(t, ts, "tick", tc.body)
		assert.Equal(t, http.StatusUnprocessableEntity, code, "%s: %s", tc.body, b)
		assert.Contains(t, b, tc.reason, tc.body)
	}
	resp, _ := call(t, ts, "GET", "/v1/triggers/tick", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	// A valid cron expression with a time zone is accepted.
	code, b := putTrigger(t, ts, "tick", `{"function": "tick", "schedule": "0 0 9 * * mon-fri", "schedule_tz": "Europe/Berlin"}`)
	assert.Equal(t, http.StatusOK, code, b)
}

// TestReminder: three readings for one subject within a second schedule,
// and twice replace, one check; it runs once, about check_after_ms after
// the last reading, and marks the subject silent.
func TestReminder(t *testing.T) {
	_, ts := start(t, app.Config{})
	deploy(t, ts, "reminder", "../../examples/reminder/go", `"grants": ["props", "schedule", "config"], "config": {"check_after_ms": "2000"}`)
	code, b := putTrigger(t, ts, "reminder", `{"function": "reminder", "filters": [{"any": [{"exact": {"type": "com.example.reading"}}, {"exact": {"type": "com.example.check"}}]}]}`)
	require.Equal(t, http.StatusOK, code, b)

	var last time.Time
	for i := 1; i <= 3; i++ {
		resp, b := call(t, ts, "POST", "/v1/events", "application/json", []byte(`{"tempc": 20}`),
			"Ce-Specversion", "1.0", "Ce-Id", fmt.Sprintf("r%d", i), "Ce-Source", "/sensors", "Ce-Type", "com.example.reading", "Ce-Subject", "device|7")
		require.Equal(t, http.StatusAccepted, resp.StatusCode, string(b))
		// Each reading's call must have run before the next is sent, so
		// each schedules in turn (the order the checks replace).
		require.Eventually(t, func() bool { return len(callsOf(t, ts, "reminder")) == i }, 20*time.Second, 20*time.Millisecond)
		last = time.Now()
	}
	require.Eventually(t, func() bool { return len(callsOf(t, ts, "reminder")) >= 4 }, 20*time.Second, 50*time.Millisecond, "the check runs")
	checkedAfter := time.Since(last)
	calls := callsOf(t, ts, "reminder")
	assert.Equal(t, "com.example.check", calls[0].Type)
	assert.Equal(t, "device|7", calls[0].Subject)
	assert.Equal(t, "ok", calls[0].Status)
	assert.GreaterOrEqual(t, checkedAfter, 1900*time.Millisecond, "the check waits for check_after_ms after the last reading")
	_, pb := call(t, ts, "GET", "/v1/subjects/device%7C7/properties", "", nil)
	assert.Contains(t, string(pb), `"silent"`)

	// Had a reading's check not been replaced, it would have been due
	// before this one and run first.
	checks := 0
	for _, c := range calls {
		if c.Type == "com.example.check" {
			checks++
		}
	}
	assert.Equal(t, 1, checks, "three readings, one check: %+v", calls)
}

func jsSubjects(filter string) jetstream.StreamInfoOpt { return jetstream.WithSubjectFilter(filter) }

// TestScheduleEdges: a time in the past fires at once; past the function's
// max pending schedules a new key fails the call with kind limit (a
// replace does not count), and nothing of the failed call is scheduled.
func TestScheduleEdges(t *testing.T) {
	a, ts := start(t, app.Config{})
	deployWith(t, ts, hosttest.BuildC, "sched", "../../host/hosttest/testdata/cguests/scheduler.c", `"grants": ["schedule"], "limits": {"max_schedules": 2}`)
	code, tb := putTrigger(t, ts, "due", `{"function": "sched", "filters": [{"exact": {"type": "com.example.due"}}]}`)
	require.Equal(t, http.StatusOK, code, tb)

	invoke := func(data string) map[string]any {
		resp, b := call(t, ts, "POST", "/v1/functions/sched/invoke?output=info", "text/plain", []byte(data))
		require.Contains(t, []int{http.StatusOK, http.StatusBadGateway}, resp.StatusCode, string(b))
		var info map[string]any
		require.NoError(t, json.Unmarshal(b, &info), string(b))
		return info
	}
	info := invoke("past")
	require.Equal(t, "ok", info["status"], info)
	require.Eventually(t, func() bool {
		for _, c := range callsOf(t, ts, "sched") {
			if c.Type == "com.example.due" {
				return true
			}
		}
		return false
	}, 20*time.Second, 50*time.Millisecond, "a schedule in the past fires at once")

	info = invoke("keys:2")
	require.Equal(t, "ok", info["status"], info)
	info = invoke("keys:2") // the same two keys again: replaces
	require.Equal(t, "ok", info["status"], info)
	info = invoke("keys:3") // k2 is a third key
	require.Equal(t, "error", info["status"], info)
	e, _ := info["error"].(map[string]any)
	assert.Equal(t, "limit", e["kind"])
	assert.Contains(t, e["message"], "2 scheduled events are pending, the function's maximum")

	st, err := a.JetStream().Stream(t.Context(), layout.SchedulesStream)
	require.NoError(t, err)
	si, err := st.Info(t.Context(), jsSubjects(layout.SchedulesSubject+".fn.>"))
	require.NoError(t, err)
	assert.Len(t, si.State.Subjects, 2, "k0 and k1 pending, nothing of the failed call: %v", si.State.Subjects)
}
