// Command propupdate increments the property "n" of subject "bench" atomically.
package main

import (
	"encoding/json"
	"strconv"

	wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"
)

func init() {
	wasmfaas.Handle(func(ctx *wasmfaas.Context, _ *wasmfaas.Event) error {
		_, err := ctx.Subject("bench").Update("n", func(old json.RawMessage) (any, error) {
			n := 0
			if old != nil {
				n, _ = strconv.Atoi(string(old))
			}
			return n + 1, nil
		})
		return err
	})
}

func main() {}
