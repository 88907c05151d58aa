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

// serve runs until ctx is done (the first signal), then shuts down in order:
// HTTP listener, calls in flight, NATS. A second signal exits at once.
func serve(ctx context.Context, cfg *Config, logw io.Writer) error {
	log := newLogger(cfg.Log, logw)
	if cfg.HTTP.Token == "" && !isLoopback(cfg.HTTP.Addr) {
		return fmt.Errorf("config key http.addr: %s is not a loopback address and no http.token is set; set a token to listen beyond this machine", cfg.HTTP.Addr)
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a, err := app.New(octx, app.Config{
		DataDir: cfg.DataDir,
		NATS: app.NATSConfig{
			URL: cfg.NATS.URL, Token: cfg.NATS.Token, Creds: cfg.NATS.Creds,
			Listen: cfg.NATS.Listen, SyncInterval: cfg.NATS.SyncInterval,
		},
		Layout:         layout.Config{Replicas: cfg.NATS.Replicas, CallsMaxAge: cfg.Calls.MaxAge, CallsMaxCount: int64(cfg.Calls.MaxCount)},
		HTTP:           server.Config{Token: cfg.HTTP.Token, MaxBodyBytes: cfg.HTTP.MaxBodyBytes},
		ModulesMaxSize: cfg.Modules.MaxSize,
		Logger:         log,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		_ = a.Shutdown(context.Background())
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
	}
	hs := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	attrs := []any{"http", ln.Addr().String(), "data_dir", cfg.DataDir}
	if a.Embedded() != nil {
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
