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
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmfaas/wasmfaas/internal/app"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/server"
	"github.com/wasmfaas/wasmfaas/internal/tracing"
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

// appConfig maps the configuration to the app's. /metrics needs no token
// on a loopback listener, or when http.metrics_public says so.
func appConfig(cfg *Config) (app.Config, error) {
	auth, err := listenAuth(cfg.NATS)
	if err != nil {
		return app.Config{
			Tracing: tracing.Config{Endpoint: cfg.OTel.Endpoint, Protocol: cfg.OTel.Protocol, ServiceName: cfg.OTel.ServiceName}}, err
	}
	return app.Config{
		DataDir: cfg.DataDir,
		NATS: app.NATSConfig{
			URL: cfg.NATS.URL, Token: cfg.NATS.Token, Creds: cfg.NATS.Creds,
			Listen: cfg.NATS.Listen, ListenAuth: auth, TLSCert: cfg.NATS.TLSCert, TLSKey: cfg.NATS.TLSKey,
			SyncInterval: cfg.NATS.SyncInterval,
			ServerName:   cfg.NATS.ServerName, Cluster: clusterConfig(cfg.NATS), ClusterWait: cfg.NATS.ClusterWait,
		},
		Layout: layout.Config{
			Replicas: cfg.NATS.Replicas, CallsMaxAge: cfg.Calls.MaxAge, CallsMaxCount: int64(cfg.Calls.MaxCount),
			EventsMaxAge: cfg.Events.MaxAge, EventsMaxBytes: cfg.Events.MaxBytes,
			DeadLetterMaxAge: cfg.DeadLetters.MaxAge, RejectedMaxAge: cfg.Rejected.MaxAge,
		},
		HTTP: server.Config{
			Token: cfg.HTTP.Token, MaxBodyBytes: cfg.HTTP.MaxBodyBytes, RoutesPrefix: cfg.HTTP.RoutesPrefix,
			MetricsPublic: cfg.HTTP.MetricsPublic || isLoopback(cfg.HTTP.Addr),
		},
		ModulesMaxSize: cfg.Modules.MaxSize,
		PlainWrites:    !cfg.State.IdempotentWrites,
		MemoryBudget:   cfg.Guests.MemoryBudget,
	}, nil
}

// serve runs until ctx is done (the first signal), then shuts down in order:
// HTTP listener, calls in flight, NATS. A second signal exits at once.
func serve(ctx context.Context, cfg *Config, logw io.Writer) error {
	log := newLogger(cfg.Log, logw)
	if err := checkListeners(cfg); err != nil {
		return err
	}
	if err := checkCluster(cfg.NATS); err != nil {
		return err
	}
	acfg, err := appConfig(cfg)
	if err != nil {
		return err
	}
	acfg.Logger = log
	// Starting takes up to 30 seconds beyond the wait for a JetStream
	// cluster that cannot take the layout yet.
	wait := cfg.NATS.ClusterWait
	if wait <= 0 {
		wait = app.DefaultClusterWait
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second+wait)
	defer cancel()
	a, err := app.New(octx, acfg)
	if err != nil {
		return err
	}

	hs, ln, err := newHTTPServer(cfg.HTTP, a.Handler())
	if err != nil {
		_ = a.Shutdown(context.Background())
		return err
	}
	hs.RegisterOnShutdown(a.CloseStreams)
	errc := make(chan error, 1)
	go func() { errc <- serveHTTP(hs, ln) }()
	attrs := []any{"http", ln.Addr().String(), "data_dir", cfg.DataDir}
	if e := a.Embedded(); e != nil {
		attrs = append(attrs, "nats", "embedded")
		if u := e.ClientURL(); u != "" {
			attrs = append(attrs, "nats_listen", u)
		}
		if e.Clustered() {
			attrs = append(attrs, "nats_cluster", cfg.NATS.ClusterName, "nats_server_name", e.Server().Name(),
				"nats_cluster_listen", e.ClusterURL(), "nats_peers", e.Peers())
		}
	} else {
		attrs = append(attrs, "nats", cfg.NATS.URL)
	}
	if cfg.HTTP.Token == "" {
		attrs = append(attrs, "auth", "none: loopback only")
	}
	if hs.TLSConfig != nil {
		attrs = append(attrs, "tls", true)
	}

	log.Info("wasmfaas serving", attrs...)

	select {
	case err := <-errc:
		_ = a.Shutdown(context.Background())
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
	if err := a.Shutdown(dctx); err != nil {
		log.Warn("shutdown", "error", err)
	}
	log.Info("stopped")
	return nil
}
