// Package jsembed owns a throwaway JetStream state store: an embedded NATS
// server in a temporary directory with the default layout and a
// store/jetstream Store on it, all removed by its close function. It is what
// `wasmfaas test --store jetstream` gives each case, so function authors can
// check a handler against the real backend without running a server, while
// host/hosttest itself links no NATS server.
package jsembed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natsserver"
	"github.com/wasmfaas/wasmfaas/store"
	jsstore "github.com/wasmfaas/wasmfaas/store/jetstream"
)

// Open starts an embedded NATS server in a new temporary directory, creates
// the default layout and opens a store on it. close stops the store and
// the server and removes the directory.
func Open(source string) (st store.Store, close func() error, err error) {
	var closers []func() error
	close = func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		closers = nil
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			_ = close()
		}
	}()
	dir, err := os.MkdirTemp("", "wasmfaas-jsembed-")
	if err != nil {
		return nil, nil, fmt.Errorf("jetstream store: %w", err)
	}
	closers = append(closers, func() error { return os.RemoveAll(dir) })
	srv, err := natsserver.Start(natsserver.Config{DataDir: dir})
	if err != nil {
		return nil, nil, fmt.Errorf("jetstream store: %w", err)
	}
	closers = append(closers, func() error { return srv.Shutdown(context.Background()) })
	nc, err := srv.Conn()
	if err != nil {
		return nil, nil, fmt.Errorf("jetstream store: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, nil, fmt.Errorf("jetstream store: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := layout.Default().Ensure(ctx, js); err != nil {
		return nil, nil, fmt.Errorf("jetstream store: %w", err)
	}
	s, err := jsstore.New(ctx, js, jsstore.Config{Source: source})
	if err != nil {
		return nil, nil, fmt.Errorf("jetstream store: %w", err)
	}
	closers = append(closers, s.Close)
	return s, close, nil
}
