package ingress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/wasmfaas/wasmfaas/internal/apierr"
	"github.com/wasmfaas/wasmfaas/internal/tracing"
	"github.com/wasmfaas/wasmfaas/router"
)

// Media types of the HTTP binding's structured and batch content modes.
const (
	mediaStructured = "application/cloudevents+json"
	mediaBatch      = "application/cloudevents-batch+json"
	mediaFormats    = "application/cloudevents"
)

// HTTP is the http.Handler of POST /v1/events (and of OPTIONS, the
// webhook handshake: WebhookOptions).
type HTTP struct {
	cfg Config
	js  jetstream.JetStream
	log *slog.Logger
}

var _ http.Handler = (*HTTP)(nil)

// NewHTTP returns the HTTP ingress storing events with js; log may be nil.
func NewHTTP(cfg Config, js jetstream.JetStream, log *slog.Logger) (*HTTP, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if js == nil {
		return nil, errors.New("new http ingress: nil jetstream")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &HTTP{cfg: cfg, js: js, log: log.With("component", "ingress")}, nil
}

// Accepted is one stored event in the 202 answer.
type Accepted struct {
	ID        string `json:"id"`
	Source    string `json:"source"`
	Stream    string `json:"stream"`
	Seq       uint64 `json:"seq"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// ServeHTTP decodes and validates every event of the request, encodes each
// for the events stream, then stores each one and answers 202 with their
// stream sequences. A request with any event that is invalid, or too large
// for the NATS server, stores nothing and gets a 4xx with the reason. When
// storing fails part way through a batch the answer is 503, the only
// status that means the event store is unavailable; the client retries the
// whole request and the events already stored are dropped as duplicates
// (Nats-Msg-Id is router.MsgID, remembered for DuplicateWindow).
func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		WebhookOptions(w, r)
		return
	}
	events, ierr := h.decode(w, r)
	if ierr == nil {
		// An event that carries no trace context starts its trace here:
		// the ingress span, a child of the request's W3C trace context if
		// it has one, goes into the event (distributed-tracing extension)
		// so that every call it causes is part of the same trace.
		parent := tracing.FromHeaders(r.Context(), r.Header)
		for i := range events {
			if _, traced := events[i].Extensions()[tracing.ExtTraceParent]; traced {
				continue
			}
			if !tracing.On() {
				tracing.ToEvent(parent, &events[i]) // a caller's context still travels on
				continue
			}
			_, span := tracing.Tracer().Start(parent, "ingress "+events[i].Type(), trace.WithSpanKind(trace.SpanKindProducer),
				trace.WithAttributes(attribute.String("cloudevents.event_id", events[i].ID()), attribute.String("cloudevents.event_type", events[i].Type())))
			tracing.ToEvent(trace.ContextWithSpan(parent, span), &events[i])
			defer span.End()
		}
		var msgs []*nats.Msg
		if msgs, ierr = h.encode(events); ierr == nil {
			h.storeAll(w, r, events, msgs)
			return
		}
	}
	if ierr.Kind == apierr.KindInternal {
		h.log.Error("encode event", "error", ierr)
	} else {
		h.log.Debug("event refused", "method", r.Method, "status", ierr.Status(), "reason", ierr.Error())
	}
	writeError(w, ierr)
}

// encode turns events into messages for the events stream, refusing with
// 413 an event larger than the NATS server's max payload: JetStream would
// refuse it, and it is the client's to make smaller.
func (h *HTTP) encode(events []cloudevents.Event) ([]*nats.Msg, *apierr.Error) {
	maxPayload := h.js.Conn().MaxPayload()
	msgs := make([]*nats.Msg, 0, len(events))
	for i, ev := range events {
		msg, err := router.EncodeMsg(h.cfg.httpSubject(), ev)
		if err != nil {
			// EncodeMsg encodes every event Decode accepts (FuzzDecode
			// checks it), so this is our bug, not the client's.
			return nil, &apierr.Error{Kind: apierr.KindInternal, Message: "internal error", Err: err}
		}
		if n := router.MsgSize(msg); maxPayload > 0 && n > maxPayload {
			what := "event"
			if len(events) > 1 {
				what = fmt.Sprintf("batch event %d", i)
			}
			return nil, apierr.Errorf(apierr.KindTooLarge, "%s is %d bytes as stored, more than the NATS server's max payload of %d bytes", what, n, maxPayload)
		}
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

// storeAll publishes msgs, the encoded events, and answers 202, or the
// reason not.
func (h *HTTP) storeAll(w http.ResponseWriter, r *http.Request, events []cloudevents.Event, msgs []*nats.Msg) {
	accepted := make([]Accepted, 0, len(events))
	for i, ev := range events {
		ack, err := h.store(r.Context(), ev, msgs[i])
		if err != nil {
			ierr := storeError(err)
			if ierr.Kind == apierr.KindUnavailable {
				h.log.Warn("store event", "id", ev.ID(), "source", ev.Source(), "error", err)
			}
			writeError(w, ierr)
			return
		}
		h.log.Debug("event stored", "id", ev.ID(), "source", ev.Source(), "type", ev.Type(), "seq", ack.Sequence, "duplicate", ack.Duplicate)
		accepted = append(accepted, Accepted{ID: ev.ID(), Source: ev.Source(), Stream: ack.Stream, Seq: ack.Sequence, Duplicate: ack.Duplicate})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(struct {
		Accepted []Accepted `json:"accepted"`
	}{accepted})
}

func (h *HTTP) store(ctx context.Context, ev cloudevents.Event, msg *nats.Msg) (*jetstream.PubAck, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.PublishTimeout)
	defer cancel()
	ack, err := h.js.PublishMsg(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("publish event %s: %w", ev.ID(), err)
	}
	return ack, nil
}

// storeError maps a JetStream publish failure. Everything the request can
// cause is refused before publishing (Decode, encode), so what is left
// means the event is not stored and a retry may succeed (503). Too large
// for the server stays 413 in case the server's max payload shrank since
// encode read it.
func storeError(err error) *apierr.Error {
	if errors.Is(err, nats.ErrMaxPayload) {
		return &apierr.Error{Kind: apierr.KindTooLarge, Message: "event larger than the NATS server's max payload", Err: err}
	}
	return &apierr.Error{Kind: apierr.KindUnavailable, Message: "the event store is unavailable; retry later", Err: err, RetryAfter: 1}
}

// decode turns the request into validated events, or the reason not.
func (h *HTTP) decode(w http.ResponseWriter, r *http.Request) ([]cloudevents.Event, *apierr.Error) {
	if r.Method != http.MethodPost {
		return nil, apierr.Errorf(apierr.KindMethod, "method %s not allowed; POST CloudEvents", r.Method)
	}
	return DecodeRequest(w, r, h.cfg.MaxBodyBytes)
}

// DecodeRequest reads a CloudEvents HTTP binding request (binary,
// structured or batch mode) of at most maxBody bytes and returns its
// validated events, or the reason not as an error with its kind. It is the
// one HTTP decoder: the events endpoint and synchronous invoke both use it.
func DecodeRequest(w http.ResponseWriter, r *http.Request, maxBody int64) ([]cloudevents.Event, *apierr.Error) {
	mode, ierr := contentMode(r.Header)
	if ierr != nil {
		return nil, ierr
	}
	if r.ContentLength > maxBody {
		return nil, apierr.Errorf(apierr.KindTooLarge, "body of %d bytes exceeds the limit of %d", r.ContentLength, maxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apierr.Errorf(apierr.KindTooLarge, "body exceeds the limit of %d bytes", maxBody)
		}
		return nil, &apierr.Error{Kind: apierr.KindMalformed, Message: "read body: " + err.Error(), Err: err}
	}
	return Decode(mode, r.Header, body)
}

// IsCloudEvent reports whether a request with these headers claims to be a
// CloudEvent in the HTTP binding: a ce-specversion header (binary mode) or
// a Content-Type of the application/cloudevents family.
func IsCloudEvent(hdr http.Header) bool {
	mt, _, _ := mime.ParseMediaType(hdr.Get("Content-Type"))
	if strings.HasPrefix(mt, mediaFormats) {
		return true
	}
	_, ok := ceHeader(hdr, "specversion")
	return ok
}

// IsBatch reports whether the request's Content-Type is the batch format.
func IsBatch(hdr http.Header) bool {
	mt, _, _ := mime.ParseMediaType(hdr.Get("Content-Type"))
	return mt == mediaBatch
}

// Headers of the CloudEvents HTTP webhook spec's abuse protection.
const (
	HeaderWebhookRequestOrigin = "WebHook-Request-Origin"
	HeaderWebhookAllowedOrigin = "WebHook-Allowed-Origin"
	HeaderWebhookAllowedRate   = "WebHook-Allowed-Rate"
)

// WebhookOptions answers OPTIONS on the events endpoint. With a
// WebHook-Request-Origin header it is the CloudEvents HTTP webhook spec's
// validation handshake (abuse protection): 200, the origin echoed in
// WebHook-Allowed-Origin (the host accepts events from any sender that
// passes the API's auth, which the caller applies before this), and
// WebHook-Allowed-Rate "*" (the host sets no rate; JetStream and the
// body limit bound what it takes). A WebHook-Request-Callback is not
// called: the direct answer is the spec's synchronous form, and calling a
// URL a client names would let anyone make the host send requests.
// Without the header it is a plain OPTIONS (RFC 9110 §9.3.7): 200 with
// Allow and no CORS headers, since the webhook spec defines no meaning
// for it and HTTP defines this one.
func WebhookOptions(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", allowed)
	if origin := r.Header.Get(HeaderWebhookRequestOrigin); origin != "" {
		w.Header().Set(HeaderWebhookAllowedOrigin, origin)
		w.Header().Set(HeaderWebhookAllowedRate, "*")
	}
	w.WriteHeader(http.StatusOK)
}

// allowed is the Allow header of the events endpoint.
const allowed = "POST, OPTIONS"

// writeError sends e as {"error": {"code", "message"}}; a 405 names the
// methods allowed.
func writeError(w http.ResponseWriter, e *apierr.Error) {
	if e.Kind == apierr.KindMethod && len(e.Allow) == 0 {
		e.Allow = []string{http.MethodPost, http.MethodOptions}
	}
	apierr.Write(w, e)
}

// Mode is an HTTP binding content mode.
type Mode int

// The content modes.
const (
	ModeBinary Mode = iota + 1
	ModeStructured
	ModeBatch
)

// contentMode picks the content mode from the headers: a Content-Type in
// the application/cloudevents family is an event format (structured or
// batch; any other format is 415), else a ce-specversion header means
// binary mode, else the request is no CloudEvent (415).
func contentMode(hdr http.Header) (Mode, *apierr.Error) {
	ct := hdr.Get("Content-Type")
	mt, _, perr := mime.ParseMediaType(ct)
	if perr == nil && strings.HasPrefix(mt, mediaFormats) {
		switch mt {
		case mediaStructured:
			return ModeStructured, nil
		case mediaBatch:
			return ModeBatch, nil
		}
		return 0, apierr.Errorf(apierr.KindMediaType, "unknown event format %q; want %s or %s", mt, mediaStructured, mediaBatch)
	}
	if _, ok := ceHeader(hdr, "specversion"); ok {
		return ModeBinary, nil
	}
	return 0, apierr.Errorf(apierr.KindMediaType, "not a CloudEvent: no ce-specversion header (binary mode) and Content-Type %q is not %s or %s", ct, mediaStructured, mediaBatch)
}

// ceHeader finds a ce- header whatever the spelling of its name.
func ceHeader(hdr http.Header, attr string) ([]string, bool) {
	for name, vals := range hdr {
		if strings.EqualFold(name, "ce-"+attr) {
			return vals, true
		}
	}
	return nil, false
}

// Decode turns a request's headers and body in the given content mode into
// validated events. It is exported for the fuzz test and for callers that
// read the body themselves.
func Decode(mode Mode, hdr http.Header, body []byte) ([]cloudevents.Event, *apierr.Error) {
	var events []cloudevents.Event
	switch mode {
	case ModeBinary:
		ev, err := decodeBinary(hdr, body)
		if err != nil {
			return nil, err
		}
		events = []cloudevents.Event{ev}
	case ModeStructured:
		ev, err := decodeStructured(body)
		if err != nil {
			return nil, err
		}
		events = []cloudevents.Event{ev}
	case ModeBatch:
		var err *apierr.Error
		if events, err = decodeBatch(body); err != nil {
			return nil, err
		}
	default:
		return nil, apierr.Errorf(apierr.KindMediaType, "unknown content mode %d", mode)
	}
	for i := range events {
		// The same rule as the NATS binding's, on the decoded values.
		if err := router.CheckAttributes(&events[i]); err != nil {
			msg := err.Error()
			if mode == ModeBatch {
				msg = fmt.Sprintf("batch event %d: %s", i, msg)
			}
			return nil, &apierr.Error{Kind: apierr.KindMalformed, Message: msg, Err: err}
		}
	}
	return events, nil
}

// decodeBinary checks what sdk-go lets through — header names, repeated
// headers, percent-encoding and UTF-8 (router.DecodeHeaderValue, the rule
// the NATS binding applies too), ce-datacontenttype, the specversion —
// then lets sdk-go build the event and validates it.
func decodeBinary(hdr http.Header, body []byte) (cloudevents.Event, *apierr.Error) {
	clean := make(http.Header, len(hdr))
	for name, vals := range hdr {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "ce-") {
			clean[name] = vals
			continue
		}
		attr := lower[len("ce-"):]
		if !validAttrName(attr) {
			return cloudevents.Event{}, apierr.Errorf(apierr.KindMalformed, "header %s: attribute name %q must be 1 to 20 of a-z and 0-9", name, attr)
		}
		if attr == "datacontenttype" {
			if hdr.Get("Content-Type") != "" {
				return cloudevents.Event{}, apierr.Errorf(apierr.KindMalformed, "both Content-Type and ce-datacontenttype: binary mode carries datacontenttype in Content-Type only")
			}
			return cloudevents.Event{}, apierr.Errorf(apierr.KindMalformed, "ce-datacontenttype is not allowed in binary mode; send the data's media type as Content-Type")
		}
		if len(vals) != 1 {
			return cloudevents.Event{}, apierr.Errorf(apierr.KindMalformed, "header %s: given %d times, want once", name, len(vals))
		}
		v, err := router.DecodeHeaderValue(vals[0])
		if err != nil {
			return cloudevents.Event{}, apierr.Errorf(apierr.KindMalformed, "header %s: %v", name, err)
		}
		// Checked here too, not only in Decode, so that the reason names
		// the attribute where sdk-go would refuse it first (a control
		// character in ce-source is a URL parse error).
		if err := router.CheckAttribute(attr, v); err != nil {
			return cloudevents.Event{}, &apierr.Error{Kind: apierr.KindMalformed, Message: fmt.Sprintf("header %s: %v", name, err), Err: err}
		}
		// sdk-go reads attributes by canonical header name.
		clean[http.CanonicalHeaderKey(name)] = []string{v}
	}
	sv := clean.Get("Ce-Specversion")
	if sv != event.CloudEventsVersionV1 && sv != event.CloudEventsVersionV03 {
		return cloudevents.Event{}, apierr.Errorf(apierr.KindMalformed, "unknown specversion %q; want %s", sv, event.CloudEventsVersionV1)
	}
	if ct := clean.Get("Content-Type"); ct != "" {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			return cloudevents.Event{}, apierr.Errorf(apierr.KindMalformed, "Content-Type %q: %v", ct, err)
		}
	}
	msg := cehttp.NewMessage(clean, io.NopCloser(bytes.NewReader(body)))
	ev, err := binding.ToEvent(context.Background(), msg)
	if err != nil {
		return cloudevents.Event{}, &apierr.Error{Kind: apierr.KindMalformed, Message: "binary mode: " + err.Error(), Err: err}
	}
	if err := ev.Validate(); err != nil {
		return cloudevents.Event{}, &apierr.Error{Kind: apierr.KindMalformed, Message: "invalid event: " + err.Error(), Err: err}
	}
	if len(ev.DataEncoded) > 0 && ev.DataContentType() == "" {
		// The HTTP binding puts data in the body as is, its media type in
		// Content-Type (CloudEvents HTTP binding, §3.1.1); with no
		// Content-Type, HTTP (RFC 9110, §8.3) lets the recipient assume
		// application/octet-stream or sniff. CloudEvents' rule that data
		// without datacontenttype is JSON belongs to the JSON event format,
		// not to a binary-mode body. So the body is opaque bytes: stored
		// without a datacontenttype (nothing is guessed) as data_base64,
		// and a guest reads back exactly the bytes that were sent.
		ev.DataBase64 = true
	}
	return *ev, nil
}

// validAttrName is the CloudEvents attribute name rule, with the spec's
// recommended limit of 20 characters made a requirement.
func validAttrName(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// decodeStructured checks what sdk-go's JSON format lets through — invalid
// UTF-8, trailing bytes, member names (it accepts upper case and any length
// and lower-cases silently), data together with data_base64 — then lets
// sdk-go build the event and validates it.
func decodeStructured(body []byte) (cloudevents.Event, *apierr.Error) {
	var ev cloudevents.Event
	if !utf8.Valid(body) {
		return ev, apierr.Errorf(apierr.KindMalformed, "structured body is not valid UTF-8")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return ev, &apierr.Error{Kind: apierr.KindMalformed, Message: "structured body: want one JSON object: " + err.Error(), Err: err}
	}
	if ierr := checkMembers(members); ierr != nil {
		return ev, ierr
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, &apierr.Error{Kind: apierr.KindMalformed, Message: "structured body: " + err.Error(), Err: err}
	}
	if err := ev.Validate(); err != nil {
		return ev, &apierr.Error{Kind: apierr.KindMalformed, Message: "invalid event: " + err.Error(), Err: err}
	}
	router.ApplyJSONFormat(&ev)
	return ev, nil
}

func checkMembers(members map[string]json.RawMessage) *apierr.Error {
	sv, ok := members["specversion"]
	if !ok {
		return apierr.Errorf(apierr.KindMalformed, "invalid event: specversion: REQUIRED but MISSING")
	}
	var s string
	if err := json.Unmarshal(sv, &s); err != nil || (s != event.CloudEventsVersionV1 && s != event.CloudEventsVersionV03) {
		return apierr.Errorf(apierr.KindMalformed, "unknown specversion %s; want %q", sv, event.CloudEventsVersionV1)
	}
	_, data := members["data"]
	_, data64 := members["data_base64"]
	if data && data64 {
		return apierr.Errorf(apierr.KindMalformed, "structured body: both data and data_base64")
	}
	for name, raw := range members {
		if name == "data_base64" {
			continue
		}
		if !validAttrName(name) {
			return apierr.Errorf(apierr.KindMalformed, "structured body: attribute name %q must be 1 to 20 of a-z and 0-9", name)
		}
		// As in decodeBinary: name the attribute before sdk-go parses it.
		var v string
		if name != "data" && json.Unmarshal(raw, &v) == nil {
			if err := router.CheckAttribute(name, v); err != nil {
				return &apierr.Error{Kind: apierr.KindMalformed, Message: err.Error(), Err: err}
			}
		}
	}
	return nil
}

// decodeBatch decodes a JSON array of structured events; sdk-go's batch
// decoder neither validates the events nor refuses trailing bytes.
func decodeBatch(body []byte) ([]cloudevents.Event, *apierr.Error) {
	if !utf8.Valid(body) {
		return nil, apierr.Errorf(apierr.KindMalformed, "batch body is not valid UTF-8")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, &apierr.Error{Kind: apierr.KindMalformed, Message: "batch body: want a JSON array of events: " + err.Error(), Err: err}
	}
	events := make([]cloudevents.Event, 0, len(raws))
	for i, raw := range raws {
		ev, ierr := decodeStructured(raw)
		if ierr != nil {
			ierr.Message = fmt.Sprintf("batch event %d: %s", i, ierr.Message)
			return nil, ierr
		}
		events = append(events, ev)
	}
	return events, nil
}
