package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/apierr"
	"github.com/wasmfaas/wasmfaas/router"
)

// HTTP triggers: functions that serve paths. Each trigger with a Route is
// a pattern of an http.ServeMux under the routes prefix, rebuilt when the
// set of HTTP triggers changes. A request becomes a CloudEvent (see
// requestEvent; docs/HTTP.md), the function runs synchronously through the
// call path, and its result is the response: the status, headers and body
// the guest set. The routes are public, as a function's own API: the API
// token guards /v1, not them.

// DefaultRoutesPrefix is where HTTP triggers are served.
const DefaultRoutesPrefix = "/fn/"

// routeHeaders are the request headers a route's event carries, as
// extensions (name lower-cased, without dashes, "http" first).
var routeHeaders = []string{"Accept", "Authorization", "Cookie", "User-Agent", "X-Request-Id"}

// routeTable is the mux of one version of the HTTP triggers.
type routeTable struct {
	version uint64
	mux     *http.ServeMux
	methods map[string][]string // path pattern -> methods, for 405's Allow
}

type routes struct {
	s      *Server
	prefix string // "/fn"
	mu     sync.Mutex
	table  *routeTable
}

// muxPattern is a route's pattern in the table's mux, under the prefix.
func (rs *routes) muxPattern(method, path string) string {
	p := rs.prefix + path
	if method == "" {
		return p
	}
	return method + " " + p
}

// current returns the table of the current HTTP triggers, rebuilding it
// when they changed. A route that conflicts with another (two hosts
// stored them at once) is left out and logged.
func (rs *routes) current() *routeTable {
	snap := rs.s.deps.Triggers.Routes()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.table != nil && rs.table.version == snap.Version {
		return rs.table
	}
	t := &routeTable{version: snap.Version, mux: http.NewServeMux(), methods: map[string][]string{}}
	for _, tr := range snap.Triggers {
		method, path, _, err := router.ParseRoute(tr.Route)
		if err != nil {
			continue // Triggers validated it
		}
		if err := register(t.mux, rs.muxPattern(method, path), rs.handler(tr)); err != nil {
			rs.s.log.Warn("HTTP trigger not served: its route conflicts with another", "trigger", tr.Name, "route", tr.Route, "error", err)
			continue
		}
		t.methods[path] = append(t.methods[path], method)
	}
	rs.table = t
	return t
}

// register adds pattern to mux, returning ServeMux's conflict panic as an
// error.
func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// checkRoute refuses a route that conflicts with another trigger's, as
// ServeMux judges it (the same method and path, or two patterns that
// match the same requests with neither more specific).
func (rs *routes) checkRoute(ctx context.Context, name string, t router.Trigger) error {
	if t.Route == "" {
		return nil
	}
	method, path, _, err := router.ParseRoute(t.Route)
	if err != nil {
		return nil // Put refuses it with the reason
	}
	list, _, err := rs.s.deps.Triggers.List(ctx)
	if err != nil {
		return err
	}
	pattern := rs.muxPattern(method, path)
	if err := register(http.NewServeMux(), pattern, http.NotFoundHandler()); err != nil {
		return apierr.Errorf(apierr.KindInvalid, "trigger %s: route %q: %v", name, t.Route, err)
	}
	for _, o := range list {
		if o.Route == "" || o.Name == name {
			continue
		}
		om, op, _, err := router.ParseRoute(o.Route)
		if err != nil {
			continue
		}
		probe := http.NewServeMux()
		_ = register(probe, rs.muxPattern(om, op), http.NotFoundHandler())
		if err := register(probe, pattern, http.NotFoundHandler()); err != nil {
			return apierr.Errorf(apierr.KindConflict, "trigger %s: route %q conflicts with trigger %s's route %q", name, t.Route, o.Name, o.Route)
		}
	}
	return nil
}

// ServeHTTP serves the routes prefix.
func (rs *routes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := rs.current()
	if _, pattern := t.mux.Handler(r); pattern != "" {
		t.mux.ServeHTTP(w, r) // sets the path values
		return
	}
	// No route matched: 405 with Allow if the path has routes for other
	// methods, 404 otherwise, in the API's JSON error form.
	var allow []string
	for path, methods := range t.methods {
		probe := http.NewServeMux()
		_ = register(probe, rs.prefix+path, http.NotFoundHandler())
		if _, p := probe.Handler(r); p != "" {
			for _, m := range methods {
				if m == "" {
					m = "*"
				}
				allow = append(allow, m)
			}
		}
	}
	if len(allow) > 0 {
		slices.Sort(allow)
		writeError(w, r, rs.s.log, &apierr.Error{Kind: apierr.KindMethod, Message: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path), Allow: slices.Compact(allow)})
		return
	}
	writeError(w, r, rs.s.log, apierr.Errorf(apierr.KindNotFound, "no HTTP trigger serves %s %s", r.Method, r.URL.Path))
}

// handler serves one HTTP trigger.
func (rs *routes) handler(t router.Trigger) http.Handler {
	_, _, params, _ := router.ParseRoute(t.Route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := rs.serve(w, r, t, params); err != nil {
			writeError(w, r, rs.s.log, err)
		}
	})
}

func (rs *routes) serve(w http.ResponseWriter, r *http.Request, t router.Trigger, params []string) error {
	ev, err := rs.requestEvent(w, r, t, params)
	if err != nil {
		return err
	}
	ctx, end := serverSpan(r, &ev, "route "+t.Name)
	defer end()
	info, err := rs.s.deps.Functions.Invoke(ctx, t.Function, t.Name, ev, 1)
	if info.CallID != "" {
		w.Header().Set(HeaderCallID, info.CallID)
	}
	if err != nil {
		return err
	}
	w.Header().Set(HeaderStatus, string(info.Status))
	if info.Status != host.StatusOK {
		return routeFailure(w, info)
	}
	status := http.StatusOK
	if info.Result != nil && info.Result.Status != 0 {
		status = info.Result.Status
	}
	if info.Result == nil {
		if status == http.StatusOK {
			status = http.StatusNoContent
		}
		w.WriteHeader(status)
		return nil
	}
	h := w.Header()
	h.Set("Content-Type", info.Result.ContentType)
	for _, hd := range info.Result.Headers {
		if strings.EqualFold(hd.Name, "Content-Type") {
			h.Set("Content-Type", hd.Value)
			continue
		}
		h.Add(hd.Name, hd.Value)
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(info.Result.Body)
	return err
}

// routeFailure answers a call that did not end ok: the caller's mistake
// (rejected) is 400, overload 429 with Retry-After, a timeout 504, and a
// failed function (error, trap, a bad status or header) 500; the body
// names the call, whose ExecutionInfo has the rest. Never a stack trace.
func routeFailure(w http.ResponseWriter, info host.ExecutionInfo) error {
	status := http.StatusInternalServerError
	kind, msg := string(info.Status), ""
	if info.Error != nil {
		kind, msg = info.Error.Kind, info.Error.Message
	}
	switch {
	case info.Status == host.StatusRejected && kind == "overloaded":
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", "1")
	case info.Status == host.StatusRejected:
		status = http.StatusBadRequest
	case info.Status == host.StatusTimeout:
		status = http.StatusGatewayTimeout
	}
	body := map[string]any{"error": map[string]string{"code": "function_" + string(info.Status), "kind": kind, "message": msg}, "call_id": info.CallID}
	if status == http.StatusInternalServerError && info.Status == host.StatusTrap {
		// A trap's message can quote the guest's stderr; the call log has it.
		body["error"] = map[string]string{"code": "function_trap", "kind": kind, "message": "the function trapped; see call " + info.CallID}
	}
	return writeJSON(w, status, body)
}

// requestEvent is the CloudEvent of a route's request (docs/HTTP.md).
func (rs *routes) requestEvent(w http.ResponseWriter, r *http.Request, t router.Trigger, params []string) (cloudevents.Event, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rs.s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return cloudevents.Event{}, err
		}
		return cloudevents.Event{}, apierr.Errorf(apierr.KindMalformed, "read body: %v", err)
	}
	path := strings.TrimPrefix(r.URL.Path, rs.prefix)
	ev := cloudevents.NewEvent()
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 128 {
		id = uuid.NewString()
	}
	ev.SetID(id)
	ev.SetSource("wasmfaas/routes/" + t.Name)
	ev.SetType(router.RouteType)
	ev.SetSubject(path)
	ev.SetExtension(router.ExtHTTPMethod, r.Method)
	ev.SetExtension(router.ExtHTTPPath, path)
	ev.SetExtension(router.ExtHTTPRoute, t.Route)
	if r.URL.RawQuery != "" {
		ev.SetExtension(router.ExtHTTPQuery, r.URL.RawQuery)
	}
	for _, p := range params {
		ev.SetExtension(router.ExtParamPrefix+p, r.PathValue(p))
	}
	for _, name := range routeHeaders {
		if v := r.Header.Get(name); v != "" {
			ev.SetExtension("http"+strings.ToLower(strings.ReplaceAll(name, "-", "")), v)
		}
	}
	if len(data) > 0 {
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			ct = "application/octet-stream"
		}
		ev.SetDataContentType(ct)
		ev.DataEncoded = data
	}
	if err := router.CheckAttributes(&ev); err != nil {
		return ev, apierr.Errorf(apierr.KindMalformed, "the request cannot be a CloudEvent: %v", err)
	}
	return ev, nil
}
