package natsserver

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestAdapterLevels: nats-server's warnings and errors keep their level;
// notices are INFO once the server runs and DEBUG while it starts or stops.
func TestAdapterLevels(t *testing.T) {
	var got []slog.Level
	h := levelFunc(func(l slog.Level) { got = append(got, l) })
	quiet := new(atomic.Bool)
	a := slogAdapter{log: slog.New(h), quiet: quiet}

	a.Warnf("w %d", 1)
	a.Errorf("e")
	a.Fatalf("f")
	a.Debugf("d")
	a.Tracef("t")
	a.Noticef("n")
	quiet.Store(true)
	a.Noticef("banner")

	assert.Equal(t, []slog.Level{slog.LevelWarn, slog.LevelError, slog.LevelError, slog.LevelDebug, slog.LevelDebug, slog.LevelInfo, slog.LevelDebug}, got)
}

// levelFunc is a slog.Handler that reports each record's level.
type levelFunc func(slog.Level)

func (f levelFunc) Enabled(context.Context, slog.Level) bool { return true }
func (f levelFunc) Handle(_ context.Context, r slog.Record) error {
	f(r.Level)
	return nil
}
func (f levelFunc) WithAttrs([]slog.Attr) slog.Handler { return f }
func (f levelFunc) WithGroup(string) slog.Handler      { return f }
