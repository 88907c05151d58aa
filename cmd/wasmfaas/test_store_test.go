package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

func TestTestCommandStore(t *testing.T) {
	wasm, err := hosttest.BuildGo(t.Context(), "../../examples/temperature/go")
	require.NoError(t, err)
	cases := "../../examples/temperature/testdata"

	out, err := run(t, "test", wasm, cases, "--store", "jetstream")
	require.NoError(t, err, out)
	assert.Contains(t, out, "6 passed, 0 failed")

	out, err = run(t, "test", wasm, cases, "--store", "mem")
	require.NoError(t, err, out)
	assert.Contains(t, out, "6 passed, 0 failed")

	_, err = run(t, "test", wasm, cases, "--store", "redis")
	assert.ErrorContains(t, err, `--store "redis"`)
}
