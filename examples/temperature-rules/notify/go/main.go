// Command notify is the last of the temperature rules (from KRules): it is
// triggered by property-changed events (type wasmfaas.property.changed)
// with propertyname=temp_status and emits com.example.notification with data
// {"subject": <subject>, "status": <new temp_status>}. The router publishes
// the emitted event only when the call succeeds, with an id derived from the
// triggering event, so a retried call does not notify twice.
//
// A deleted temp_status (value null) notifies nothing.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o notify.wasm .
// Grants: emit.
package main

import (
	"encoding/json"

	wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"
)

// NotificationType is the type of the event notify emits.
const NotificationType = "com.example.notification"

type propertyChanged struct {
	PropertyName string          `json:"property_name" wasmfaas:"required"`
	OldValue     json.RawMessage `json:"old_value"`
	Value        json.RawMessage `json:"value"`
}

type notification struct {
	Subject string `json:"subject"`
	Status  string `json:"status"`
}

func init() {
	wasmfaas.HandleJSON(func(ctx *wasmfaas.Context, ev *wasmfaas.Event, pc propertyChanged) error {
		subject := ev.Subject()
		if subject == "" {
			return wasmfaas.Reject("event has no subject: property changes are about a subject")
		}
		if pc.PropertyName != "temp_status" {
			return wasmfaas.Reject("property %q changed, want temp_status: check the trigger's propertyname filter", pc.PropertyName)
		}
		if len(pc.Value) == 0 || string(pc.Value) == "null" {
			return ctx.ResultJSON(map[string]any{"notified": false})
		}
		var status string
		if err := json.Unmarshal(pc.Value, &status); err != nil {
			return wasmfaas.Reject("data: value %s is not a string", pc.Value)
		}
		if err := ctx.EmitJSON(NotificationType, subject, notification{Subject: subject, Status: status}); err != nil {
			return err
		}
		if err := ctx.Field("status", status); err != nil {
			return err
		}
		return ctx.ResultJSON(map[string]any{"notified": true, "status": status})
	})
}

func main() {}
