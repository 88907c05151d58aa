// Command kvget reads one KV key: the benchmark of a host call into the store.
package main

import wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"

func init() {
	wasmfaas.Handle(func(ctx *wasmfaas.Context, _ *wasmfaas.Event) error {
		_, _, err := ctx.KV().Get("k")
		return err
	})
}

func main() {}
