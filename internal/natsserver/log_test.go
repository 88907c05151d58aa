package natsserver_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/natsserver"
)

// recorder is a slog.Handler that keeps every record.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// atLevel returns the messages logged at level.
func (r *recorder) atLevel(level slog.Level) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.records {
		if rec.Level == level {
			out = append(out, rec.Message)
		}
	}
	return out
}

// TestBannerAtDebug: the lines nats-server prints while it starts and stops
// (its version, "Starting nats-server", JetStream's settings) are DEBUG, so
// a host started at INFO logs none of them.
func TestBannerAtDebug(t *testing.T) {
	rec := &recorder{}
	s, err := natsserver.Start(natsserver.Config{DataDir: t.TempDir(), Logger: slog.New(rec)})
	require.NoError(t, err)
	require.NoError(t, s.Shutdown(t.Context()))

	assert.Empty(t, rec.atLevel(slog.LevelInfo), "no INFO lines from starting and stopping nats-server")
	debug := strings.Join(rec.atLevel(slog.LevelDebug), "\n")
	assert.Contains(t, debug, "Starting nats-server")
	assert.Contains(t, debug, "JetStream")
}
