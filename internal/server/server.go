package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/apierr"
	"github.com/wasmfaas/wasmfaas/modules"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/store"
)

// Config configures the API.
type Config struct {
	// Token, when set, is required as "Authorization: Bearer <token>" on /v1.
	Token string
	// MaxBodyBytes bounds request bodies other than module uploads.
	MaxBodyBytes int64
	Logger       *slog.Logger
}

// Deps are the parts the API wires together.
type Deps struct {
	Host       *host.Host
	Modules    *modules.Registry
	Defs       store.Definitions
	Calls      store.CallLog
	Properties store.Properties
	// Events, if set, serves POST /v1/events (router/ingress).
	Events http.Handler
	// Routing, if set, delivers events to triggers: the server hands it
	// every trigger definition and serves its dead letters.
	Routing Routing
}

// Routing is what the server needs of the router.
type Routing interface {
	SetTriggers(ctx context.Context, triggers []router.Trigger) error
	ListDeadLetters(ctx context.Context, trigger string, limit int) ([]router.DeadLetter, error)
	GetDeadLetter(ctx context.Context, seq uint64) (router.DeadLetter, error)
	ReplayDeadLetter(ctx context.Context, seq uint64) (uint64, error)
}

// Server is the HTTP API. Create it with New, Load the stored functions,
// serve Handler, and Drain before shutdown.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	catalog *catalog
	mux     *http.ServeMux
	metrics *metrics

	ready    atomic.Bool
	inflight sync.WaitGroup
	draining atomic.Bool
}

// New returns a Server; it serves nothing until Load has run.
func New(cfg Config, deps Deps) *Server {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 8 << 20
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, deps: deps, log: log.With("component", "server"), mux: http.NewServeMux()}
	s.catalog = newCatalog(deps.Host, deps.Modules, deps.Defs)
	s.metrics = newMetrics(s.catalog)
	s.routes()
	return s
}

// Load makes every stored function live; the server is ready after it.
func (s *Server) Load(ctx context.Context) error {
	n, failed, err := s.catalog.load(ctx)
	if err != nil {
		return fmt.Errorf("load functions: %w", err)
	}
	for name, ferr := range failed {
		s.log.Warn("function not loaded", "function", name, "error", ferr)
	}
	s.log.Info("functions loaded", "count", n, "failed", len(failed))
	if err := s.syncTriggers(ctx); err != nil {
		return err
	}
	s.ready.Store(true)
	return nil
}

// syncTriggers hands every stored trigger to the router.
func (s *Server) syncTriggers(ctx context.Context) error {
	if s.deps.Routing == nil {
		return nil
	}
	docs, err := s.deps.Defs.List(ctx, kindTrigger)
	if err != nil {
		return fmt.Errorf("list triggers: %w", err)
	}
	triggers := make([]router.Trigger, 0, len(docs))
	for _, d := range docs {
		var t router.Trigger
		if err := json.Unmarshal(d.Data, &t); err != nil {
			s.log.Warn("trigger not loaded", "trigger", d.Name, "error", err)
			continue
		}
		triggers = append(triggers, t)
	}
	if err := s.deps.Routing.SetTriggers(ctx, triggers); err != nil {
		return fmt.Errorf("set triggers: %w", err)
	}
	return nil
}

// Invoke runs function on ev for the router (router.Invoker): the same
// path as a synchronous invoke, recorded the same way. The ids of the
// events it emits derive from trigger (host.WithEmitScope).
func (s *Server) Invoke(ctx context.Context, function, trigger string, ev cloudevents.Event, attempt int) (host.ExecutionInfo, error) {
	d, err := s.catalog.get(function)
	if err != nil {
		return host.ExecutionInfo{}, err
	}
	defer d.release(context.WithoutCancel(ctx))
	info := s.deps.Host.Invoke(ctx, d.fn, ev, host.WithAttempt(attempt), host.WithEmitScope(trigger))
	s.record(ctx, info, ev, trigger)
	return info, nil
}

// Drain refuses new invocations and waits for calls in flight until ctx
// is done, then retires every function.
func (s *Server) Drain(ctx context.Context) error {
	s.draining.Store(true)
	s.ready.Store(false)
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("drain: calls still in flight: %w", ctx.Err())
	}
	s.catalog.closeAll(context.WithoutCancel(ctx))
	return err
}

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

type handler func(w http.ResponseWriter, r *http.Request) error

// route registers path with one handler per method; other methods get 405
// with Allow, in the API's JSON error form.
func (s *Server) route(path string, auth bool, methods map[string]handler) {
	allow := make([]string, 0, len(methods))
	for m := range methods {
		allow = append(allow, m)
	}
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if auth && !s.authorized(r) {
			writeError(w, r, s.log, errorf(KindUnauthenticated, "missing or wrong bearer token"))
			return
		}
		h, ok := methods[r.Method]
		if !ok {
			writeError(w, r, s.log, &Error{Kind: KindMethod, Message: fmt.Sprintf("%s is not allowed on %s", r.Method, path), Allow: allow})
			return
		}
		if err := h(w, r); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				err = errorf(KindTooLarge, "request body over %d bytes", mbe.Limit)
			}
			writeError(w, r, s.log, err)
		}
	})
}

func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) == 1
}

func (s *Server) routes() {
	s.route("/v1/modules", true, map[string]handler{"GET": s.listModules, "POST": s.uploadModule})
	s.route("/v1/modules/{digest}", true, map[string]handler{"GET": s.getModule, "DELETE": s.deleteModule})
	s.route("/v1/functions", true, map[string]handler{"GET": s.listFunctions})
	s.route("/v1/functions/{name}", true, map[string]handler{"GET": s.getFunction, "PUT": s.putFunction, "DELETE": s.deleteFunction})
	s.route("/v1/functions/{name}/revisions", true, map[string]handler{"GET": s.functionRevisions})
	s.route("/v1/functions/{name}/rollback", true, map[string]handler{"POST": s.rollbackFunction})
	s.route("/v1/functions/{name}/invoke", true, map[string]handler{"POST": s.invoke})
	s.route("/v1/triggers", true, map[string]handler{"GET": s.listTriggers})
	s.route("/v1/triggers/{name}", true, map[string]handler{"GET": s.getTrigger, "PUT": s.putTrigger, "DELETE": s.deleteTrigger})
	s.route("/v1/calls", true, map[string]handler{"GET": s.listCalls})
	s.route("/v1/calls/{id}", true, map[string]handler{"GET": s.getCall})
	s.route("/v1/subjects/{subject}/properties", true, map[string]handler{"GET": s.subjectProperties})
	if s.deps.Events != nil {
		events := s.deps.Events
		s.route("/v1/events", true, map[string]handler{"POST": func(w http.ResponseWriter, r *http.Request) error {
			events.ServeHTTP(w, r)
			return nil
		}})
	}
	s.route("/v1/deadletters", true, map[string]handler{"GET": s.listDeadLetters})
	s.route("/v1/deadletters/{seq}", true, map[string]handler{"GET": s.getDeadLetter})
	s.route("/v1/deadletters/{seq}/replay", true, map[string]handler{"POST": s.replayDeadLetter})
	s.route("/healthz", false, map[string]handler{"GET": func(w http.ResponseWriter, _ *http.Request) error {
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}})
	s.route("/readyz", false, map[string]handler{"GET": func(w http.ResponseWriter, _ *http.Request) error {
		if !s.ready.Load() {
			return errorf(KindUnavailable, "not ready")
		}
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}})
	s.mux.Handle("/metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, errorf(KindNotFound, "no route for %s", r.URL.Path))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// decodeJSON reads a JSON body, strictly, within the size limit.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/json" {
			return errorf(KindMediaType, "content type %q: want application/json", ct)
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		var inv interface{ Unwrap() error }
		if errors.As(err, &inv) && (errors.Is(err, router.ErrInvalidFilter) || errors.Is(err, router.ErrInvalidTrigger)) {
			return &Error{Kind: KindInvalid, Message: err.Error(), Err: err}
		}
		return errorf(KindMalformed, "request body: %v", err)
	}
	return nil
}

// --- modules

func (s *Server) uploadModule(w http.ResponseWriter, r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/wasm" && mt != "application/octet-stream" {
			return errorf(KindMediaType, "content type %q: upload a module as application/wasm", ct)
		}
	}
	limit := s.deps.Modules.MaxSize()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return err
	}
	mf, err := s.deps.Modules.Upload(r.Context(), body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, mf)
}

func (s *Server) listModules(w http.ResponseWriter, r *http.Request) error {
	list, err := s.deps.Modules.List(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"modules": list})
}

func (s *Server) getModule(w http.ResponseWriter, r *http.Request) error {
	mf, err := s.deps.Modules.Get(r.Context(), r.PathValue("digest"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, mf)
}

func (s *Server) deleteModule(w http.ResponseWriter, r *http.Request) error {
	digest := r.PathValue("digest")
	if err := s.deps.Modules.Delete(r.Context(), digest, s.catalog.usedBy(digest)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- functions

func (s *Server) listFunctions(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{"functions": s.catalog.list()})
}

func (s *Server) getFunction(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkName("function", name); err != nil {
		return err
	}
	d, err := s.catalog.get(name)
	if err != nil {
		return err
	}
	defer d.release(r.Context())
	info := d.info
	st := d.fn.Stats()
	info.Stats = &st
	return writeJSON(w, http.StatusOK, info)
}

func (s *Server) putFunction(w http.ResponseWriter, r *http.Request) error {
	var spec FunctionSpec
	if err := s.decodeJSON(w, r, &spec); err != nil {
		return err
	}
	info, err := s.catalog.put(r.Context(), r.PathValue("name"), spec)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

func (s *Server) deleteFunction(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkName("function", name); err != nil {
		return err
	}
	if err := s.catalog.delete(r.Context(), name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) functionRevisions(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkName("function", name); err != nil {
		return err
	}
	revs, err := s.catalog.revisions(r.Context(), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"revisions": revs})
}

func (s *Server) rollbackFunction(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkName("function", name); err != nil {
		return err
	}
	var req struct {
		Revision uint64 `json:"revision"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	info, err := s.catalog.rollback(r.Context(), name, req.Revision)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

// --- triggers

func (s *Server) putTrigger(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkName("trigger", name); err != nil {
		return err
	}
	var t router.Trigger
	if err := s.decodeJSON(w, r, &t); err != nil {
		return err
	}
	if t.Name != "" && t.Name != name {
		return errorf(KindMalformed, "trigger name %q in the body differs from %q in the path", t.Name, name)
	}
	t.Name = name
	if err := t.Normalize(); err != nil {
		return err
	}
	if err := checkName("function", t.Function); err != nil {
		return err
	}
	if _, err := s.deps.Defs.Get(r.Context(), kindFunction, t.Function); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(KindInvalid, "trigger %s: function %s does not exist", name, t.Function)
		}
		return err
	}
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	doc, err := s.deps.Defs.Put(r.Context(), kindTrigger, name, data, -1)
	if err != nil {
		return err
	}
	if err := s.syncTriggers(r.Context()); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"trigger": t, "revision": doc.Revision, "updated": doc.Updated})
}

func (s *Server) getTrigger(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkName("trigger", name); err != nil {
		return err
	}
	doc, err := s.deps.Defs.Get(r.Context(), kindTrigger, name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"trigger": doc.Data, "revision": doc.Revision, "updated": doc.Updated})
}

func (s *Server) listTriggers(w http.ResponseWriter, r *http.Request) error {
	docs, err := s.deps.Defs.List(r.Context(), kindTrigger)
	if err != nil {
		return err
	}
	out := make([]json.RawMessage, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.Data)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"triggers": out})
}

func (s *Server) deleteTrigger(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkName("trigger", name); err != nil {
		return err
	}
	if err := s.deps.Defs.Delete(r.Context(), kindTrigger, name); err != nil {
		return err
	}
	if err := s.syncTriggers(r.Context()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- invoke

// Response headers of an invoke.
const (
	HeaderCallID = "Wasmfaas-Call-Id"
	HeaderStatus = "Wasmfaas-Status"
)

// invoke runs the function synchronously. The response is the function's
// result with its content type, the call id and status in headers; with
// ?output=info it is the ExecutionInfo. Outcomes map to statuses: ok 200,
// rejected 422 (429 with Retry-After when overloaded), timeout 504,
// error and trap 502: the function failed, not the caller and not the host.
func (s *Server) invoke(w http.ResponseWriter, r *http.Request) error {
	if s.draining.Load() {
		return &Error{Kind: KindUnavailable, Message: "the server is shutting down", RetryAfter: 1}
	}
	s.inflight.Add(1)
	defer s.inflight.Done()
	name := r.PathValue("name")
	if err := checkName("function", name); err != nil {
		return err
	}
	d, err := s.catalog.get(name)
	if err != nil {
		return err
	}
	defer d.release(context.WithoutCancel(r.Context()))
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	ev, err := s.eventFromRequest(r)
	if err != nil {
		return err
	}
	info := s.deps.Host.Invoke(r.Context(), d.fn, *ev)
	s.record(r.Context(), info, *ev, "")

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
		body.Error.Code, body.Error.Message = Kind("function_"+string(info.Status)), info.Error.Kind+": "+info.Error.Message
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

// eventFromRequest reads a CloudEvent in the HTTP binding's binary or
// structured mode, or plain data, for which the host fills id, source and
// type (?type= and ?subject= set those).
func (s *Server) eventFromRequest(r *http.Request) (*cloudevents.Event, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if r.Header.Get("Ce-Specversion") != "" || strings.HasPrefix(mt, "application/cloudevents") {
		if mt == "application/cloudevents-batch+json" {
			return nil, errorf(KindMediaType, "invoke takes one event; batches go to /v1/events")
		}
		ev, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, errorf(KindMalformed, "malformed CloudEvent: %v", err)
		}
		if err := ev.Validate(); err != nil {
			return nil, errorf(KindMalformed, "invalid CloudEvent: %v", err)
		}
		return ev, nil
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
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
		if ct == "" {
			ct = "application/octet-stream"
			if json.Valid(data) {
				ct = "application/json"
			}
		}
		if err := ev.SetData(ct, data); err != nil {
			return nil, errorf(KindMalformed, "data: %v", err)
		}
	}
	if err := ev.Validate(); err != nil {
		return nil, errorf(KindMalformed, "invalid event: %v", err)
	}
	return &ev, nil
}

// record writes the call to the call log and the log: the ExecutionInfo is
// the wide event of the call (from ucam_faas). The call log entry is also the
// call's execution event (store.Call.Event), about the subject of ev, the
// event that caused the call, one hop further than ev so that functions
// reacting to each other's executions stop at router.MaxHops.
func (s *Server) record(ctx context.Context, info host.ExecutionInfo, ev cloudevents.Event, trigger string) {
	s.metrics.observe(info)
	s.log.Info("call", "call", info)
	if s.deps.Calls == nil {
		return
	}
	rec, err := json.Marshal(info)
	if err != nil {
		s.log.Error("encode call", "call_id", info.CallID, "error", err)
		return
	}
	c := store.Call{
		ID: info.CallID, Function: info.Function, Status: string(info.Status), Start: info.Start, Record: rec,
		Subject: ev.Subject(),
		Extensions: map[string]string{
			store.ExtAttempt:     strconv.Itoa(max(info.Attempt, 1)),
			router.ExtHops:       strconv.Itoa(router.Hops(ev) + 1),
			store.ExtCauseID:     ev.ID(),
			store.ExtCauseSource: ev.Source(),
		},
	}
	if trigger != "" {
		c.Extensions[store.ExtTrigger] = trigger
	}
	if info.Error != nil && info.Error.Kind != "" {
		c.Extensions[store.ExtErrorKind] = info.Error.Kind
	}
	actx := context.WithoutCancel(ctx)
	err = s.deps.Calls.Append(actx, c)
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrTooLarge) {
		// A subject or event id no CloudEvents attribute can carry (a
		// control character, over store's limits) must not cost the call
		// its record; the ExecutionInfo keeps them in full. Retrying on
		// the error, rather than checking first, keeps the check to one
		// pass over the record on the hot path.
		c.Subject = ""
		delete(c.Extensions, store.ExtCauseID)
		delete(c.Extensions, store.ExtCauseSource)
		err = s.deps.Calls.Append(actx, c)
	}
	if err != nil {
		s.log.Warn("call not recorded in the call log", "call_id", info.CallID, "error", err)
	}
}

// --- read APIs

func (s *Server) getCall(w http.ResponseWriter, r *http.Request) error {
	if s.deps.Calls == nil {
		return errorf(KindNotFound, "no call log")
	}
	c, err := s.deps.Calls.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(c.Record)
	return err
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) error {
	if s.deps.Calls == nil {
		return writeJSON(w, http.StatusOK, map[string]any{"calls": []json.RawMessage{}})
	}
	q := r.URL.Query()
	f := store.CallFilter{Function: q.Get("function"), Status: q.Get("status")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return errorf(KindMalformed, "limit %q: want a positive integer", l)
		}
		f.Limit = n
	}
	calls, err := s.deps.Calls.List(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]json.RawMessage, 0, len(calls))
	for _, c := range calls {
		out = append(out, c.Record)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"calls": out})
}

func (s *Server) subjectProperties(w http.ResponseWriter, r *http.Request) error {
	subject := r.PathValue("subject")
	props, err := s.deps.Properties.List(r.Context(), subject)
	if err != nil {
		return err
	}
	ext, err := s.deps.Properties.Extended(r.Context(), subject)
	if err != nil {
		return err
	}
	type prop struct {
		Value    json.RawMessage `json:"value"`
		Revision uint64          `json:"revision"`
	}
	out := make(map[string]prop, len(props))
	for k, p := range props {
		out[k] = prop{Value: p.Value, Revision: p.Revision}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"subject": subject, "properties": out, "extended": ext})
}

// --- metrics

type metrics struct {
	reg      *prometheus.Registry
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(c *catalog) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmfaas_calls_total", Help: "Calls by function and status.",
		}, []string{"function", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wasmfaas_call_duration_seconds", Help: "Call duration by function.",
			Buckets: []float64{0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10},
		}, []string{"function"}),
	}
	m.reg.MustRegister(m.calls, m.duration, &poolCollector{c: c},
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(info host.ExecutionInfo) {
	m.calls.WithLabelValues(info.Function, string(info.Status)).Inc()
	m.duration.WithLabelValues(info.Function).Observe(info.Duration().Seconds())
}

// poolCollector reads the pools' counters at scrape time.
type poolCollector struct{ c *catalog }

var (
	descWarm  = prometheus.NewDesc("wasmfaas_instances_warm", "Idle instances ready for a call.", []string{"function"}, nil)
	descBusy  = prometheus.NewDesc("wasmfaas_instances_busy", "Calls holding an instance.", []string{"function"}, nil)
	descWaits = prometheus.NewDesc("wasmfaas_pool_waits_total", "Calls that waited for a free instance.", []string{"function"}, nil)
)

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descWarm
	ch <- descBusy
	ch <- descWaits
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range p.c.list() {
		st := f.Stats
		ch <- prometheus.MustNewConstMetric(descWarm, prometheus.GaugeValue, float64(max(st.Instances-st.Busy, 0)), f.Name)
		ch <- prometheus.MustNewConstMetric(descBusy, prometheus.GaugeValue, float64(st.Busy), f.Name)
		ch <- prometheus.MustNewConstMetric(descWaits, prometheus.CounterValue, float64(st.Waits), f.Name)
	}
}

// --- dead letters

func (s *Server) routing() (Routing, error) {
	if s.deps.Routing == nil {
		return nil, errorf(KindNotFound, "event routing is not running")
	}
	return s.deps.Routing, nil
}

func seqParam(r *http.Request) (uint64, error) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		return 0, errorf(KindMalformed, "dead letter %q: want a positive sequence number", r.PathValue("seq"))
	}
	return seq, nil
}

func (s *Server) listDeadLetters(w http.ResponseWriter, r *http.Request) error {
	rt, err := s.routing()
	if err != nil {
		return err
	}
	limit := 100
	if l := r.URL.Query().Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 {
			return errorf(KindMalformed, "limit %q: want a positive integer", l)
		}
	}
	dls, err := rt.ListDeadLetters(r.Context(), r.URL.Query().Get("trigger"), limit)
	if err != nil {
		return err
	}
	if dls == nil {
		dls = []router.DeadLetter{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"deadletters": dls})
}

func (s *Server) getDeadLetter(w http.ResponseWriter, r *http.Request) error {
	rt, err := s.routing()
	if err != nil {
		return err
	}
	seq, err := seqParam(r)
	if err != nil {
		return err
	}
	dl, err := rt.GetDeadLetter(r.Context(), seq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, dl)
}

func (s *Server) replayDeadLetter(w http.ResponseWriter, r *http.Request) error {
	rt, err := s.routing()
	if err != nil {
		return err
	}
	seq, err := seqParam(r)
	if err != nil {
		return err
	}
	newSeq, err := rt.ReplayDeadLetter(r.Context(), seq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"replayed": seq, "event_seq": newSeq})
}
