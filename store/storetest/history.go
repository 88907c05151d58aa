package storetest

import (
	"encoding/json"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
)

// testPropsHistory: the property-changed events of a subject, or of every
// subject, come back newest first with the old and new values; a limit
// keeps the newest. A backend may publish events after the write returns,
// so the test polls until they are there.
func testPropsHistory(t *testing.T, s store.Store) {
	ctx := t.Context()
	h, ok := s.Properties().(store.PropertyHistory)
	require.True(t, ok, "the backend's Properties does not implement store.PropertyHistory")
	const subj = "order/<b>1</b>"
	_, err := s.Properties().Set(ctx, subj, "state", raw(`"new"`), abi.RevAny)
	require.NoError(t, err)
	_, err = s.Properties().Set(ctx, subj, "state", raw(`"paid"`), abi.RevAny)
	require.NoError(t, err)
	_, err = s.Properties().Set(ctx, "other", "n", raw(`1`), abi.RevAny)
	require.NoError(t, err)
	_, err = s.Properties().Delete(ctx, subj, "state", abi.RevAny)
	require.NoError(t, err)

	type change struct{ Subject, Name, Old, New string }
	summary := func(evs []cloudevents.Event) []change {
		out := make([]change, 0, len(evs))
		for _, ev := range evs {
			var d struct {
				Name string          `json:"property_name"`
				Old  json.RawMessage `json:"old_value"`
				New  json.RawMessage `json:"value"`
			}
			_ = json.Unmarshal(ev.Data(), &d)
			assert.Equal(t, store.PropertyChangedType, ev.Type())
			assert.Equal(t, d.Name, ev.Extensions()[store.ExtPropertyName])
			assert.NotEmpty(t, ev.ID())
			assert.False(t, ev.Time().IsZero())
			out = append(out, change{ev.Subject(), d.Name, string(d.Old), string(d.New)})
		}
		return out
	}
	want := []change{
		{subj, "state", `"paid"`, `null`},
		{subj, "state", `"new"`, `"paid"`},
		{subj, "state", `null`, `"new"`},
	}
	var got []change
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := h.History(ctx, subj, 10)
		require.NoError(t, err)
		if got = summary(evs); len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(20 * time.Millisecond): // polling the backend's relay, with a deadline
		}
	}
	assert.Equal(t, want, got)

	evs, err := h.History(ctx, subj, 2)
	require.NoError(t, err)
	assert.Equal(t, want[:2], summary(evs), "the limit keeps the newest")
	evs, err = h.History(ctx, "", 10)
	require.NoError(t, err)
	assert.Equal(t, []change{want[0], {"other", "n", `null`, `1`}, want[1], want[2]}, summary(evs))
	evs, err = h.History(ctx, "never", 10)
	require.NoError(t, err)
	assert.Empty(t, evs)

	for _, tc := range []struct {
		name    string
		subject string
		limit   int
	}{
		{"zero limit", subj, 0},
		{"limit over the maximum", subj, store.MaxHistoryLimit + 1},
		{"bad subject", "a\x00b", 1},
	} {
		_, err := h.History(ctx, tc.subject, tc.limit)
		assert.ErrorIs(t, err, store.ErrInvalid, tc.name)
	}
}
