// Command noop does nothing: the benchmark of the host's own cost per call.
package main

import wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"

func init() {
	wasmfaas.Handle(func(*wasmfaas.Context, *wasmfaas.Event) error { return nil })
}

func main() {}
