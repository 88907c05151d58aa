package host

import (
	"bytes"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/internal/wasmgen"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sampleInfo() ExecutionInfo {
	emitted := cloudevents.NewEvent()
	emitted.SetID(EmittedID("reading-1", "temperature", 0))
	emitted.SetSource("wasmfaas/functions/temperature")
	emitted.SetType("com.example.temperature.status.changed")
	emitted.SetSubject("device|00000A")
	emitted.SetTime(time.Date(2026, 11, 23, 12, 0, 0, 5000, time.UTC))
	_ = emitted.SetData(cloudevents.ApplicationJSON, map[string]any{"from": nil, "to": "COLD"})
	return ExecutionInfo{
		CallID:       "01936f4e-0000-7000-8000-000000000001",
		Function:     "temperature",
		ModuleDigest: "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
		Mode:         "reactor",
		Event: EventInfo{
			ID: "reading-1", Source: "/devices", Type: "com.example.temperature.reading",
			Subject: "device|00000A", Time: "2026-11-23T12:00:00Z", DataContentType: "application/json",
			Extensions: map[string]string{"fleet": "north"},
		},
		Status:      StatusOK,
		Start:       time.Date(2026, 11, 23, 12, 0, 0, 1000, time.UTC),
		DurationNS:  1500000,
		Attempt:     1,
		MemoryBytes: 2818048,
		Result:      &Result{ContentType: "application/json", Body: []byte(`{"temp_status":"COLD","changed":true}`)},
		Emitted:     []cloudevents.Event{emitted},
		PropertyChanges: []PropertyChange{
			{Subject: "device|00000A", Name: "tempc", Old: json.RawMessage("null"), New: json.RawMessage("10"), Revision: 1},
			{Subject: "device|00000A", Name: "temp_status", Old: json.RawMessage("null"), New: json.RawMessage(`"COLD"`), Revision: 2},
		},
		KVChanges: []KVChange{{Key: "last", Revision: 3, Size: 2}, {Key: "old", Deleted: true}},
		HTTPRequests: []HTTPRequest{
			{Method: "GET", Host: "api.example.com:443", Status: 200, DurationNS: 42000000, RequestBytes: 0, ResponseBytes: 512},
			{Method: "POST", Host: "evil.example.com:443", ErrorCode: "DENIED", Error: "host evil.example.com (port 443) is not on the function's allow-list", RequestBytes: 17},
		},
		Logs:   []LogLine{{Level: "info", Message: "reading 10°C"}},
		Fields: map[string]json.RawMessage{"status_changed": json.RawMessage("true"), "temp_status": json.RawMessage(`"COLD"`)},
	}
}

// TestExecutionInfoGolden pins the JSON form: it is an API (HTTP responses,
// call log, test expectations), so a change must be deliberate (-update).
func TestExecutionInfoGolden(t *testing.T) {
	failed := sampleInfo()
	failed.Status, failed.Result, failed.Emitted, failed.PropertyChanges, failed.KVChanges, failed.Fields, failed.HTTPRequests = StatusRejected, nil, nil, nil, nil, nil, nil
	failed.Error = &ErrorInfo{Kind: abi.KindInvalidInput, Message: `data: field "tempc" is required`}
	binary := sampleInfo()
	binary.Result = &Result{ContentType: "application/octet-stream", Body: []byte{0xff, 0x00, 0xfe}}
	binary.Emitted, binary.PropertyChanges, binary.KVChanges, binary.Logs, binary.Fields, binary.HTTPRequests = nil, nil, nil, nil, nil, nil
	for name, info := range map[string]ExecutionInfo{"ok": sampleInfo(), "rejected": failed, "binary": binary} {
		t.Run(name, func(t *testing.T) {
			got, err := json.MarshalIndent(info, "", "  ")
			require.NoError(t, err)
			path := filepath.Join("testdata", "execinfo-"+name+".golden.json")
			if *update {
				require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(bytes.TrimSpace(want)), string(got))

			var back ExecutionInfo
			require.NoError(t, json.Unmarshal(got, &back))
			again, err := json.MarshalIndent(back, "", "  ")
			require.NoError(t, err)
			assert.Equal(t, string(got), string(again), "JSON must round-trip")
		})
	}
}

func TestExecutionInfoSlog(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("call", "call", sampleInfo())
	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line), buf.String())
	call := line["call"].(map[string]any)
	assert.Equal(t, "ok", call["status"])
	assert.Equal(t, "temperature", call["function"])
	assert.Equal(t, true, call["fields"].(map[string]any)["status_changed"])
	assert.Equal(t, 1, bytes.Count(buf.Bytes(), []byte("\n")), "one call, one line")
}

// TestEmitBinaryData: an emitted event with non-JSON data and no content
// type still encodes.
func TestEmitBinaryData(t *testing.T) {
	h := newTestHost(t)
	var m wasmgen.Module
	idx := imports(&m, "emit_event")
	m.Memory(1, 0)
	m.Data(16, []byte("type\x00com.example.bin\x00"))
	m.Data(64, []byte{0xff, 0xfe, 0x00, 0x01})
	m.Export(abi.VersionExport, m.Func(m.Type(nil, nil), nil))
	m.Export(abi.HandleExport, m.Func(m.Type(nil, []byte{wasmgen.I32}), nil,
		wasmgen.I32Const(16), wasmgen.I32Const(21), wasmgen.I32Const(64), wasmgen.I32Const(4),
		wasmgen.Call(idx["emit_event"]), wasmgen.Drop, wasmgen.I32Const(0)))
	mod, err := h.Load(t.Context(), m.Bytes())
	require.NoError(t, err)
	fn, err := h.NewFunction(t.Context(), mod, FunctionConfig{Name: "bin", Grants: abi.NewGrants(abi.CapEmit)})
	require.NoError(t, err)
	info := h.Invoke(t.Context(), fn, event(""))
	require.Equal(t, StatusOK, info.Status, "%+v", info.Error)
	require.Len(t, info.Emitted, 1)
	assert.Equal(t, "application/octet-stream", info.Emitted[0].DataContentType())
	assert.Equal(t, EmittedID("ev-1", "bin", 0), info.Emitted[0].ID())
	_, err = json.Marshal(info)
	require.NoError(t, err)

	// With an emit scope (the router's trigger), ids derive from it: the
	// same scope re-emits the same id, another scope a distinct one.
	a := h.Invoke(t.Context(), fn, event(""), WithEmitScope("trig-a"))
	retry := h.Invoke(t.Context(), fn, event(""), WithEmitScope("trig-a"), WithAttempt(2))
	b := h.Invoke(t.Context(), fn, event(""), WithEmitScope("trig-b"))
	for _, i := range []ExecutionInfo{a, retry, b} {
		require.Equal(t, StatusOK, i.Status, "%+v", i.Error)
		require.Len(t, i.Emitted, 1)
	}
	assert.Equal(t, EmittedID("ev-1", "trig-a", 0), a.Emitted[0].ID())
	assert.Equal(t, a.Emitted[0].ID(), retry.Emitted[0].ID())
	assert.False(t, a.Redelivered, "a first delivery")
	assert.True(t, retry.Redelivered, "attempt 2 is a redelivery")
	assert.Equal(t, EmittedID("ev-1", "trig-b", 0), b.Emitted[0].ID())
	assert.NotEqual(t, a.Emitted[0].ID(), b.Emitted[0].ID())
}
