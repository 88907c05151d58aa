package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/natsserver"
	"github.com/wasmfaas/wasmfaas/internal/server"
	"github.com/wasmfaas/wasmfaas/modules"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/router/ingress"
	"github.com/wasmfaas/wasmfaas/store"
	wjs "github.com/wasmfaas/wasmfaas/store/jetstream"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the function host: embedded NATS with JetStream, the HTTP API, the host",
		Long: `Run the function host. With no flags and no files it starts an embedded NATS
server with JetStream (state under ./wasmfaas-data) and the HTTP API on
127.0.0.1:8080. See 'wasmfaas config' for every setting.

SIGTERM or SIGINT stops accepting requests, lets calls in flight finish
(shutdown.drain_timeout), flushes and stops NATS; a second signal exits at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := loadConfig(cmd.Flags(), os.Environ(), serveScope)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	addConfigFlags(cmd.Flags(), serveScope)
	return cmd
}

func newLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.Format
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// invokerFunc adapts a function to router.Invoker.
type invokerFunc func(ctx context.Context, fn, trigger string, ev cloudevents.Event, attempt int) (host.ExecutionInfo, error)

func (f invokerFunc) Invoke(ctx context.Context, fn, trigger string, ev cloudevents.Event, attempt int) (host.ExecutionInfo, error) {
	return f(ctx, fn, trigger, ev, attempt)
}

// isLoopback reports whether addr's host is a loopback address.
func isLoopback(addr string) bool {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// serve runs until ctx is done (the first signal), then shuts down in order:
// HTTP listener, calls in flight, NATS. A second signal exits at once.
func serve(ctx context.Context, cfg *Config, logw io.Writer) error {
	log := newLogger(cfg.Log, logw)
	if cfg.HTTP.Token == "" && !isLoopback(cfg.HTTP.Addr) {
		return fmt.Errorf("config key http.addr: %s is not a loopback address and no http.token is set; set a token to listen beyond this machine", cfg.HTTP.Addr)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}

	var nc *nats.Conn
	var embedded *natsserver.Server
	var err error
	if cfg.NATS.URL == "" {
		embedded, err = natsserver.Start(natsserver.Config{
			DataDir: filepath.Join(cfg.DataDir, "nats"), Listen: cfg.NATS.Listen,
			SyncInterval: cfg.NATS.SyncInterval, Logger: log,
		})
		if err != nil {
			return fmt.Errorf("start embedded NATS: %w", err)
		}
		nc, err = embedded.Conn()
	} else {
		var opts []natsserver.ConnectOption
		if cfg.NATS.Token != "" {
			opts = append(opts, natsserver.Token(cfg.NATS.Token))
		}
		if cfg.NATS.Creds != "" {
			opts = append(opts, natsserver.Credentials(cfg.NATS.Creds))
		}
		nc, err = natsserver.Connect(cfg.NATS.URL, opts...)
	}
	if err != nil {
		return fmt.Errorf("connect to NATS: %w", err)
	}
	stopNATS := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = nc.Drain()
		if embedded != nil {
			_ = embedded.Shutdown(sctx)
		}
	}
	defer stopNATS()

	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	state, err := wjs.New(octx, js, wjs.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("open state: %w", err)
	}
	defer state.Close()
	calls, err := wjs.NewCallLog(octx, js, wjs.CallLogConfig{Retention: store.Retention{MaxAge: cfg.Calls.MaxAge, MaxCount: cfg.Calls.MaxCount}})
	if err != nil {
		return fmt.Errorf("open call log: %w", err)
	}
	blobs, err := wjs.NewBlobs(octx, js, wjs.BlobsConfig{MaxSize: cfg.Modules.MaxSize})
	if err != nil {
		return fmt.Errorf("open module store: %w", err)
	}
	defs, err := wjs.NewDefinitions(octx, js, wjs.DefinitionsConfig{})
	if err != nil {
		return fmt.Errorf("open definitions: %w", err)
	}

	h, err := host.New(host.Config{
		CacheDir: filepath.Join(cfg.DataDir, "cache"), Logger: log,
		KV: state.KV(), Properties: state.Properties(),
	})
	if err != nil {
		return err
	}
	defer h.Close(context.Background())
	reg := modules.New(modules.Config{MaxSize: cfg.Modules.MaxSize}, blobs, h)

	// Events: the streams, the HTTP ingress, the rejecter of undecodable
	// NATS messages, and the router delivering to triggers.
	icfg := ingress.Config{}
	if err := ingress.EnsureStreams(octx, js, icfg); err != nil {
		return fmt.Errorf("event streams: %w", err)
	}
	events, err := ingress.NewHTTP(icfg, js, log)
	if err != nil {
		return err
	}
	rejecter, err := ingress.NewRejecter(icfg, js, log)
	if err != nil {
		return err
	}
	var api *server.Server
	rt, err := router.New(router.Config{}, js, invokerFunc(func(ctx context.Context, fn, trigger string, ev cloudevents.Event, attempt int) (host.ExecutionInfo, error) {
		return api.Invoke(ctx, fn, trigger, ev, attempt)
	}), log)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	api = server.New(server.Config{Token: cfg.HTTP.Token, MaxBodyBytes: cfg.HTTP.MaxBodyBytes, Logger: log},
		server.Deps{Host: h, Modules: reg, Defs: defs, Calls: calls, Properties: state.Properties(), Events: events, Routing: rt})
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	if err := rt.Start(runCtx); err != nil {
		return fmt.Errorf("start router: %w", err)
	}
	if err := api.Load(octx); err != nil {
		return err
	}
	go func() {
		if err := rejecter.Run(runCtx); err != nil && runCtx.Err() == nil {
			log.Error("ingress rejecter stopped", "error", err)
		}
	}()

	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
	}
	hs := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	attrs := []any{"http", ln.Addr().String(), "data_dir", cfg.DataDir}
	if embedded != nil {
		attrs = append(attrs, "nats", "embedded")
	} else {
		attrs = append(attrs, "nats", cfg.NATS.URL)
	}
	if cfg.HTTP.Token == "" {
		attrs = append(attrs, "auth", "none: loopback only")
	}
	log.Info("wasmfaas serving", attrs...)

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}

	// A second signal exits at once, whatever the drain is doing.
	second := make(chan os.Signal, 1)
	signal.Notify(second, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-second
		log.Warn("second signal: exiting without draining")
		os.Exit(2)
	}()
	log.Info("shutting down", "drain_timeout", cfg.Shutdown.DrainTimeout)
	dctx, dcancel := context.WithTimeout(context.Background(), cfg.Shutdown.DrainTimeout)
	defer dcancel()
	if err := hs.Shutdown(dctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "error", err)
	}
	// The router stops fetching and lets its calls finish; what it has not
	// acked is redelivered after a restart.
	if err := rt.Stop(dctx); err != nil {
		log.Warn("router stop", "error", err)
	}
	stopRun()
	if err := api.Drain(dctx); err != nil {
		log.Warn("drain", "error", err)
	}
	log.Info("stopped")
	return nil
}
