// Command membomb allocates without bound when the event data says "bomb",
// and keeps N MiB for the life of its instance when it says "hold:N".
package main

import (
	"strconv"
	"strings"

	wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"
)

var hoard [][]byte

func init() {
	wasmfaas.Handle(func(_ *wasmfaas.Context, ev *wasmfaas.Event) error {
		data := string(ev.Data())
		if data == "bomb" {
			for {
				hoard = append(hoard, make([]byte, 1<<20))
			}
		}
		if n, ok := strings.CutPrefix(data, "hold:"); ok {
			mib, err := strconv.Atoi(n)
			if err != nil {
				return wasmfaas.Reject("hold:N wants a number of MiB")
			}
			for range mib {
				b := make([]byte, 1<<20)
				for i := range b {
					b[i] = 1 // touch it: the host counts what the guest grew
				}
				hoard = append(hoard, b)
			}
		}
		return nil
	})
}

func main() {}
