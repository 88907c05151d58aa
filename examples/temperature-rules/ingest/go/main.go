// Command ingest is the first of the temperature rules (from KRules): it
// handles com.example.temperature.reading events, whose data is
// {"tempc": <number>}, and records the reading as the property "tempc" of
// the event's subject. Nothing else: the store turns the change into a
// wasmfaas.property.changed event with propertyname=tempc, which the status
// rule reacts to.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o ingest.wasm .
// Grants: props.
package main

import (
	"fmt"

	wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"
)

type reading struct {
	TempC float64 `json:"tempc" wasmfaas:"required"`
}

// Validate refuses readings no thermometer can produce.
func (r reading) Validate() error {
	if r.TempC < -273.15 {
		return fmt.Errorf("tempc %g is below absolute zero", r.TempC)
	}
	return nil
}

func init() {
	wasmfaas.HandleJSON(func(ctx *wasmfaas.Context, ev *wasmfaas.Event, r reading) error {
		subject := ev.Subject()
		if subject == "" {
			return wasmfaas.Reject("event has no subject: temperature readings are about a device")
		}
		if err := ctx.Subject(subject).Set("tempc", r.TempC); err != nil {
			return err
		}
		if err := ctx.Field("tempc", r.TempC); err != nil {
			return err
		}
		return ctx.ResultJSON(map[string]float64{"tempc": r.TempC})
	})
}

func main() {}
