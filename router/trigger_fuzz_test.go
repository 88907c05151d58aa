package router

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzTrigger decodes a trigger as the management API does (JSON from a
// client) and normalizes it: no panic; Normalize is idempotent; a trigger
// it accepts has a function, a known backoff policy, a dead-letter subject,
// and backoffs that are never negative and, exponential, never above the
// larger of the base backoff and an hour.
func FuzzTrigger(f *testing.F) {
	for _, s := range []string{
		`{"name":"t","function":"f"}`,
		`{"name":"t","function":"f","filters":[{"exact":{"type":"a"}},{"not":{"prefix":{"source":"/s"}}}]}`,
		`{"name":"t","function":"f","delivery":{"retries":3,"backoff":"10ms","backoff_policy":"linear"}}`,
		`{"name":"t","function":"f","delivery":{"retries":100,"backoff":"23h","backoff_policy":"exponential","dead_letter":"dl.x"}}`,
		`{"name":"a b","function":"f"}`,
		`{"function":"f","delivery":{"backoff":"-1s"}}`,
		`{"function":"f","delivery":{"backoff":5}}`,
		`{"name":"t","function":"f","filters":[{"sql":"x"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tr Trigger
		if json.Unmarshal(b, &tr) != nil {
			return
		}
		if err := tr.Normalize(); err != nil {
			assert.ErrorIs(t, err, ErrInvalidTrigger)
			return
		}
		again := tr
		again.Filters = append([]Filter(nil), tr.Filters...)
		require.NoError(t, again.Normalize(), "Normalize of a normalized trigger")
		assert.Equal(t, tr, again, "Normalize is idempotent")

		d := tr.Delivery
		assert.NotEmpty(t, tr.Function)
		assert.Contains(t, []string{"exponential", "linear"}, d.BackoffPolicy)
		assert.NotEmpty(t, d.DeadLetter)
		base := time.Duration(d.Backoff)
		prev := time.Duration(0)
		for n := 1; n <= d.Retries+1; n++ {
			got := d.BackoffFor(n)
			assert.GreaterOrEqual(t, got, time.Duration(0), "retry %d", n)
			if d.BackoffPolicy == "exponential" {
				assert.LessOrEqual(t, got, max(base, time.Hour), "retry %d", n)
			}
			if d.BackoffPolicy == "linear" || base <= time.Hour {
				assert.GreaterOrEqual(t, got, prev, "retry %d waits no less than retry %d", n, n-1)
			}
			prev = got
		}
	})
}

// FuzzDuration decodes a JSON duration: no panic, and one it accepts
// encodes to JSON that decodes to the same duration.
func FuzzDuration(f *testing.F) {
	for _, s := range []string{`"1.5s"`, `"0"`, `"-3m"`, `"1h2m3.5s"`, `"9223372036854775807ns"`, `"1e3s"`, `5`, `null`, `"µs"`, `"2µs"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Duration
		if d.UnmarshalJSON(b) != nil {
			return
		}
		enc, err := d.MarshalJSON()
		require.NoError(t, err)
		var back Duration
		require.NoError(t, back.UnmarshalJSON(enc), "decode %s", enc)
		assert.Equal(t, d, back)
	})
}
