package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
)

// TestOTLPHTTPExport: with an endpoint, spans are exported over OTLP/HTTP
// (protobuf POSTs to /v1/traces), flushed at shutdown; after it, tracing
// is off again.
func TestOTLPHTTPExport(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	var bytes int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		bytes += len(b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	assert.False(t, On())
	shutdown, err := Setup(context.Background(), Config{Endpoint: srv.URL, ServiceName: "wasmfaas-test"}, nil)
	require.NoError(t, err)
	require.True(t, On())
	_, span := Tracer().Start(context.Background(), "call test")
	span.End()
	require.NoError(t, shutdown(context.Background()))
	assert.False(t, On())
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, paths, "the span was exported")
	assert.Equal(t, "POST /v1/traces application/x-protobuf", paths[0])
	assert.Positive(t, bytes)
}

func TestSetupRefusesUnknownProtocol(t *testing.T) {
	_, err := Setup(context.Background(), Config{Endpoint: "127.0.0.1:4317", Protocol: "carrier-pigeon"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "want grpc or http/protobuf")
	assert.False(t, On())
}

// TestEventContext: the trace context goes into an event's extensions and
// comes back out; an event without it, or a context without a span, leaves
// things as they are.
func TestEventContext(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)

	ev := cloudevents.NewEvent()
	ToEvent(context.Background(), &ev)
	assert.Empty(t, ev.Extensions(), "no span, no extension")
	ToEvent(ctx, &ev)
	assert.Equal(t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ev.Extensions()[ExtTraceParent])

	back := trace.SpanContextFromContext(FromEvent(context.Background(), &ev))
	assert.Equal(t, tid, back.TraceID())
	assert.Equal(t, sid, back.SpanID())
	assert.True(t, back.IsRemote())

	plain := cloudevents.NewEvent()
	assert.False(t, trace.SpanContextFromContext(FromEvent(context.Background(), &plain)).IsValid())
	bad := cloudevents.NewEvent()
	bad.SetExtension(ExtTraceParent, "garbage")
	assert.False(t, trace.SpanContextFromContext(FromEvent(context.Background(), &bad)).IsValid(), "a malformed traceparent is ignored")
}
