// Command sleep waits 5 ms in a host call (WASI poll_oneoff, through Go's
// time.Sleep) and returns: a call that costs the host almost no CPU, the
// guest of the scaling benchmark's CPU-independent variant.
package main

import (
	"time"

	wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"
)

func init() {
	wasmfaas.Handle(func(*wasmfaas.Context, *wasmfaas.Event) error {
		time.Sleep(5 * time.Millisecond)
		return nil
	})
}

func main() {}
