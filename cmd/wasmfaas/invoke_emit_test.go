package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// TestInvokePublishesEmitted: `wasmfaas invoke` runs the function through
// the same call path as trigger delivery, so the event it emits is
// published and a function with a trigger on that type runs on it.
func TestInvokePublishesEmitted(t *testing.T) {
	rig := newE2ERig(t)
	temperature, err := hosttest.BuildGo(t.Context(), "../../examples/temperature/go")
	require.NoError(t, err)
	counter, err := hosttest.BuildGo(t.Context(), "../../examples/counter/go")
	require.NoError(t, err)
	stop := startServe(t, rig.bin, rig.dir, rig.env, rig.addr)
	defer stop()

	out, err := rig.run("deploy", "temperature", temperature, "--grant", "props,emit")
	require.NoError(t, err, out)
	out, err = rig.run("deploy", "counter", counter, "--grant", "props", "--trigger", "type=com.example.temperature.status.changed")
	require.NoError(t, err, out)

	out, err = rig.run("invoke", "temperature", "--subject", "device|1", "--data", `{"tempc": 45}`)
	require.NoError(t, err, out)
	assert.JSONEq(t, `{"temp_status": "CRITICAL", "changed": true}`, out)

	var calls []callRecord
	require.Eventually(t, func() bool {
		calls, err = rig.calls("counter")
		return err == nil && len(calls) > 0
	}, 30*time.Second, 100*time.Millisecond, "counter runs on the emitted event; err %v", err)
	require.Len(t, calls, 1)
	assert.Equal(t, "ok", calls[0].Status)
	props, err := rig.props("device|1")
	require.NoError(t, err)
	assert.JSONEq(t, `1`, string(props["count"]))
	assert.JSONEq(t, `"CRITICAL"`, string(props["temp_status"]))
}
