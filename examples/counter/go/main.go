// Command counter atomically increments the property "count" of the event's
// subject and returns the new value as {"count": n}. Concurrent calls about
// the same subject never lose an increment: the update is a compare-and-set
// loop (Subject.Update).
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o counter.wasm .
// Grants: props.
package main

import (
	"encoding/json"
	"fmt"

	wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"
)

func init() {
	wasmfaas.Handle(func(ctx *wasmfaas.Context, ev *wasmfaas.Event) error {
		subject := ev.Subject()
		if subject == "" {
			return wasmfaas.Reject("event has no subject: counter counts per subject")
		}
		var count int64
		_, err := ctx.Subject(subject).Update("count", func(old json.RawMessage) (any, error) {
			// Update may call this several times; only the last run's count
			// was written.
			count = 0
			if old != nil {
				if err := json.Unmarshal(old, &count); err != nil {
					return nil, fmt.Errorf("property count of %q is %s, not an integer", subject, old)
				}
			}
			count++
			return count, nil
		})
		if err != nil {
			return err
		}
		return ctx.ResultJSON(map[string]int64{"count": count})
	})
}

func main() {}
