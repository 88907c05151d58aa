package router

import (
	"encoding/json"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ev() *cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID("1")
	e.SetSource("/devices/a")
	e.SetType("wasmfaas.property.changed")
	e.SetSubject("device|00000A")
	e.SetExtension("propertyname", "tempc")
	e.SetExtension("fleet", "north")
	return &e
}

func TestFilters(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		match  bool
	}{
		{"exact type", `{"exact": {"type": "wasmfaas.property.changed"}}`, true},
		{"exact extension", `{"exact": {"propertyname": "tempc"}}`, true},
		{"exact all attributes must match", `{"exact": {"propertyname": "tempc", "fleet": "south"}}`, false},
		{"missing attribute never matches", `{"exact": {"dataschema": "x"}}`, false},
		{"prefix", `{"prefix": {"subject": "device|"}}`, true},
		{"suffix", `{"suffix": {"type": ".changed"}}`, true},
		{"any", `{"any": [{"exact": {"type": "x"}}, {"prefix": {"source": "/devices/"}}]}`, true},
		{"all", `{"all": [{"exact": {"type": "x"}}, {"prefix": {"source": "/devices/"}}]}`, false},
		{"not", `{"not": {"exact": {"fleet": "south"}}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Filter
			require.NoError(t, json.Unmarshal([]byte(tt.filter), &f))
			assert.Equal(t, tt.match, f.Match(ev()))
		})
	}
	assert.True(t, MatchAll(nil, ev()), "no filters match everything")
}

func TestFiltersRefused(t *testing.T) {
	tests := []struct{ name, filter, msg string }{
		{"unknown dialect", `{"cesql": "type = 'x'"}`, `unknown filter dialect "cesql"`},
		{"two dialects", `{"exact": {"type": "x"}, "prefix": {"type": "y"}}`, "exactly one dialect"},
		{"no dialect", `{}`, "exactly one dialect"},
		{"empty value", `{"exact": {"type": ""}}`, `attribute "type" has an empty value`},
		{"empty map", `{"prefix": {}}`, "at least one attribute"},
		{"bad attribute name", `{"exact": {"Type!": "x"}}`, "not a CloudEvents attribute name"},
		{"empty any", `{"any": []}`, "at least one filter"},
		{"nested unknown", `{"not": {"regex": {"type": ".*"}}}`, `unknown filter dialect "regex"`},
		{"not an object", `["exact"]`, "a filter is a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Filter
			err := json.Unmarshal([]byte(tt.filter), &f)
			require.ErrorIs(t, err, ErrInvalidFilter)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestTriggerNormalize(t *testing.T) {
	tr := Trigger{Name: "on-tempc", Function: "temperature"}
	require.NoError(t, tr.Normalize())
	assert.Equal(t, "deadletter.on-tempc", tr.Delivery.DeadLetter)
	assert.Equal(t, 3, tr.Delivery.Retries)
	bad := Trigger{Name: "x", Function: "f", Delivery: Delivery{Retries: -1, BackoffPolicy: "exponential"}}
	assert.ErrorIs(t, bad.Normalize(), ErrInvalidTrigger)
	assert.ErrorIs(t, (&Trigger{Name: "x"}).Normalize(), ErrInvalidTrigger)
	d := Delivery{Backoff: Duration(100e6), BackoffPolicy: "exponential"}
	assert.Equal(t, "100ms 200ms 400ms", d.BackoffFor(1).String()+" "+d.BackoffFor(2).String()+" "+d.BackoffFor(3).String())
}

func FuzzFilter(f *testing.F) {
	f.Add([]byte(`{"any": [{"exact": {"type": "x"}}, {"not": {"prefix": {"subject": "a"}}}]}`))
	f.Add([]byte(`{"exact": {"type": ""}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fl Filter
		if err := json.Unmarshal(b, &fl); err != nil {
			return
		}
		require.NoError(t, fl.Validate())
		fl.Match(ev())
	})
}
