// Command relay emits, for every event, an event of the type in its config
// entry "next" about the same subject (nothing when "next" is unset), after
// a KV write: a link of a chain of functions, for the tracing tests.
package main

import wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"

func init() {
	wasmfaas.Handle(func(ctx *wasmfaas.Context, ev *wasmfaas.Event) error {
		if _, err := ctx.KV().Set("last", []byte(ev.ID())); err != nil {
			return err
		}
		next, ok := ctx.Config("next")
		if !ok {
			return nil
		}
		return ctx.EmitJSON(next, ev.Subject(), map[string]string{"from": ev.Type()})
	})
}

func main() {}
