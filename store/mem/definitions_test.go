package mem_test

import (
	"testing"

	"github.com/wasmfaas/wasmfaas/store"
	"github.com/wasmfaas/wasmfaas/store/mem"
	"github.com/wasmfaas/wasmfaas/store/storetest"
)

func TestDefinitions(t *testing.T) {
	storetest.RunDefinitions(t, func(t *testing.T) store.Definitions { return mem.NewDefinitions(0) })
}
