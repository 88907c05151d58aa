package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/store"
)

func TestCallEvent(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))
	c := store.Call{
		ID: "0193-call", Function: "on-reading", Status: "error", Start: start,
		Record:     json.RawMessage(`{"call_id":"0193-call","status":"error"}`),
		Subject:    "sensor-1",
		Extensions: map[string]string{"attempt": "3", store.ExtStatus: "ok"},
	}
	ev := c.Event()
	require.NoError(t, ev.Validate())
	assert.Equal(t, "0193-call", ev.ID())
	assert.Equal(t, store.ExecutionType, ev.Type())
	assert.Equal(t, store.ExecutionSource, ev.Source())
	assert.Equal(t, "sensor-1", ev.Subject())
	assert.True(t, start.Equal(ev.Time()))
	assert.Equal(t, "application/json", ev.DataContentType())
	assert.JSONEq(t, string(c.Record), string(ev.Data()))
	ext := ev.Extensions()
	assert.Equal(t, "on-reading", ext[store.ExtFunction])
	assert.Equal(t, "error", ext[store.ExtStatus], "the call's status wins over an extension of that name")
	assert.Equal(t, "3", ext["attempt"])

	c.Subject = ""
	_, has := c.Event().Extensions()["subject"]
	assert.False(t, has)
	assert.Empty(t, c.Event().Subject())
}
