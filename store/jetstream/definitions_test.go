package jetstream_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/natsserver"
	"github.com/wasmfaas/wasmfaas/store"
	js "github.com/wasmfaas/wasmfaas/store/jetstream"
	"github.com/wasmfaas/wasmfaas/store/storetest"
)

func TestDefinitions(t *testing.T) {
	storetest.RunDefinitions(t, func(t *testing.T) store.Definitions {
		srv, err := natsserver.Start(natsserver.Config{DataDir: t.TempDir()})
		require.NoError(t, err)
		t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
		nc, err := srv.Conn()
		require.NoError(t, err)
		jsc, err := jetstream.New(nc)
		require.NoError(t, err)
		d, err := js.NewDefinitions(t.Context(), jsc, js.DefinitionsConfig{})
		require.NoError(t, err)
		return d
	})
}
