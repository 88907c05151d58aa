// Command failures is the error-propagation rule from KRules ("everything
// is an event"): every call produces an execution event (type
// wasmfaas.execution, the call's ExecutionInfo as data, about the subject
// of the event that caused the call, with the extensions function and
// status), and this function is triggered by the ones that did not end ok.
// It records the latest failure as the property "last_failure" of the
// subject, where anything reacting to the subject's state can see it: a
// malformed reading for a device shows up on that device.
//
// A failure about no subject is only logged.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o failures.wasm .
// Grants: props.
package main

import (
	wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"
)

// execution is the part of an ExecutionInfo this rule reads.
type execution struct {
	CallID   string `json:"call_id" wasmfaas:"required"`
	Function string `json:"function" wasmfaas:"required"`
	Status   string `json:"status" wasmfaas:"required"`
	Attempt  int    `json:"attempt"`
	Error    *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

// failure is the value of the last_failure property.
type failure struct {
	Function string `json:"function"`
	Status   string `json:"status"`
	Attempt  int    `json:"attempt"`
	CallID   string `json:"call_id"`
	Kind     string `json:"kind,omitempty"`
	Message  string `json:"message,omitempty"`
}

func init() {
	wasmfaas.HandleJSON(func(ctx *wasmfaas.Context, ev *wasmfaas.Event, x execution) error {
		if x.Status == "ok" {
			return wasmfaas.Reject("call %s ended ok: check the trigger's status filter", x.CallID)
		}
		f := failure{Function: x.Function, Status: x.Status, Attempt: x.Attempt, CallID: x.CallID}
		if x.Error != nil {
			f.Kind, f.Message = x.Error.Kind, x.Error.Message
		}
		subject := ev.Subject()
		if subject == "" {
			ctx.Logf(wasmfaas.LevelWarn, "%s %s about no subject: %s", f.Function, f.Status, f.Message)
			return ctx.ResultJSON(map[string]any{"recorded": false})
		}
		if err := ctx.Subject(subject).Set("last_failure", f); err != nil {
			return err
		}
		return ctx.ResultJSON(map[string]any{"recorded": true, "function": f.Function, "status": f.Status})
	})
}

func main() {}
