package jetstream_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/natstest"
	"github.com/wasmfaas/wasmfaas/store"
	js "github.com/wasmfaas/wasmfaas/store/jetstream"
	"github.com/wasmfaas/wasmfaas/store/storetest"
)

func TestDefinitions(t *testing.T) {
	storetest.RunDefinitions(t, func(t *testing.T) store.Definitions {
		d, err := js.NewDefinitions(t.Context(), natstest.Start(t).JetStream(), js.DefinitionsConfig{})
		require.NoError(t, err)
		return d
	})
}
