package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/console"
	"github.com/wasmfaas/wasmfaas/internal/functions"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natsserver"
	"github.com/wasmfaas/wasmfaas/internal/server"
	"github.com/wasmfaas/wasmfaas/internal/tracing"
	"github.com/wasmfaas/wasmfaas/modules"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/router/ingress"
	"github.com/wasmfaas/wasmfaas/store"
	jsstore "github.com/wasmfaas/wasmfaas/store/jetstream"
)

// Config is everything a host is made from. The zero value (with a
// DataDir) is the single-machine default: an embedded NATS server with
// JetStream under DataDir, no TCP listener for NATS.
type Config struct {
	// Tracing exports OpenTelemetry traces over OTLP when its endpoint is
	// set; TracerProvider, if set, is used instead (tests). Either is
	// process-wide: the global tracer provider.
	Tracing        tracing.Config
	TracerProvider *sdktrace.TracerProvider
	// DataDir holds the embedded server's JetStream files ("nats") and the
	// compilation cache ("cache"); required.
	DataDir string
	// CacheDir overrides DataDir/cache.
	CacheDir string
	NATS     NATSConfig
	// Layout chooses replicas and retention of the JetStream state.
	Layout layout.Config
	// Router tunes trigger delivery; stream names come from the layout.
	Router router.Config
	// HTTP configures the API (token, body limit) and the events endpoint.
	HTTP server.Config
	// PlainWrites turns idempotent guest writes off (host.Config.PlainWrites).
	PlainWrites bool
	// MemoryBudget bounds all guests' linear memory together, in bytes
	// (host.DefaultMemoryBudget if zero).
	MemoryBudget int64
	// ModulesMaxSize bounds a module upload (0: the store's default).
	ModulesMaxSize int64
	// Logger receives every component's log; nil discards.
	Logger *slog.Logger
}

// NATSConfig chooses the embedded server (URL and Conn empty), an external
// one, or a connection the caller owns.
type NATSConfig struct {
	// Conn, if set, is used as it is and left open at Shutdown: a host
	// embedded in a test or a benchmark next to other clients of the same
	// server.
	Conn *nats.Conn
	// URL of an external NATS server or cluster ("nats://a,nats://b").
	URL string
	// Token and Creds authenticate to the external server.
	Token, Creds string
	// Listen is the embedded server's TCP address (empty: in-process only).
	Listen string
	// ListenAuth is what every client of the embedded server must present,
	// the host's own in-process connection included; required when Listen
	// is not a loopback address.
	ListenAuth natsserver.Auth
	// TLSCert and TLSKey are PEM files that put the embedded listener
	// behind TLS.
	TLSCert, TLSKey string
	// SyncInterval is the embedded JetStream's fsync interval
	// (natsserver.SyncAlways for every write).
	SyncInterval time.Duration
	// ServerName names the embedded server (natsserver.Config.ServerName).
	ServerName string
	// Cluster joins the embedded server to its peers through routes,
	// forming a JetStream cluster; the zero value is a single node.
	Cluster natsserver.ClusterConfig
	// ClusterWait is how long New waits for JetStream to take the layout
	// while it cannot yet (no meta leader, too few peers for the
	// replicas), embedded or external; DefaultClusterWait if zero. ctx
	// passed to New must allow for it.
	ClusterWait time.Duration
}

// App is a running host. Handler serves its API; Shutdown stops it.
type App struct {
	log      *slog.Logger
	embedded *natsserver.Server
	nc       *nats.Conn
	js       jetstream.JetStream
	layout   layout.Layout

	state    *jsstore.Store
	host     *host.Host
	catalog  *functions.Catalog
	triggers *functions.Triggers
	router   *router.Router
	api      *server.Server

	// seenPath is the record of the last sequences (seenFile).
	seenPath string

	stopRun context.CancelFunc
	done    chan struct{} // closed when the background loops have ended

	// The definitions watch: applyDef holds watchMu while it applies a
	// change; stopWatch cancels the watch and waits for it.
	watchMu      sync.Mutex
	watchCancel  context.CancelFunc
	watchStopped bool
	routing      atomic.Bool // the router has started: trigger changes apply
	// closers undo what New did, in reverse order of creation.
	closers []func(context.Context) error
}

// New builds and starts a host: NATS, layout, store, host, call path,
// router, API; it loads the stored functions and triggers and starts
// delivery. ctx bounds the start-up only.
func New(ctx context.Context, cfg Config) (_ *App, err error) {
	if cfg.DataDir == "" {
		return nil, errors.New("app: data dir is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &App{log: log, done: make(chan struct{})}
	defer func() {
		if err != nil {
			_ = a.close(context.Background())
		}
	}()
	// First, so the host's calls are traced from the start.
	stopTracing, err := tracing.Setup(ctx, cfg.Tracing, cfg.TracerProvider)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	a.closers = append(a.closers, stopTracing)
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := a.connect(cfg); err != nil {
		return nil, err
	}
	if a.layout, err = layout.New(cfg.Layout); err != nil {
		return nil, err
	}
	if err := a.ensureLayout(ctx, cfg); err != nil {
		return nil, err
	}
	lost, err := a.checkState(ctx, cfg.DataDir)
	if err != nil {
		return nil, err
	}

	a.state, err = jsstore.New(ctx, a.js, jsstore.Config{Logger: log, ChangeSubject: layout.PropsSubject})
	if err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	a.closers = append(a.closers, func(context.Context) error { return a.state.Close() })
	calls, err := jsstore.NewCallLog(ctx, a.js, jsstore.CallLogConfig{})
	if err != nil {
		return nil, fmt.Errorf("open call log: %w", err)
	}
	blobs, err := jsstore.NewBlobs(ctx, a.js, jsstore.BlobsConfig{MaxSize: cfg.ModulesMaxSize})
	if err != nil {
		return nil, fmt.Errorf("open module store: %w", err)
	}
	defs, err := jsstore.NewDefinitions(ctx, a.js, jsstore.DefinitionsConfig{})
	if err != nil {
		return nil, fmt.Errorf("open definitions: %w", err)
	}

	cacheDir := cfg.CacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(cfg.DataDir, "cache")
	}
	scheduler := router.NewScheduler(a.js, cfg.Router.PublishTimeout)
	a.host, err = host.New(host.Config{CacheDir: cacheDir, Logger: log, KV: a.state.KV(), Properties: a.state.Properties(), Schedules: scheduler, PlainWrites: cfg.PlainWrites, MemoryBudget: cfg.MemoryBudget})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.host.Close)
	reg := modules.New(modules.Config{MaxSize: cfg.ModulesMaxSize}, blobs, a.host)

	rcfg := cfg.Router
	rcfg.Prefix = a.layout.EventsPrefix()
	rcfg.EventsStream, rcfg.DeadLetterStream = layout.EventsStream, layout.DeadLetterStream
	rcfg.PropsStream, rcfg.PropsSubject = layout.PropsStream, layout.PropsSubject
	rcfg.CallsStream, rcfg.CallsSubject = layout.CallsStream, layout.CallsSubject
	a.catalog, err = functions.New(functions.Config{Logger: log}, functions.Deps{
		Host: a.host, Modules: reg, Defs: defs, Calls: calls,
		Emitter:   router.NewEmitter(a.js, rcfg.Prefix, rcfg.PublishTimeout),
		Scheduler: scheduler,
	})
	if err != nil {
		return nil, err
	}
	if a.router, err = router.New(rcfg, a.js, a.catalog, log); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	a.triggers = functions.NewTriggers(defs, a.router, log)
	a.triggers.CheckWith(a.catalog)

	icfg := ingress.Config{Prefix: rcfg.Prefix, EventsStream: layout.EventsStream, RejectedPrefix: layout.RejectedPrefix, MaxBodyBytes: cfg.HTTP.MaxBodyBytes}
	events, err := ingress.NewHTTP(icfg, a.js, log)
	if err != nil {
		return nil, err
	}
	rejecter, err := ingress.NewRejecter(icfg, a.js, log)
	if err != nil {
		return nil, err
	}
	hcfg := cfg.HTTP
	hcfg.Logger = log
	a.api, err = server.New(hcfg, server.Deps{
		Functions: a.catalog, Triggers: a.triggers, Modules: reg, Calls: calls,
		Properties: a.state.Properties(), Events: events, DeadLetters: a.router, LostData: lost,
		History: a.state.Properties().(store.PropertyHistory), Console: console.Handler(),
	})
	if err != nil {
		return nil, err
	}

	// Start: functions before triggers, so no trigger meets a function that
	// is not live yet; the router before its triggers are set. The watch
	// of the definitions starts first, so no change made through another
	// host between the loads and the watch is missed; a change both read
	// by a load and brought by the watch applies once.
	watchCtx, cancelWatch := context.WithCancel(context.Background())
	a.watchCancel = cancelWatch
	a.closers = append(a.closers, func(context.Context) error { a.stopWatch(); return nil })
	if err := defs.Watch(watchCtx, func(ch store.DefChange) { a.applyDef(watchCtx, ch) }); err != nil {
		return nil, fmt.Errorf("watch definitions: %w", err)
	}
	if _, _, err := a.catalog.Load(ctx); err != nil {
		return nil, err
	}
	if err := a.router.Start(ctx); err != nil {
		return nil, fmt.Errorf("start router: %w", err)
	}
	a.routing.Store(true) // before the triggers' load: a change after it is applied
	if _, err := a.triggers.Load(ctx); err != nil {
		_ = a.router.Stop(context.Background())
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.Background())
	a.stopRun = stop
	go func() {
		defer close(a.done)
		if err := rejecter.Run(runCtx); err != nil && runCtx.Err() == nil {
			log.Error("ingress rejecter stopped", "error", err)
		}
	}()
	a.api.SetReady(true)
	return a, nil
}

// applyDef applies a definition change made through any host (the
// watch): a function's new revision goes live here, a trigger change
// reaches the router. While the store is unavailable it retries, with a
// backoff, until it applies or the watch stops: a change is never dropped.
func (a *App) applyDef(ctx context.Context, ch store.DefChange) {
	a.watchMu.Lock()
	defer a.watchMu.Unlock()
	backoff := 100 * time.Millisecond
	for !a.watchStopped {
		var err error
		switch ch.Doc.Kind {
		case functions.KindFunction:
			err = a.catalog.Apply(ctx, ch)
		case functions.KindTrigger:
			if a.routing.Load() {
				err = a.triggers.Sync(ctx)
			}
		}
		if err == nil {
			return
		}
		a.log.Warn("apply a definition change; retrying", "kind", ch.Doc.Kind, "name", ch.Doc.Name, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// stopWatch stops the definitions watch and waits for a change being
// applied.
func (a *App) stopWatch() {
	if a.watchCancel == nil {
		return
	}
	a.watchCancel()
	a.watchMu.Lock()
	a.watchStopped = true
	a.watchMu.Unlock()
}

// seenFile keeps, in the data directory, the last sequence of every stream
// of the layout as of the last start and clean stop, so that a start after
// storage lost the end of a file can tell (layout.Check).
const seenFile = "jetstream-seen.json"

// checkState reports data lost to damaged storage in the log and returns
// it for /readyz; the host starts anyway and serves what is left.
func (a *App) checkState(ctx context.Context, dataDir string) (map[string]string, error) {
	path := filepath.Join(dataDir, seenFile)
	var seen map[string]layout.Seen
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &seen); err != nil {
			a.log.Warn("unreadable record of the last start; not checked against it", "file", path, "error", err)
		}
	}
	lost, last, err := a.layout.Check(ctx, a.js, seen)
	if err != nil {
		return nil, fmt.Errorf("jetstream layout: %w", err)
	}
	for name, what := range lost {
		a.log.Error("stored state damaged: JetStream dropped what it could not read; see docs/RELIABILITY.md for recovery", "resource", name, "lost", what)
	}
	a.seenPath = path
	a.writeSeen(last)
	return lost, nil
}

// writeSeen records last sequences for the next start's check.
func (a *App) writeSeen(last map[string]layout.Seen) {
	b, err := json.Marshal(last)
	if err == nil {
		tmp := a.seenPath + ".tmp"
		if err = os.WriteFile(tmp, b, 0o644); err == nil {
			err = os.Rename(tmp, a.seenPath)
		}
	}
	if err != nil {
		a.log.Warn("record the state's last sequences", "file", a.seenPath, "error", err)
	}
}

// connect starts the embedded server or connects to the external one.
func (a *App) connect(cfg Config) error {
	var err error
	switch {
	case cfg.NATS.Conn != nil:
		a.nc = cfg.NATS.Conn
		a.js, err = jetstream.New(a.nc)
		if err != nil {
			return fmt.Errorf("jetstream: %w", err)
		}
		return nil
	case cfg.NATS.URL == "":
		a.embedded, err = natsserver.Start(natsserver.Config{
			DataDir: filepath.Join(cfg.DataDir, "nats"), Listen: cfg.NATS.Listen,
			Auth: cfg.NATS.ListenAuth, TLSCert: cfg.NATS.TLSCert, TLSKey: cfg.NATS.TLSKey,
			SyncInterval: cfg.NATS.SyncInterval, ServerName: cfg.NATS.ServerName,
			Cluster: cfg.NATS.Cluster, Logger: a.log,
		})
		if err != nil {
			return fmt.Errorf("start embedded NATS: %w", err)
		}
		a.closers = append(a.closers, a.embedded.Shutdown)
		a.nc, err = a.embedded.Conn()
	default:
		var opts []natsserver.ConnectOption
		if cfg.NATS.Token != "" {
			opts = append(opts, natsserver.Token(cfg.NATS.Token))
		}
		if cfg.NATS.Creds != "" {
			opts = append(opts, natsserver.Credentials(cfg.NATS.Creds))
		}
		a.nc, err = natsserver.Connect(cfg.NATS.URL, opts...)
	}
	if err != nil {
		return fmt.Errorf("connect to NATS: %w", err)
	}
	nc := a.nc
	a.closers = append(a.closers, func(context.Context) error { return nc.Drain() })
	a.js, err = jetstream.New(a.nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return nil
}

// Handler serves the HTTP API and the web console.
func (a *App) Handler() http.Handler { return a.api.Handler() }

// CloseStreams ends the API's open call streams, which an HTTP server's
// Shutdown would otherwise wait for (http.Server.RegisterOnShutdown).
func (a *App) CloseStreams() { a.api.CloseStreams() }

// Conn is the host's NATS connection.
func (a *App) Conn() *nats.Conn { return a.nc }

// JetStream is the host's JetStream context.
func (a *App) JetStream() jetstream.JetStream { return a.js }

// Layout is the JetStream layout the host ensured.
func (a *App) Layout() layout.Layout { return a.layout }

// Functions is the host's function catalog and call path.
func (a *App) Functions() *functions.Catalog { return a.catalog }

// Triggers is the host's trigger definitions.
func (a *App) Triggers() *functions.Triggers { return a.triggers }

// Router is the host's trigger delivery.
func (a *App) Router() *router.Router { return a.router }

// Embedded is the embedded NATS server; nil with an external one.
func (a *App) Embedded() *natsserver.Server { return a.embedded }

// Shutdown stops delivery (the calls in flight finish, what was not acked
// is redelivered later), waits for the remaining calls until ctx is done,
// and closes the store, the host and NATS. The HTTP listener is the
// caller's: shut it down first.
func (a *App) Shutdown(ctx context.Context) error {
	a.api.SetReady(false)
	a.api.CloseStreams()
	a.stopWatch()
	var errs []error
	if err := a.router.Stop(ctx); err != nil {
		errs = append(errs, err)
	}
	a.stopRun()
	<-a.done
	if err := a.catalog.Drain(ctx); err != nil {
		errs = append(errs, err)
	}
	if _, last, err := a.layout.Check(context.WithoutCancel(ctx), a.js, nil); err == nil {
		a.writeSeen(last)
	}
	errs = append(errs, a.close(context.WithoutCancel(ctx)))
	return errors.Join(errs...)
}

// close runs the closers, newest first.
func (a *App) close(ctx context.Context) error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](ctx); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, err)
		}
	}
	a.closers = nil
	return errors.Join(errs...)
}
