package jetstream

import (
	"encoding/json"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/store"
)

// TestAppendExecutionEvent: the hand-written encoding of an execution event
// is valid JSON that sdk-go reads back as store.Call.Event, strings with
// quotes, backslashes, non-ASCII and (in the id, encoded) control
// characters included, and the record is the data byte for byte.
func TestAppendExecutionEvent(t *testing.T) {
	rec := json.RawMessage("{\n  \"call_id\": \"a\\\"b\",\n  \"n\": 1\n}")
	c := store.Call{
		ID: "id\"with\\quote", Function: "fn", Status: "ok", Start: time.Date(2026, 12, 5, 1, 2, 3, 456, time.UTC),
		Record: rec, Subject: `dev|1 "q" \ é 100%`,
		Extensions: map[string]string{store.ExtTrigger: "t\\1", store.ExtAttempt: "2", store.ExtCauseID: "e\u2028x"},
	}
	for _, tc := range []store.Call{c, func() store.Call { c := c; c.ID = "ctl\x01id"; c.Subject = ""; return c }()} {
		data := appendExecutionEvent(nil, tc)
		require.True(t, json.Valid(data), "%s", data)
		var got cloudevents.Event
		require.NoError(t, got.UnmarshalJSON(data))
		want := tc.Event()
		want.SetID(attrSafe(tc.ID))
		assert.Equal(t, want.ID(), got.ID())
		assert.Equal(t, want.Type(), got.Type())
		assert.Equal(t, want.Source(), got.Source())
		assert.Equal(t, want.Subject(), got.Subject())
		assert.True(t, want.Time().Equal(got.Time()), "%s vs %s", want.Time(), got.Time())
		assert.Equal(t, "application/json", got.DataContentType())
		assert.Equal(t, want.Extensions(), got.Extensions())
		var raw struct {
			Data json.RawMessage `json:"data"`
		}
		require.NoError(t, json.Unmarshal(data, &raw))
		assert.Equal(t, string(rec), string(raw.Data), "the record as it was")
	}
}
