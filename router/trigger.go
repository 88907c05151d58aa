package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wasmfaas/wasmfaas/internal/layout"
)

// ErrInvalidTrigger is wrapped by every trigger validation error.
var ErrInvalidTrigger = errors.New("invalid trigger")

// Trigger binds CloudEvent filters to a function with a delivery policy.
type Trigger struct {
	Name     string   `json:"name"`
	Function string   `json:"function"`
	Filters  []Filter `json:"filters,omitempty"`
	Delivery Delivery `json:"delivery"`
	// Created is when the trigger was first stored. A trigger sees the
	// events stored from then on (Knative's behaviour), unless ReplayFrom
	// says otherwise; the catalog sets it, a caller's value is ignored.
	Created time.Time `json:"created,omitzero"`
	// ReplayFrom makes a new trigger start earlier than its creation:
	// "all" for every retained event, or an RFC 3339 time. It applies when
	// the trigger's consumers are first made; changing it later does not
	// rewind them (delete and re-create the trigger for that).
	ReplayFrom string `json:"replay_from,omitempty"`
	// Schedule makes a cron trigger: its function runs on a ScheduleType
	// event at every tick of the schedule (CheckSchedule), in ScheduleTZ
	// (an IANA time zone; UTC if empty) for a cron expression. A cron
	// trigger has no filters and sees no other event.
	Schedule   string `json:"schedule,omitempty"`
	ScheduleTZ string `json:"schedule_tz,omitempty"`
	// Route makes an HTTP trigger: "METHOD /path/{param}" (ParseRoute),
	// served under the HTTP listener's routes prefix, each request a
	// synchronous call of the function. An HTTP trigger has no filters and
	// no schedule, and sees no other event.
	Route string `json:"route,omitempty"`
	// DataSchema is a JSON Schema the data of the events the trigger
	// delivers must match (checked by the call path, before any instance
	// runs; see internal/functions).
	DataSchema json.RawMessage `json:"data_schema,omitempty"`
}

// ReplayAll as ReplayFrom starts a trigger at the first retained event.
const ReplayAll = "all"

// startAt returns where a new consumer of t starts: every retained
// event, the stored events from a time on, or (zero Created, a trigger
// stored before creation times existed) the events stored after now.
func (t Trigger) startAt() (all bool, from time.Time) {
	switch {
	case t.ReplayFrom == ReplayAll:
		return true, time.Time{}
	case t.ReplayFrom != "":
		from, _ = time.Parse(time.RFC3339Nano, t.ReplayFrom) // Validate checked it
		return false, from
	}
	return false, t.Created
}

// Delivery says how often and how patiently an event is retried before it
// goes to the dead-letter stream.
type Delivery struct {
	// Retries after the first attempt; 0 means none.
	Retries int `json:"retries"`
	// Backoff is the delay before the first retry, doubled (exponential) or
	// repeated (linear) for the next.
	Backoff       Duration `json:"backoff"`
	BackoffPolicy string   `json:"backoff_policy"`
	// DeadLetter is the dead-letter subject; empty means deadletter.<trigger>.
	DeadLetter string `json:"dead_letter,omitempty"`
}

// DefaultDelivery is what a trigger without a policy gets.
var DefaultDelivery = Delivery{Retries: 3, Backoff: Duration(time.Second), BackoffPolicy: "exponential"}

// Duration is a time.Duration written as "1.5s" in JSON.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"2s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Normalize fills defaults and validates the trigger.
func (t *Trigger) Normalize() error {
	if t.Delivery == (Delivery{}) {
		t.Delivery = DefaultDelivery
	}
	if t.Delivery.BackoffPolicy == "" {
		t.Delivery.BackoffPolicy = "exponential"
	}
	if t.Delivery.DeadLetter == "" {
		t.Delivery.DeadLetter = "deadletter." + t.Name
	}
	return t.Validate()
}

// Validate checks the trigger and its filters.
func (t *Trigger) Validate() error {
	switch {
	case t.Function == "":
		return fmt.Errorf("%w: function is required", ErrInvalidTrigger)
	case t.Delivery.Retries < 0 || t.Delivery.Retries > 100:
		return fmt.Errorf("%w: delivery.retries %d must be 0-100", ErrInvalidTrigger, t.Delivery.Retries)
	case t.Delivery.Backoff < 0 || time.Duration(t.Delivery.Backoff) > 24*time.Hour:
		return fmt.Errorf("%w: delivery.backoff %s must be 0-24h", ErrInvalidTrigger, time.Duration(t.Delivery.Backoff))
	case t.Delivery.BackoffPolicy != "exponential" && t.Delivery.BackoffPolicy != "linear":
		return fmt.Errorf("%w: delivery.backoff_policy %q must be exponential or linear", ErrInvalidTrigger, t.Delivery.BackoffPolicy)
	case strings.ContainsAny(t.Delivery.DeadLetter, " \t\r\n*>") || strings.Contains(t.Delivery.DeadLetter, "..") ||
		strings.HasSuffix(t.Delivery.DeadLetter, "."):
		return fmt.Errorf("%w: delivery.dead_letter %q is not a NATS subject", ErrInvalidTrigger, t.Delivery.DeadLetter)
	case t.ReplayFrom != "" && t.ReplayFrom != ReplayAll && !validTime(t.ReplayFrom):
		return fmt.Errorf("%w: replay_from %q: want %q or an RFC 3339 time such as 2026-12-01T00:00:00Z", ErrInvalidTrigger, t.ReplayFrom, ReplayAll)
	case !strings.HasPrefix(t.Delivery.DeadLetter, layout.DeadLetterPrefix+"."):
		return fmt.Errorf("%w: delivery.dead_letter %q must be under %s.", ErrInvalidTrigger, t.Delivery.DeadLetter, layout.DeadLetterPrefix)
	}
	if t.Route != "" {
		if len(t.Filters) > 0 || t.Schedule != "" || t.ScheduleTZ != "" || t.ReplayFrom != "" {
			return fmt.Errorf("%w: a trigger with a route serves HTTP requests and takes no filters, schedule or replay_from", ErrInvalidTrigger)
		}
		if _, _, _, err := ParseRoute(t.Route); err != nil {
			return err
		}
	}
	if t.Schedule != "" || t.ScheduleTZ != "" {
		if len(t.Filters) > 0 {
			return fmt.Errorf("%w: a trigger with a schedule runs on its own ticks and takes no filters", ErrInvalidTrigger)
		}
		if t.Schedule == "" {
			return fmt.Errorf("%w: schedule_tz %q without a schedule", ErrInvalidTrigger, t.ScheduleTZ)
		}
		if err := CheckSchedule(t.Schedule, t.ScheduleTZ); err != nil {
			return err
		}
	}
	for i := range t.Filters {
		if err := t.Filters[i].Validate(); err != nil {
			return fmt.Errorf("%w: filters[%d]: %w", ErrInvalidTrigger, i, err)
		}
	}
	return nil
}

func validTime(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// BackoffFor returns the delay before retry n (1 for the first retry).
func (d Delivery) BackoffFor(n int) time.Duration {
	b := time.Duration(d.Backoff)
	if d.BackoffPolicy == "linear" || n <= 1 {
		return b * time.Duration(max(n, 1))
	}
	for i := 1; i < n && b < time.Hour; i++ {
		b *= 2
	}
	return min(b, time.Hour)
}
