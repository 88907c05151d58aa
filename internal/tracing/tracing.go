// Package tracing owns OpenTelemetry tracing: the tracer every package
// starts its spans with, and how a span's W3C trace context travels in a
// CloudEvent, as the CloudEvents distributed-tracing extension
// (traceparent, tracestate), so a chain of functions reacting to each
// other's events is one trace. Exporting is configured once, by the app
// (Setup); until then the global provider is OpenTelemetry's no-op one
// and every span costs next to nothing.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Name is the instrumentation scope of every wasmfaas span.
const Name = "github.com/wasmfaas/wasmfaas"

// Extension names of the CloudEvents distributed-tracing extension.
const (
	ExtTraceParent = "traceparent"
	ExtTraceState  = "tracestate"
)

// tracer delegates to the global provider, also to one set after it was
// made.
var tracer = otel.Tracer(Name)

// on is set by Setup: spans are made only then.
var on atomic.Bool

// On reports whether tracing is on; call sites skip making spans (and
// their attributes) when it is not, so tracing off costs one load.
func On() bool { return on.Load() }

// Tracer is the tracer of every wasmfaas span.
func Tracer() trace.Tracer { return tracer }

var propagator = propagation.TraceContext{}

// eventCarrier reads and writes the tracing extensions of an event.
type eventCarrier struct{ ev *cloudevents.Event }

func (c eventCarrier) Get(key string) string {
	v, ok := c.ev.Extensions()[key]
	if !ok {
		return ""
	}
	s, _ := v.(string)
	return s
}

func (c eventCarrier) Set(key, value string) { c.ev.SetExtension(key, value) }

func (c eventCarrier) Keys() []string { return []string{ExtTraceParent, ExtTraceState} }

// FromEvent returns ctx with the remote span context ev carries, if any.
func FromEvent(ctx context.Context, ev *cloudevents.Event) context.Context {
	if _, ok := ev.Extensions()[ExtTraceParent]; !ok {
		return ctx
	}
	return propagator.Extract(ctx, eventCarrier{ev})
}

// ToEvent sets ev's tracing extensions to ctx's span context; it does
// nothing when ctx has no valid span (tracing off).
func ToEvent(ctx context.Context, ev *cloudevents.Event) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	propagator.Inject(ctx, eventCarrier{ev})
}

// HeaderCarrier is the W3C trace context of HTTP or NATS headers.
type HeaderCarrier = propagation.HeaderCarrier

// FromHeaders returns ctx with the remote span context of W3C headers.
func FromHeaders(ctx context.Context, h map[string][]string) context.Context {
	return propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

// Recording reports whether ctx's span records: whether a child span is
// worth starting.
func Recording(ctx context.Context) bool { return trace.SpanFromContext(ctx).IsRecording() }

// IDs returns the trace and span ids of ctx's span, empty when tracing is
// off.
func IDs(ctx context.Context) (traceID, spanID string) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return "", ""
	}
	return sc.TraceID().String(), sc.SpanID().String()
}

// Config is how spans are exported: OTLP to Endpoint over Protocol
// ("grpc" or "http/protobuf"). An empty Endpoint turns tracing off.
type Config struct {
	Endpoint    string
	Protocol    string
	ServiceName string
}

// Setup installs a global tracer provider exporting to cfg.Endpoint, or
// provider when it is not nil (tests), and returns its shutdown, which
// flushes what is buffered. With neither, tracing stays off.
func Setup(ctx context.Context, cfg Config, provider *sdktrace.TracerProvider) (func(context.Context) error, error) {
	if provider == nil && cfg.Endpoint == "" {
		return func(context.Context) error { return nil }, nil
	}
	if provider == nil {
		exp, err := exporter(ctx, cfg)
		if err != nil {
			return nil, err
		}
		name := cfg.ServiceName
		if name == "" {
			name = "wasmfaas"
		}
		res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(name)))
		if err != nil {
			return nil, fmt.Errorf("otel resource: %w", err)
		}
		provider = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	}
	otel.SetTracerProvider(provider)
	on.Store(true)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return func(ctx context.Context) error {
		on.Store(false)
		return provider.Shutdown(ctx)
	}, nil
}

func exporter(ctx context.Context, cfg Config) (*otlptrace.Exporter, error) {
	endpoint := cfg.Endpoint
	insecure := true
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		insecure = u.Scheme != "https"
		endpoint = u.Host
	}
	switch strings.ToLower(cfg.Protocol) {
	case "", "http/protobuf", "http":
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(endpoint)}
		if insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		return otlptracehttp.New(ctx, opts...)
	case "grpc":
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(endpoint)}
		if insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		return otlptracegrpc.New(ctx, opts...)
	}
	return nil, errors.New("otel.protocol " + cfg.Protocol + ": want grpc or http/protobuf")
}
