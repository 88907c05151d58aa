package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// e2eRig is the real binary with a temporary data directory and a free
// port: what TestEndToEnd sets up, shared by the cascade and crash tests.
type e2eRig struct {
	bin, dir, addr string
	env            []string
}

func newE2ERig(t *testing.T) *e2eRig {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wasmfaas")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	bout, err := build.CombinedOutput()
	require.NoError(t, err, string(bout))
	dir := t.TempDir()
	addr := freeAddr(t)
	env := append(os.Environ(), "WASMFAAS_DATA_DIR="+filepath.Join(dir, "data"), "WASMFAAS_HTTP_ADDR="+addr,
		"WASMFAAS_SERVER=http://"+addr, "WASMFAAS_LOG_FORMAT=json")
	return &e2eRig{bin: bin, dir: dir, addr: addr, env: env}
}

// run runs a CLI command against the rig's server: stdout, or stdout and
// stderr with the error.
func (r *e2eRig) run(args ...string) (string, error) {
	cmd := exec.Command(r.bin, args...)
	cmd.Dir, cmd.Env = r.dir, r.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// serve starts `wasmfaas serve` on the rig (startServe) and returns its stop.
func (r *e2eRig) serve(t *testing.T) func() {
	t.Helper()
	return startServe(t, r.bin, r.dir, r.env, r.addr)
}

// putTrigger stores a trigger through the HTTP API.
func (r *e2eRig) putTrigger(t *testing.T, name, body string) {
	t.Helper()
	req, err := http.NewRequest("PUT", "http://"+r.addr+"/v1/triggers/"+name, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var msg bytes.Buffer
	_, _ = msg.ReadFrom(resp.Body)
	require.Less(t, resp.StatusCode, 300, "PUT trigger %s: %s", name, msg.String())
}

// postEvent posts a CloudEvent in binary mode to /v1/events and returns the
// status code (0 with the error when the request failed).
func (r *e2eRig) postEvent(id, typ, subject, data string) (int, error) {
	req, err := http.NewRequest("POST", "http://"+r.addr+"/v1/events", strings.NewReader(data))
	if err != nil {
		return 0, err
	}
	for k, v := range map[string]string{"Content-Type": "application/json", "Ce-Specversion": "1.0", "Ce-Id": id,
		"Ce-Source": "/sensors", "Ce-Type": typ, "Ce-Subject": subject} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// props returns a subject's properties via `wasmfaas props SUBJECT -o json`.
func (r *e2eRig) props(subject string) (map[string]json.RawMessage, error) {
	out, err := r.run("props", subject, "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	var p struct {
		Properties map[string]struct{ Value json.RawMessage }
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	vals := map[string]json.RawMessage{}
	for k, v := range p.Properties {
		vals[k] = v.Value
	}
	return vals, nil
}

// callRecord is the part of a call's ExecutionInfo the tests read.
type callRecord struct {
	CallID   string `json:"call_id"`
	Function string
	Status   string
	Emitted  []struct {
		ID      string
		Type    string
		Subject string
		Data    json.RawMessage
	}
}

// calls lists a function's calls via `wasmfaas calls --function F -o json`.
func (r *e2eRig) calls(function string) ([]callRecord, error) {
	out, err := r.run("calls", "--function", function, "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	var list struct{ Calls []callRecord }
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	return list.Calls, nil
}

// TestCascade is the routing scenario "Cascade": the temperature rules from KRules as three
// functions wired only by triggers (examples/temperature-rules). A reading
// posted over HTTP is handled by ingest, which sets tempc; the
// property-changed event (propertyname=tempc) triggers status, which sets
// temp_status; that change (propertyname=temp_status) triggers notify, which
// emits com.example.notification. The outcome is read back through
// `wasmfaas props` and `wasmfaas calls`, as a user would.
func TestCascade(t *testing.T) {
	rig := newE2ERig(t)
	wasm := map[string]string{}
	for _, name := range []string{"ingest", "status", "notify", "failures"} {
		w, err := hosttest.BuildGo(t.Context(), "../../examples/temperature-rules/"+name+"/go")
		require.NoError(t, err, name)
		wasm[name] = w
	}

	stop := startServe(t, rig.bin, rig.dir, rig.env, rig.addr)
	defer stop()

	for name, grant := range map[string]string{"ingest": "props", "status": "props", "notify": "emit", "failures": "props"} {
		out, err := rig.run("deploy", name, wasm[name], "--grant", grant)
		require.NoError(t, err, out)
		assert.Contains(t, out, "function "+name+" is at revision")
	}
	const delivery = `"delivery": {"retries": 3, "backoff": "100ms", "backoff_policy": "exponential"}`
	rig.putTrigger(t, "ingest", `{"function": "ingest", "filters": [{"exact": {"type": "com.example.temperature.reading"}}], `+delivery+`}`)
	rig.putTrigger(t, "status", `{"function": "status", "filters": [{"exact": {"type": "wasmfaas.property.changed", "propertyname": "tempc"}}], `+delivery+`}`)
	rig.putTrigger(t, "notify", `{"function": "notify", "filters": [{"exact": {"type": "wasmfaas.property.changed", "propertyname": "temp_status"}}], `+delivery+`}`)
	// Error propagation (from KRules): every call's execution event that did
	// not end ok.
	rig.putTrigger(t, "failures", `{"function": "failures", "filters": [{"exact": {"type": "wasmfaas.execution"}}, {"not": {"exact": {"status": "ok"}}}], `+delivery+`}`)

	const subject = "device|00000A"
	code, err := rig.postEvent("reading-1", "com.example.temperature.reading", subject, `{"tempc": 50}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, code)

	var props map[string]json.RawMessage
	require.Eventually(t, func() bool {
		props, err = rig.props(subject)
		return err == nil && string(props["temp_status"]) == `"CRITICAL"`
	}, 60*time.Second, 200*time.Millisecond, "temp_status becomes CRITICAL; last props %v, err %v", props, err)
	assert.JSONEq(t, `50`, string(props["tempc"]))

	var notifyCalls []callRecord
	require.Eventually(t, func() bool {
		notifyCalls, err = rig.calls("notify")
		if err != nil {
			return false
		}
		for _, c := range notifyCalls {
			if c.Status == "ok" && len(c.Emitted) == 1 && c.Emitted[0].Type == "com.example.notification" {
				return true
			}
		}
		return false
	}, 60*time.Second, 200*time.Millisecond, "notify has an ok call emitting com.example.notification; last %+v, err %v", notifyCalls, err)
	for _, c := range notifyCalls {
		if c.Status == "ok" && len(c.Emitted) == 1 {
			assert.Equal(t, subject, c.Emitted[0].Subject)
			assert.JSONEq(t, `{"subject": "device|00000A", "status": "CRITICAL"}`, string(c.Emitted[0].Data))
		}
	}

	for _, name := range []string{"ingest", "status", "notify"} {
		var cs []callRecord
		require.Eventually(t, func() bool {
			cs, err = rig.calls(name)
			if err != nil {
				return false
			}
			for _, c := range cs {
				if c.Status == "ok" {
					return true
				}
			}
			return false
		}, 60*time.Second, 200*time.Millisecond, "%s has an ok call; last %+v, err %v", name, cs, err)
		// One reading, one transition: each rule ran once and none failed.
		for _, c := range cs {
			assert.Equal(t, "ok", c.Status, "%s call %s", name, c.CallID)
		}
	}

	// A reading the ingest rule rejects: its execution event (status
	// rejected, about the same subject) runs the failures rule, which
	// records the failure on the subject.
	const bad = "device|00000B"
	code, err = rig.postEvent("reading-bad", "com.example.temperature.reading", bad, `{"tempc": "hot"}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, code)
	require.Eventually(t, func() bool {
		props, err = rig.props(bad)
		return err == nil && props["last_failure"] != nil
	}, 60*time.Second, 200*time.Millisecond, "last_failure is set on %s; last props %v, err %v", bad, props, err)
	var lf struct{ Function, Status, Kind, Message string }
	require.NoError(t, json.Unmarshal(props["last_failure"], &lf))
	assert.Equal(t, "ingest", lf.Function)
	assert.Equal(t, "rejected", lf.Status)
	assert.Contains(t, lf.Message, "tempc")
	assert.NotContains(t, props, "tempc", "the rejected reading changed nothing")

	// failures ran once: not on the ok executions, not on its own.
	fc, err := rig.calls("failures")
	require.NoError(t, err)
	require.Len(t, fc, 1, "%+v", fc)
	assert.Equal(t, "ok", fc[0].Status)
}
