// Command membomb allocates without bound when the event data says so.
package main

import wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"

var hoard [][]byte

func init() {
	wasmfaas.Handle(func(_ *wasmfaas.Context, ev *wasmfaas.Event) error {
		if string(ev.Data()) == "bomb" {
			for {
				hoard = append(hoard, make([]byte, 1<<20))
			}
		}
		return nil
	})
}

func main() {}
