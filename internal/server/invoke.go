package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/apierr"
	"github.com/wasmfaas/wasmfaas/internal/functions"
	"github.com/wasmfaas/wasmfaas/internal/tracing"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/router/ingress"
)

// Response headers of an invoke.
const (
	HeaderCallID = "Wasmfaas-Call-Id"
	HeaderStatus = "Wasmfaas-Status"
)

// invoke runs the function synchronously through the call path, exactly as
// trigger delivery does (record, publish what it emitted). The response is
// the function's result with its content type, the call id and status in
// headers; with ?output=info it is the ExecutionInfo. Outcomes map to
// statuses: ok 200, rejected 422 (429 with Retry-After when overloaded),
// timeout 504, error and trap 502: the function failed, not the caller and
// not the host. An ok call whose emitted events could not be stored is 503.
func (s *Server) invoke(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := functions.CheckName("function", name); err != nil {
		return err
	}
	ev, err := s.eventFromRequest(w, r)
	if err != nil {
		return err
	}
	ctx, end := serverSpan(r, &ev, "invoke "+name)
	defer end()
	info, err := s.deps.Functions.Invoke(ctx, name, "", ev, 1)
	if err != nil {
		if info.CallID != "" {
			w.Header().Set(HeaderCallID, info.CallID)
		}
		return err
	}
	w.Header().Set(HeaderCallID, info.CallID)
	w.Header().Set(HeaderStatus, string(info.Status))
	status := invokeStatus(info)
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	if r.URL.Query().Get("output") == "info" {
		return writeJSON(w, status, info)
	}
	if info.Status != host.StatusOK {
		var body apierr.Body
		body.Error.Code, body.Error.Message = apierr.Kind("function_"+string(info.Status)), info.Error.Kind+": "+info.Error.Message
		return writeJSON(w, status, body)
	}
	if info.Result == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.Header().Set("Content-Type", info.Result.ContentType)
	w.WriteHeader(status)
	_, err = w.Write(info.Result.Body)
	return err
}

func invokeStatus(info host.ExecutionInfo) int {
	switch info.Status {
	case host.StatusOK:
		return http.StatusOK
	case host.StatusRejected:
		if info.Error != nil && info.Error.Kind == "overloaded" {
			return http.StatusTooManyRequests
		}
		return http.StatusUnprocessableEntity
	case host.StatusTimeout:
		return http.StatusGatewayTimeout
	default:
		return http.StatusBadGateway
	}
}

// eventFromRequest reads one CloudEvent in the HTTP binding (binary or
// structured mode, through the same decoder as POST /v1/events), or plain
// data, for which the host fills id, source and type (?type= and ?subject=
// set those).
func (s *Server) eventFromRequest(w http.ResponseWriter, r *http.Request) (cloudevents.Event, error) {
	if ingress.IsCloudEvent(r.Header) {
		if ingress.IsBatch(r.Header) {
			return cloudevents.Event{}, apierr.Errorf(apierr.KindMediaType, "invoke takes one event; batches go to /v1/events")
		}
		events, ierr := ingress.DecodeRequest(w, r, s.cfg.MaxBodyBytes)
		if ierr != nil {
			return cloudevents.Event{}, ierr
		}
		return events[0], nil
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return cloudevents.Event{}, err
		}
		return cloudevents.Event{}, apierr.Errorf(apierr.KindMalformed, "read body: %v", err)
	}
	ev := cloudevents.NewEvent()
	ev.SetID(uuid.NewString())
	ev.SetSource("wasmfaas/api")
	typ := r.URL.Query().Get("type")
	if typ == "" {
		typ = "wasmfaas.invoke"
	}
	ev.SetType(typ)
	ev.SetTime(time.Now().UTC())
	if subj := r.URL.Query().Get("subject"); subj != "" {
		ev.SetSubject(subj)
	}
	if len(data) > 0 {
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			ct = "application/octet-stream"
			if json.Valid(data) {
				ct = "application/json"
			}
		} else if _, _, err := mime.ParseMediaType(ct); err != nil {
			return cloudevents.Event{}, apierr.Errorf(apierr.KindMalformed, "Content-Type %q: %v", ct, err)
		}
		if err := ev.SetData(ct, data); err != nil {
			return cloudevents.Event{}, apierr.Errorf(apierr.KindMalformed, "data: %v", err)
		}
	}
	if err := ev.Validate(); err != nil {
		return cloudevents.Event{}, apierr.Errorf(apierr.KindMalformed, "invalid event: %v", err)
	}
	// ?type= and ?subject= are attributes from the request like any
	// other: the same rule as at ingress, so what a guest sees and the
	// call log keeps is bounded the same way.
	if err := router.CheckAttributes(&ev); err != nil {
		return cloudevents.Event{}, &apierr.Error{Kind: apierr.KindMalformed, Message: err.Error(), Err: err}
	}
	return ev, nil
}

// serverSpan starts the span of a synchronous call when tracing is on: a
// child of the event's trace context, or else of the request's W3C headers.
func serverSpan(r *http.Request, ev *cloudevents.Event, name string) (context.Context, func()) {
	if !tracing.On() {
		return r.Context(), func() {}
	}
	parent := tracing.FromHeaders(r.Context(), r.Header)
	if _, ok := ev.Extensions()[tracing.ExtTraceParent]; ok {
		parent = tracing.FromEvent(r.Context(), ev)
	}
	ctx, span := tracing.Tracer().Start(parent, name, trace.WithSpanKind(trace.SpanKindServer))
	return ctx, func() { span.End() }
}
