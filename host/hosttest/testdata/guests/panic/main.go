// Command panic panics when the event data says so, to show how a Go panic
// surfaces: a trap whose message carries the panic text.
package main

import wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"

func init() {
	wasmfaas.Handle(func(_ *wasmfaas.Context, ev *wasmfaas.Event) error {
		if string(ev.Data()) == "panic" {
			panic("guest gave up: sensor on fire")
		}
		return nil
	})
}

func main() {}
