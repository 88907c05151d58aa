package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/app"
)

const readingSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://example.com/schemas/reading",
  "type": "object",
  "required": ["tempc"],
  "properties": {"tempc": {"type": "number", "minimum": -90, "maximum": 90}}
}`

// TestDataSchema: a function that declares a data schema rejects events
// whose data fails it before any instance runs, with the failing path and
// reason in the ExecutionInfo; a trigger's schema does the same for what
// it delivers, and the dead letter says why; schemas that do not compile
// are refused at deploy.
func TestDataSchema(t *testing.T) {
	_, ts := start(t, app.Config{})
	deploy(t, ts, "temperature", "../../examples/temperature/go", `"grants": ["props", "emit"], "data_schema": `+readingSchema)

	invoke := func(fn, data string, hdr ...string) (int, map[string]any) {
		t.Helper()
		resp, b := call(t, ts, "POST", "/v1/functions/"+fn+"/invoke?output=info&subject=device%7C1", "application/json", []byte(data), hdr...)
		var info map[string]any
		require.NoError(t, json.Unmarshal(b, &info), string(b))
		return resp.StatusCode, info
	}
	code, info := invoke("temperature", `{"tempc": 21}`)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok", info["status"])

	for _, tc := range []struct{ data, want string }{
		{`{"tempc": "warm"}`, "at /tempc: got string, want number"},
		{`{"tempc": 120}`, "at /tempc: maximum: got 120, want 90"},
		{`{}`, "missing property 'tempc'"},
		{`[1]`, "got array, want object"},
	} {
		code, info := invoke("temperature", tc.data)
		assert.Equal(t, http.StatusUnprocessableEntity, code, tc.data)
		assert.Equal(t, "rejected", info["status"], tc.data)
		e, _ := info["error"].(map[string]any)
		assert.Equal(t, "invalid_input", e["kind"], tc.data)
		assert.Contains(t, e["message"], "data does not match function temperature's schema", tc.data)
		assert.Contains(t, e["message"], tc.want, tc.data)
		assert.Zero(t, info["memory_bytes"], "no instance ran: %s", tc.data)
	}

	// An event that names another schema is rejected; one that names this
	// schema is taken.
	resp, b := call(t, ts, "POST", "/v1/functions/temperature/invoke?output=info", "application/json", []byte(`{"tempc": 1}`),
		"Ce-Specversion", "1.0", "Ce-Id", "s1", "Ce-Source", "/t", "Ce-Type", "com.example.temperature.reading", "Ce-Subject", "device|1",
		"Ce-Dataschema", "https://example.com/schemas/other")
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, string(b))
	assert.Contains(t, string(b), `dataschema \"https://example.com/schemas/other\" is not function temperature's schema`)
	resp, b = call(t, ts, "POST", "/v1/functions/temperature/invoke", "application/json", []byte(`{"tempc": 1}`),
		"Ce-Specversion", "1.0", "Ce-Id", "s2", "Ce-Source", "/t", "Ce-Type", "com.example.temperature.reading", "Ce-Subject", "device|1",
		"Ce-Dataschema", "https://example.com/schemas/reading")
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(b))

	// Schemas that do not compile, or are not JSON, are refused at deploy.
	for _, bad := range []string{`{"type": "nonsense"}`, `{"$ref": "https://example.com/elsewhere.json"}`, `"a string"`, `{"minimum": "zero"}`} {
		resp, b := call(t, ts, "PUT", "/v1/triggers/bad", "application/json", []byte(`{"function": "temperature", "data_schema": `+bad+`}`))
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%s: %s", bad, b)
		assert.Contains(t, string(b), "data_schema", bad)
	}

	// A trigger's schema: a counter behind a trigger that takes only
	// objects with a "n" integer; a bad event is dead-lettered at once
	// (rejected is never retried) with the reason.
	deploy(t, ts, "counter", "../../examples/counter/go", `"grants": ["props"]`)
	code, tb := putTrigger(t, ts, "counted", `{"function": "counter", "filters": [{"exact": {"type": "com.example.count"}}],
		"data_schema": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}}`)
	require.Equal(t, http.StatusOK, code, tb)
	for i, data := range []string{`{"n": 1}`, `{"n": "one"}`} {
		resp, b := call(t, ts, "POST", "/v1/events", "application/json", []byte(data),
			"Ce-Specversion", "1.0", "Ce-Id", "c"+string(rune('0'+i)), "Ce-Source", "/t", "Ce-Type", "com.example.count", "Ce-Subject", "page|1")
		require.Equal(t, http.StatusAccepted, resp.StatusCode, string(b))
	}
	var dl string
	require.Eventually(t, func() bool {
		_, b := call(t, ts, "GET", "/v1/deadletters?trigger=counted", "", nil)
		dl = string(b)
		return strings.Contains(dl, "c1")
	}, 20*time.Second, 50*time.Millisecond, "the bad event is dead-lettered")
	assert.Contains(t, dl, "data does not match trigger counted's schema")
	assert.Contains(t, dl, "at /n: got string, want integer")
	require.Eventually(t, func() bool { return len(callsOf(t, ts, "counter")) == 2 }, 20*time.Second, 50*time.Millisecond)
	_, pb := call(t, ts, "GET", "/v1/subjects/page%7C1/properties", "", nil)
	assert.Regexp(t, `"count": \{\s*"value": 1,`, string(pb), "only the good event counted")
}
