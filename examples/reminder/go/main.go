// Command reminder notices subjects that fall silent. Every
// com.example.reading marks its subject "reporting" and schedules a
// com.example.check for the subject after check_after_ms milliseconds
// (config, default 10000), under the subject as the key: a newer reading
// replaces the pending check, so a check arrives only once a subject has
// sent nothing for that long. The check marks the subject "silent".
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o reminder.wasm .
// Grants: props, schedule, config.
package main

import (
	"strconv"
	"time"

	wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"
)

const (
	readingType = "com.example.reading"
	checkType   = "com.example.check"
)

func init() {
	wasmfaas.Handle(func(ctx *wasmfaas.Context, ev *wasmfaas.Event) error {
		subject := ev.Subject()
		if subject == "" {
			return wasmfaas.Reject("event has no subject: reminder watches subjects")
		}
		switch ev.Type() {
		case readingType:
			after := int64(10000)
			if s, ok := ctx.Config("check_after_ms"); ok {
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil || n < 0 {
					return wasmfaas.Errorf("config", "check_after_ms %q is not a number of milliseconds", s)
				}
				after = n
			}
			if err := ctx.Subject(subject).Set("status", "reporting"); err != nil {
				return err
			}
			err := ctx.ScheduleIn(subject, time.Duration(after)*time.Millisecond, wasmfaas.EmitEvent{
				Type: checkType, Subject: subject, DataContentType: "application/json",
				Data: []byte(`{"after_ms":` + strconv.FormatInt(after, 10) + `}`),
			})
			if err != nil {
				return err
			}
			return ctx.ResultJSON(map[string]any{"status": "reporting", "check_after_ms": after})
		case checkType:
			if err := ctx.Subject(subject).Set("status", "silent"); err != nil {
				return err
			}
			return ctx.ResultJSON(map[string]any{"status": "silent"})
		}
		return wasmfaas.Reject("reminder handles %s and %s, not %s", readingType, checkType, ev.Type())
	})
}

func main() {}
