// Command status is the second of the temperature rules (from KRules): it is
// triggered by property-changed events (type wasmfaas.property.changed)
// with propertyname=tempc, classifies the new temperature against the
// subject's thresholds and sets the subject's "temp_status" when, and only
// when, the class changes. That change is itself a property-changed event
// (propertyname=temp_status), which the notify rule reacts to.
//
// The event data is {"property_name": "tempc", "old_value": …, "value": …}.
// Thresholds are the subject's properties "temp_min" and "temp_max"
// (defaults 20 and 30): tempc <= temp_min is COLD, tempc >= temp_max is WARM,
// 45 and above is CRITICAL, anything between is NORMAL — the same classes as
// examples/temperature. A deleted tempc (value null) changes nothing.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o status.wasm .
// Grants: props.
package main

import (
	"encoding/json"
	"errors"
	"fmt"

	wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"
)

// Default thresholds for subjects without temp_min / temp_max.
const (
	defaultMin = 20.0
	defaultMax = 30.0
	critical   = 45.0
)

// maxStatusAttempts bounds the compare-and-set loop on temp_status.
const maxStatusAttempts = 100

type propertyChanged struct {
	PropertyName string          `json:"property_name" wasmfaas:"required"`
	OldValue     json.RawMessage `json:"old_value"`
	Value        json.RawMessage `json:"value"`
}

func init() {
	wasmfaas.HandleJSON(func(ctx *wasmfaas.Context, ev *wasmfaas.Event, pc propertyChanged) error {
		subject := ev.Subject()
		if subject == "" {
			return wasmfaas.Reject("event has no subject: property changes are about a subject")
		}
		if pc.PropertyName != "tempc" {
			return wasmfaas.Reject("property %q changed, want tempc: check the trigger's propertyname filter", pc.PropertyName)
		}
		if len(pc.Value) == 0 || string(pc.Value) == "null" {
			// tempc was deleted: there is nothing to classify.
			return ctx.ResultJSON(map[string]any{"changed": false})
		}
		var tempc float64
		if err := json.Unmarshal(pc.Value, &tempc); err != nil {
			return wasmfaas.Reject("data: value %s is not a number", pc.Value)
		}
		s := ctx.Subject(subject)
		lo, err := threshold(s, "temp_min", defaultMin)
		if err != nil {
			return err
		}
		hi, err := threshold(s, "temp_max", defaultMax)
		if err != nil {
			return err
		}
		status := classify(tempc, lo, hi)
		changed, err := setStatus(s, status)
		if err != nil {
			return err
		}
		if err := ctx.Field("temp_status", status); err != nil {
			return err
		}
		if err := ctx.Field("status_changed", changed); err != nil {
			return err
		}
		return ctx.ResultJSON(map[string]any{"temp_status": status, "changed": changed})
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

// setStatus sets temp_status to status unless it already is, and reports
// whether it wrote. The write is a compare-and-set against the revision
// read, so a retried or concurrent call never writes the same status twice
// (and so never makes a second property-changed event for one transition).
func setStatus(s *wasmfaas.Subject, status string) (bool, error) {
	want, _ := json.Marshal(status)
	for range maxStatusAttempts {
		old, rev, err := s.GetRaw("temp_status")
		expect := int64(rev)
		switch {
		case errors.Is(err, wasmfaas.ErrNotFound):
			old, expect = nil, wasmfaas.RevAbsent
		case err != nil:
			return false, err
		}
		var cur string
		if old != nil && json.Unmarshal(old, &cur) == nil && cur == status {
			return false, nil
		}
		_, err = s.SetIf("temp_status", json.RawMessage(want), expect)
		if errors.Is(err, wasmfaas.ErrConflict) {
			continue
		}
		if err != nil {
			return false, err
		}
		return true, nil
	}
	return false, fmt.Errorf("set temp_status: gave up after %d conflicts", maxStatusAttempts)
}

func main() {}
