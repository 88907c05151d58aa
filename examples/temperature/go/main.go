// Command temperature is a KRules-style rule: it records a device's
// temperature reading as the property "tempc" of the event's subject,
// classifies it against the subject's thresholds, and when the class changes
// it updates "temp_status" and emits com.example.temperature.status.changed.
//
// The event data is {"tempc": <number>}. Thresholds are the subject's
// properties "temp_min" and "temp_max" (defaults 20 and 30): tempc <= temp_min
// is COLD, tempc >= temp_max is WARM, 45 and above is CRITICAL, and anything
// between is NORMAL.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o temperature.wasm .
// Grants: props, emit.
package main

import (
	"encoding/json"
	"errors"
	"fmt"

	wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"
)

// StatusChangedType is the type of the event emitted when temp_status changes.
const StatusChangedType = "com.example.temperature.status.changed"

// Default thresholds for subjects without temp_min / temp_max.
const (
	defaultMin = 20.0
	defaultMax = 30.0
	critical   = 45.0
)

// maxStatusAttempts bounds the compare-and-set loop on temp_status.
const maxStatusAttempts = 100

type reading struct {
	TempC float64 `json:"tempc" wasmfaas:"required"`
}

// Validate refuses readings no thermometer can produce, so that a unit
// mistake (kelvin sent as negative celsius, say) is rejected rather than
// recorded.
func (r reading) Validate() error {
	if r.TempC < -273.15 {
		return fmt.Errorf("tempc %g is below absolute zero", r.TempC)
	}
	return nil
}

type statusChanged struct {
	From json.RawMessage `json:"from"` // null when the subject had no status
	To   string          `json:"to"`
}

func init() {
	wasmfaas.HandleJSON(func(ctx *wasmfaas.Context, ev *wasmfaas.Event, r reading) error {
		subject := ev.Subject()
		if subject == "" {
			return wasmfaas.Reject("event has no subject: temperature readings are about a device")
		}
		s := ctx.Subject(subject)
		if err := s.Set("tempc", r.TempC); err != nil {
			return err
		}
		lo, err := threshold(s, "temp_min", defaultMin)
		if err != nil {
			return err
		}
		hi, err := threshold(s, "temp_max", defaultMax)
		if err != nil {
			return err
		}
		status := classify(r.TempC, lo, hi)
		old, changed, err := setStatus(s, status)
		if err != nil {
			return err
		}
		if err := ctx.Field("status_changed", changed); err != nil {
			return err
		}
		if err := ctx.Field("temp_status", status); err != nil {
			return err
		}
		if changed {
			from := "none"
			if old != nil {
				from = string(old)
			}
			ctx.Logf(wasmfaas.LevelInfo, "%s: temp_status %s -> %q at %g°C", subject, from, status, r.TempC)
			if err := ctx.EmitJSON(StatusChangedType, subject, statusChanged{From: old, To: status}); err != nil {
				return err
			}
		}
		return ctx.ResultJSON(struct {
			TempStatus string `json:"temp_status"`
			Changed    bool   `json:"changed"`
		}{status, changed})
	})
}

// classify maps a temperature to a status; CRITICAL wins over WARM.
func classify(tempc, lo, hi float64) string {
	switch {
	case tempc >= critical:
		return "CRITICAL"
	case tempc >= hi:
		return "WARM"
	case tempc <= lo:
		return "COLD"
	}
	return "NORMAL"
}

// threshold reads a numeric property, or def when the subject lacks it.
func threshold(s *wasmfaas.Subject, prop string, def float64) (float64, error) {
	v := def
	_, err := s.Get(prop, &v)
	if errors.Is(err, wasmfaas.ErrNotFound) {
		return def, nil
	}
	if err != nil {
		return 0, err
	}
	return v, nil
}

// setStatus sets temp_status to status unless it already is, and returns the
// previous value (nil when absent) and whether it wrote. The write is a
// compare-and-set against the revision read, so two concurrent readings
// cannot both report the same transition.
func setStatus(s *wasmfaas.Subject, status string) (json.RawMessage, bool, error) {
	want, _ := json.Marshal(status)
	for range maxStatusAttempts {
		old, rev, err := s.GetRaw("temp_status")
		expect := int64(rev)
		switch {
		case errors.Is(err, wasmfaas.ErrNotFound):
			old, expect = nil, wasmfaas.RevAbsent
		case err != nil:
			return nil, false, err
		}
		var cur string
		if old != nil && json.Unmarshal(old, &cur) == nil && cur == status {
			return old, false, nil
		}
		_, err = s.SetIf("temp_status", json.RawMessage(want), expect)
		if errors.Is(err, wasmfaas.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		return old, true, nil
	}
	return nil, false, fmt.Errorf("set temp_status: gave up after %d conflicts", maxStatusAttempts)
}

func main() {}
