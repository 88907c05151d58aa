package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/wasmfaas/wasmfaas/internal/app"
)

// TestTraceChain: an event posted over HTTP with a W3C traceparent runs a
// chain of three functions (a emits b's type, b emits c's); the whole chain
// is one trace, the caller's: ingress, then for each function the delivery
// and the call (its KV write and emit as children), each delivery a child
// of the call that emitted its event. Each call's ExecutionInfo names its
// span.
func TestTraceChain(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	_, ts := start(t, app.Config{TracerProvider: tp})
	for _, fn := range []struct{ name, next string }{{"a", "t.b"}, {"b", "t.c"}, {"c", ""}} {
		cfg := `"grants": ["kv", "emit", "config"]`
		if fn.next != "" {
			cfg += `, "config": {"next": "` + fn.next + `"}`
		}
		deploy(t, ts, fn.name, "../../host/hosttest/testdata/guests/relay", cfg)
		code, b := putTrigger(t, ts, fn.name, `{"function": "`+fn.name+`", "filters": [{"exact": {"type": "t.`+fn.name+`"}}]}`)
		require.Equal(t, http.StatusOK, code, b)
	}
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	resp, b := call(t, ts, "POST", "/v1/events", "application/json", []byte(`{}`),
		"Ce-Specversion", "1.0", "Ce-Id", "chain-1", "Ce-Source", "/t", "Ce-Type", "t.a", "Ce-Subject", "s",
		"Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	require.Equal(t, http.StatusAccepted, resp.StatusCode, string(b))
	require.Eventually(t, func() bool { return len(callsOf(t, ts, "c")) == 1 }, 20*time.Second, 20*time.Millisecond, "the chain reaches c")
	// The call span ends after the call is recorded; wait for c's.
	byName := func() map[string]sdktrace.ReadOnlySpan {
		m := map[string]sdktrace.ReadOnlySpan{}
		for _, s := range rec.Ended() {
			m[s.Name()] = s
		}
		return m
	}
	require.Eventually(t, func() bool { _, ok := byName()["call c"]; return ok }, 10*time.Second, 10*time.Millisecond)
	spans := byName()
	for _, name := range []string{"ingress t.a", "deliver a", "call a", "kv_set", "emit_event", "deliver b", "call b", "deliver c", "call c"} {
		s, ok := spans[name]
		require.True(t, ok, "span %q missing; have %v", name, keys(spans))
		assert.Equal(t, traceID, s.SpanContext().TraceID().String(), "span %s is in the caller's trace", name)
	}
	parent := func(child, parent string) {
		t.Helper()
		assert.Equal(t, spans[parent].SpanContext().SpanID(), spans[child].Parent().SpanID(), "%s is a child of %s", child, parent)
	}
	assert.Equal(t, "00f067aa0ba902b7", spans["ingress t.a"].Parent().SpanID().String(), "ingress continues the caller's span")
	parent("deliver a", "ingress t.a")
	parent("call a", "deliver a")
	parent("deliver b", "call a")
	parent("call b", "deliver b")
	parent("deliver c", "call b")
	parent("call c", "deliver c")
	for _, s := range rec.Ended() {
		if s.Name() == "kv_set" || s.Name() == "emit_event" {
			p := s.Parent().SpanID()
			assert.Contains(t, []string{spans["call a"].SpanContext().SpanID().String(), spans["call b"].SpanContext().SpanID().String(), spans["call c"].SpanContext().SpanID().String()}, p.String(), "%s is a child of a call", s.Name())
		}
	}

	// The ExecutionInfo names the call's span.
	_, cb := call(t, ts, "GET", "/v1/calls?function=b", "", nil)
	assert.Contains(t, string(cb), `"trace_id": "`+traceID+`"`)
	assert.Contains(t, string(cb), `"span_id": "`+spans["call b"].SpanContext().SpanID().String()+`"`)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
