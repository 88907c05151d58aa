package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wasmfaas/wasmfaas/internal/apierr"
	"github.com/wasmfaas/wasmfaas/internal/functions"
	"github.com/wasmfaas/wasmfaas/modules"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/store"
)

// Config configures the API.
type Config struct {
	// Token, when set, is required as "Authorization: Bearer <token>" on /v1
	// and /metrics.
	Token string
	// MetricsPublic serves /metrics without the token: the caller sets it
	// for a loopback listener, or when the operator asks for it (the
	// metrics name every function).
	MetricsPublic bool
	// MaxBodyBytes bounds request bodies other than module uploads.
	MaxBodyBytes int64
	// RoutesPrefix is where HTTP triggers are served (DefaultRoutesPrefix
	// if empty); it must not be /v1/ or a path the API serves.
	RoutesPrefix string
	// StreamBuffer and StreamBufferBytes bound what the call stream
	// (GET /v1/calls/stream) queues for one client, in calls and in
	// record bytes; beyond them calls are dropped for that client and it
	// is told how many. DefaultStreamBuffer and DefaultStreamBufferBytes
	// if zero.
	StreamBuffer      int
	StreamBufferBytes int64
	// StreamHeartbeat is how often an idle call stream sends a comment
	// line, so proxies and clients see it alive; DefaultStreamHeartbeat
	// if zero.
	StreamHeartbeat time.Duration
	Logger          *slog.Logger
}

// Deps are the parts the API maps requests to.
type Deps struct {
	Functions *functions.Catalog
	Triggers  *functions.Triggers
	Modules   *modules.Registry
	// Calls serves the call log; nil answers with no calls.
	Calls      store.CallLog
	Properties store.Properties
	// Events, if set, serves POST and OPTIONS /v1/events (router/ingress).
	Events http.Handler
	// DeadLetters, if set, serves the dead letters of trigger delivery.
	DeadLetters DeadLetters
	// LostData names the streams and buckets in which JetStream found
	// damaged data at start, with what was lost; /readyz reports it.
	LostData map[string]string
	// History, if set, serves the property-changed events kept by the
	// store (GET /v1/properties/history).
	History store.PropertyHistory
	// Console, if set, serves every path outside /v1 that no API route
	// takes: the web console (internal/console). Unknown /v1 paths keep
	// the API's JSON 404.
	Console http.Handler
}

// DeadLetters is what the server needs of the router.
type DeadLetters interface {
	ListDeadLetters(ctx context.Context, trigger string, limit int) ([]router.DeadLetter, error)
	GetDeadLetter(ctx context.Context, seq uint64) (router.DeadLetter, error)
	ReplayDeadLetter(ctx context.Context, seq uint64) (uint64, error)
}

// Server is the HTTP API. It answers /readyz with 503 until SetReady.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	reg     *prometheus.Registry
	ready   atomic.Bool
	// streams is cancelled by CloseStreams, ending every call stream.
	streams      context.Context
	closeStreams context.CancelFunc

	fnRoutes *routes
}

// New returns the API over deps.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Functions == nil || deps.Triggers == nil || deps.Modules == nil || deps.Properties == nil {
		return nil, errors.New("new server: functions, triggers, modules and properties are required")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 8 << 20
	}
	if cfg.StreamBuffer <= 0 {
		cfg.StreamBuffer = DefaultStreamBuffer
	}
	if cfg.StreamBufferBytes <= 0 {
		cfg.StreamBufferBytes = DefaultStreamBufferBytes
	}
	if cfg.StreamHeartbeat <= 0 {
		cfg.StreamHeartbeat = DefaultStreamHeartbeat
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.RoutesPrefix == "" {
		cfg.RoutesPrefix = DefaultRoutesPrefix
	}
	prefix := "/" + strings.Trim(cfg.RoutesPrefix, "/") + "/"
	if prefix == "//" || prefix == "/v1/" || prefix == "/metrics/" || prefix == "/healthz/" || prefix == "/readyz/" {
		return nil, fmt.Errorf("new server: routes prefix %q would shadow the API", cfg.RoutesPrefix)
	}
	cfg.RoutesPrefix = prefix
	s := &Server{cfg: cfg, deps: deps, log: log.With("component", "server"), mux: http.NewServeMux(), reg: prometheus.NewRegistry()}
	s.fnRoutes = &routes{s: s, prefix: strings.TrimSuffix(prefix, "/")}
	s.streams, s.closeStreams = context.WithCancel(context.Background())
	s.reg.MustRegister(deps.Functions.Collectors()...)
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.routes()
	// A browser's cross-site request that changes state (a form posted
	// from another site to invoke, roll back or replay) is refused, told
	// by Sec-Fetch-Site or by an Origin that is not this host. Clients
	// that are not browsers send neither header and pass; so do the
	// console's own fetch calls, which are same-origin.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, apierr.Errorf(apierr.KindForbidden, "cross-origin %s refused: state-changing requests must come from this host's own pages or from a non-browser client", r.Method))
	}))
	protected := cop.Handler(s.mux)
	// HTTP triggers are functions' own public endpoints: whether another
	// site may post to them is the function's business, as for any API.
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, s.cfg.RoutesPrefix) {
			s.mux.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	})
	return s, nil
}

// CloseStreams ends every call stream (GET /v1/calls/stream), which
// otherwise lasts as long as its client: http.Server.Shutdown waits for
// them (register it with RegisterOnShutdown).
func (s *Server) CloseStreams() { s.closeStreams() }

// SetReady says whether the host is ready for traffic (/readyz).
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

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
			writeError(w, r, s.log, apierr.Errorf(apierr.KindUnauthenticated, "missing or wrong bearer token"))
			return
		}
		h, ok := methods[r.Method]
		if !ok {
			writeError(w, r, s.log, &apierr.Error{Kind: apierr.KindMethod, Message: fmt.Sprintf("%s is not allowed on %s", r.Method, path), Allow: allow})
			return
		}
		if err := h(w, r); err != nil {
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
	s.route("/v1/calls/stream", true, map[string]handler{"GET": s.streamCalls})
	s.route("/v1/calls/{id}", true, map[string]handler{"GET": s.getCall})
	s.route("/v1/subjects/{subject}/properties", true, map[string]handler{"GET": s.subjectProperties})
	s.route("/v1/properties/history", true, map[string]handler{"GET": s.propertyHistory})
	if s.deps.Events != nil {
		events := s.deps.Events
		serve := func(w http.ResponseWriter, r *http.Request) error {
			events.ServeHTTP(w, r)
			return nil
		}
		// OPTIONS is the webhook handshake (ingress.WebhookOptions), behind
		// the same token as POST.
		s.route("/v1/events", true, map[string]handler{"POST": serve, "OPTIONS": serve})
	}
	s.route("/v1/deadletters", true, map[string]handler{"GET": s.listDeadLetters})
	s.route("/v1/deadletters/{seq}", true, map[string]handler{"GET": s.getDeadLetter})
	s.route("/v1/deadletters/{seq}/replay", true, map[string]handler{"POST": s.replayDeadLetter})
	s.route("/healthz", false, map[string]handler{"GET": func(w http.ResponseWriter, _ *http.Request) error {
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}})
	s.route("/readyz", false, map[string]handler{"GET": s.readyz})
	metrics := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
	s.route("/metrics", !s.cfg.MetricsPublic, map[string]handler{"GET": func(w http.ResponseWriter, r *http.Request) error {
		metrics.ServeHTTP(w, r)
		return nil
	}})
	s.mux.Handle(s.cfg.RoutesPrefix, s.fnRoutes)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.deps.Console != nil && r.URL.Path != "/v1" && !strings.HasPrefix(r.URL.Path, "/v1/") {
			s.deps.Console.ServeHTTP(w, r)
			return
		}
		writeError(w, r, s.log, apierr.Errorf(apierr.KindNotFound, "no route for %s", r.URL.Path))
	})
}

// readyz answers 200 once the host is ready, naming the stored triggers
// that are not delivered because their definitions no longer validate.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) error {
	if !s.ready.Load() || s.deps.Functions.Draining() {
		return apierr.Errorf(apierr.KindUnavailable, "not ready")
	}
	body := map[string]any{"status": "ready"}
	reasons := func(m map[string]error) map[string]string {
		out := make(map[string]string, len(m))
		for name, err := range m {
			out[name] = err.Error()
		}
		return out
	}
	// Stored definitions that no longer load do not keep the host down:
	// it serves the rest, says "degraded" and names each with its reason.
	if invalid := s.deps.Triggers.Invalid(); len(invalid) > 0 {
		body["status"], body["invalid_triggers"] = "degraded", reasons(invalid)
	}
	if unloaded := s.deps.Functions.Unloaded(); len(unloaded) > 0 {
		body["status"], body["unloaded_functions"] = "degraded", reasons(unloaded)
	}
	if len(s.deps.LostData) > 0 {
		body["status"], body["lost_data"] = "degraded", s.deps.LostData
	}
	return writeJSON(w, http.StatusOK, body)
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
			return apierr.Errorf(apierr.KindMediaType, "content type %q: want application/json", ct)
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, router.ErrInvalidFilter) || errors.Is(err, router.ErrInvalidTrigger) {
			return &apierr.Error{Kind: apierr.KindInvalid, Message: err.Error(), Err: err}
		}
		return apierr.Errorf(apierr.KindMalformed, "request body: %v", err)
	}
	return nil
}
