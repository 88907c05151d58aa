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
		e := ev()
		m := fl.Match(e)
		// What the router decides from the type alone never contradicts
		// the match on the whole event.
		switch fl.onType(e.Type()) {
		case triNo:
			require.False(t, m, "onType says no event of type %q matches, but this one does", e.Type())
		case triYes:
			require.True(t, m, "onType says every event of type %q matches, but this one does not", e.Type())
		}
	})
}

func TestFilterOnType(t *testing.T) {
	for _, tc := range []struct {
		filters string
		typ     string
		want    tri
		selects bool
	}{
		{`[]`, "a", triYes, false},
		{`[{"exact":{"type":"a"}}]`, "a", triYes, true},
		{`[{"exact":{"type":"a"}}]`, "b", triNo, false},
		{`[{"exact":{"type":"a","status":"error"}}]`, "a", triMaybe, true},
		{`[{"exact":{"status":"error"}}]`, "a", triMaybe, false},
		{`[{"prefix":{"type":"wasmfaas."}}]`, "wasmfaas.execution", triYes, true},
		{`[{"suffix":{"type":".execution"}}]`, "wasmfaas.execution", triYes, true},
		{`[{"not":{"exact":{"type":"a"}}}]`, "a", triNo, false},
		{`[{"not":{"exact":{"type":"a"}}}]`, "b", triYes, false},
		{`[{"not":{"exact":{"status":"ok"}}}]`, "a", triMaybe, false},
		{`[{"any":[{"exact":{"type":"a"}},{"exact":{"type":"b"}}]}]`, "b", triYes, true},
		{`[{"any":[{"exact":{"type":"a"}},{"exact":{"subject":"s"}}]}]`, "a", triYes, false},
		{`[{"all":[{"exact":{"type":"a"}},{"exact":{"subject":"s"}}]}]`, "a", triMaybe, true},
		{`[{"exact":{"type":"a"}},{"not":{"exact":{"status":"ok"}}}]`, "a", triMaybe, true},
	} {
		var fs []Filter
		require.NoError(t, json.Unmarshal([]byte(tc.filters), &fs), tc.filters)
		assert.Equal(t, tc.want, onType(fs, tc.typ), "%s on type %s", tc.filters, tc.typ)
		assert.Equal(t, tc.selects, selectsType(fs, tc.typ), "%s selects %s", tc.filters, tc.typ)
	}
}
