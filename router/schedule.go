package router

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/tracing"
)

// Scheduled events ride on JetStream message schedules (ADR-51): a
// message on a schedule subject with a Nats-Schedule header is held by the
// server, which publishes a copy onto its Nats-Schedule-Target subject when
// it is due (once for "@at", at every tick for "@every" and cron), and a
// new message on the same schedule subject replaces the pending one. The
// router keeps one schedule per cron trigger and consumes the fired
// copies; the call path (Scheduler) keeps the events functions schedule.
// No timer of ours runs anywhere: the stream's leader fires each schedule
// once, so on a cluster each tick runs once.

// ScheduleType is the type of the events a cron trigger runs its function on.
const ScheduleType = "wasmfaas.schedule"

// Headers of JetStream message schedules.
const (
	hdrSchedule         = "Nats-Schedule"
	hdrScheduleTarget   = "Nats-Schedule-Target"
	hdrScheduleTimeZone = "Nats-Schedule-Time-Zone"
	hdrScheduleTTL      = "Nats-Schedule-TTL"
	hdrScheduler        = "Nats-Scheduler"
	hdrScheduleNext     = "Nats-Schedule-Next"
	// hdrCronFunction says which function a cron schedule runs, so a
	// changed trigger replaces its schedule.
	hdrCronFunction = "Wasmfaas-Function"
)

// CheckSchedule validates a cron trigger's schedule as the server reads it:
// "@every <duration>" (at least 1s), "@at <RFC 3339 time>", "@hourly",
// "@daily" (or "@midnight"), "@weekly", "@monthly", "@yearly" (or
// "@annually"), or a 6-field cron expression (seconds, minutes, hours, day
// of month, month, day of week; "*", "?", numbers, names such as "mon" and
// "jan", ranges, lists and steps). tz, an IANA time zone such as
// "Europe/Berlin", applies to cron expressions only.
func CheckSchedule(schedule, tz string) error {
	if tz != "" {
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			return fmt.Errorf("%w: schedule time zone %q is not an IANA time zone such as Europe/Berlin", ErrInvalidTrigger, tz)
		}
	}
	switch {
	case schedule == "":
		return fmt.Errorf("%w: empty schedule", ErrInvalidTrigger)
	case strings.HasPrefix(schedule, "@every "):
		d, err := time.ParseDuration(strings.TrimPrefix(schedule, "@every "))
		if err != nil || d < time.Second {
			return fmt.Errorf("%w: schedule %q: want @every and a duration of at least 1s, such as @every 30s", ErrInvalidTrigger, schedule)
		}
	case strings.HasPrefix(schedule, "@at "):
		if _, err := time.Parse(time.RFC3339, strings.TrimPrefix(schedule, "@at ")); err != nil {
			return fmt.Errorf("%w: schedule %q: want @at and an RFC 3339 time such as 2026-12-01T08:00:00Z", ErrInvalidTrigger, schedule)
		}
	case strings.HasPrefix(schedule, "@"):
		switch schedule {
		case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly":
			return nil
		}
		return fmt.Errorf("%w: schedule %q: unknown; use @every, @at, @hourly, @daily, @weekly, @monthly, @yearly or a 6-field cron expression", ErrInvalidTrigger, schedule)
	default:
		if err := checkCron(schedule); err != nil {
			return fmt.Errorf("%w: schedule %q: %v", ErrInvalidTrigger, schedule, err)
		}
		return nil
	}
	if tz != "" {
		return fmt.Errorf("%w: a schedule time zone applies to cron expressions, not to %q", ErrInvalidTrigger, schedule)
	}
	return nil
}

type cronField struct {
	name     string
	min, max int
	names    map[string]int
}

var cronFields = []cronField{
	{"seconds", 0, 59, nil},
	{"minutes", 0, 59, nil},
	{"hours", 0, 23, nil},
	{"day of month", 1, 31, nil},
	{"month", 1, 12, map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}},
	{"day of week", 0, 6, map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}},
}

// checkCron validates a 6-field cron expression with the grammar of the
// server's parser (field: range{,range}; range: "*" | "?" | value["-"value]
// ["/"step]).
func checkCron(expr string) error {
	fields := strings.Fields(expr)
	if len(fields) != len(cronFields) {
		return fmt.Errorf("a cron expression has 6 fields (seconds minutes hours day-of-month month day-of-week), this one %d", len(fields))
	}
	for i, f := range fields {
		cf := cronFields[i]
		for _, r := range strings.Split(f, ",") {
			if err := cf.checkRange(r); err != nil {
				return fmt.Errorf("%s field %q: %v", cf.name, f, err)
			}
		}
	}
	return nil
}

func (cf cronField) checkRange(r string) error {
	if r == "" {
		return errors.New("empty range")
	}
	rng, step, hasStep := strings.Cut(r, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n <= 0 || strings.Contains(step, "/") {
			return fmt.Errorf("step %q is not a positive number", step)
		}
	}
	if rng == "*" || rng == "?" {
		return nil
	}
	lo, hi, isRange := strings.Cut(rng, "-")
	start, err := cf.value(lo)
	if err != nil {
		return err
	}
	end := start
	if isRange {
		if end, err = cf.value(hi); err != nil {
			return err
		}
	}
	if start > end {
		return fmt.Errorf("range %q runs backwards", rng)
	}
	return nil
}

func (cf cronField) value(s string) (int, error) {
	if v, ok := cf.names[strings.ToLower(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < cf.min || v > cf.max {
		return 0, fmt.Errorf("%q is not a value from %d to %d", s, cf.min, cf.max)
	}
	return v, nil
}

// cronSubject is where a cron trigger's schedule is held; firedCronSubject
// where the server fires it.
func (r *Router) cronSubject(trigger string) string {
	return r.cfg.SchedulesSubject + ".cron." + subjectToken(trigger)
}

func (r *Router) firedCronSubject(trigger string) string {
	return r.cfg.FiredSubject + ".cron." + subjectToken(trigger)
}

// syncCron makes the stored cron schedules those of the current triggers:
// a trigger's schedule is published when missing or different, and the
// schedules of triggers that are gone or no longer scheduled are purged.
// Every host runs it on every change of the triggers and reaches the same
// state, so a host applying a stale change is corrected by the next.
func (r *Router) syncCron(ctx context.Context, triggers map[string]Trigger) error {
	st, err := r.js.Stream(ctx, r.cfg.SchedulesStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		for _, t := range triggers {
			if t.Schedule != "" {
				return fmt.Errorf("trigger %q has a schedule but stream %s does not exist", t.Name, r.cfg.SchedulesStream)
			}
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("open stream %s: %w", r.cfg.SchedulesStream, err)
	}
	want := map[string]Trigger{}
	for _, t := range triggers {
		if t.Schedule != "" {
			want[r.cronSubject(t.Name)] = t
		}
	}
	var errs []error
	for subj, t := range want {
		last, err := st.GetLastMsgForSubject(ctx, subj)
		if err == nil && last.Header.Get(hdrSchedule) == t.Schedule && last.Header.Get(hdrScheduleTimeZone) == t.ScheduleTZ &&
			last.Header.Get(hdrCronFunction) == t.Function && last.Header.Get(hdrScheduleTarget) == r.firedCronSubject(t.Name) {
			continue
		}
		if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			errs = append(errs, fmt.Errorf("read the schedule of trigger %q: %w", t.Name, err))
			continue
		}
		msg, err := r.cronMsg(subj, t)
		if err == nil {
			_, err = r.js.PublishMsg(ctx, msg)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("store the schedule of trigger %q: %w", t.Name, err))
			continue
		}
		r.log.Info("trigger schedule stored", logKeyTrigger, t.Name, "schedule", t.Schedule, "time_zone", t.ScheduleTZ)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(r.cfg.SchedulesSubject+".cron.*"))
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list cron schedules: %w", err))...)
	}
	for subj := range info.State.Subjects {
		if _, ok := want[subj]; ok {
			continue
		}
		if err := st.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
			errs = append(errs, fmt.Errorf("remove the schedule on %s: %w", subj, err))
			continue
		}
		r.log.Info("trigger schedule removed", "subject", subj)
	}
	return errors.Join(errs...)
}

// cronMsg is the schedule of cron trigger t: the server fires its body, a
// structured CloudEvent of type ScheduleType, at every tick; the router
// gives each fired copy an id of its own (see fired).
func (r *Router) cronMsg(subject string, t Trigger) (*nats.Msg, error) {
	ev := cloudevents.NewEvent()
	ev.SetID(t.Name)
	ev.SetType(ScheduleType)
	ev.SetSource("wasmfaas/triggers/" + t.Name)
	ev.SetSubject(t.Name)
	data := map[string]string{"trigger": t.Name, "schedule": t.Schedule}
	if t.ScheduleTZ != "" {
		data["time_zone"] = t.ScheduleTZ
	}
	if err := ev.SetData(cloudevents.ApplicationJSON, data); err != nil {
		return nil, err
	}
	msg, err := EncodeMsg(subject, ev)
	if err != nil {
		return nil, err
	}
	msg.Header.Set(hdrSchedule, t.Schedule)
	if t.ScheduleTZ != "" {
		msg.Header.Set(hdrScheduleTimeZone, t.ScheduleTZ)
	}
	msg.Header.Set(hdrScheduleTarget, r.firedCronSubject(t.Name))
	msg.Header.Set(hdrScheduleTTL, layout.FiredTTL.String())
	msg.Header.Set(hdrCronFunction, t.Function)
	// A schedule replaces the one before it on its subject; no duplicate
	// window may drop it (a trigger deleted and made again within it).
	msg.Header.Del(nats.MsgIdHdr)
	return msg, nil
}

// fired gives an event the server fired from a schedule its identity: a
// repeating schedule fires the same body at every tick, so each copy's id
// is the schedule's id and the copy's stream sequence (stable across
// redeliveries); its time is when it fired.
func fired(ev *cloudevents.Event, hdr nats.Header, meta *jetstream.MsgMetadata) {
	if hdr.Get(hdrScheduler) == "" {
		return
	}
	if hdr.Get(hdrScheduleNext) != "purge" {
		ev.SetID(ev.ID() + ":" + strconv.FormatUint(meta.Sequence.Stream, 10))
	}
	ev.SetTime(meta.Timestamp.UTC())
}

// Scheduler stores the events functions schedule (host.Scheduled) as
// JetStream message schedules: one schedule subject per function and key,
// so scheduling again under a key replaces the pending event and
// cancelling purges it. It also counts a function's pending keys for the
// host (host.ScheduleCounter).
type Scheduler struct {
	js      jetstream.JetStream
	stream  string
	subject string
	fired   string
	timeout time.Duration
}

// NewScheduler returns a Scheduler on the layout's schedules stream.
func NewScheduler(js jetstream.JetStream, timeout time.Duration) *Scheduler {
	if timeout <= 0 {
		timeout = DefaultPublishTimeout
	}
	return &Scheduler{js: js, stream: layout.SchedulesStream, subject: layout.SchedulesSubject, fired: layout.FiredSubject, timeout: timeout}
}

func keyToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func (s *Scheduler) keySubject(function, key string) string {
	return s.subject + ".fn." + subjectToken(function) + "." + keyToken(key)
}

// Pending implements host.ScheduleCounter.
func (s *Scheduler) Pending(ctx context.Context, function, key string) (int, bool, error) {
	st, err := s.js.Stream(ctx, s.stream)
	if err != nil {
		return 0, false, err
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(s.subject+".fn."+subjectToken(function)+".*"))
	if err != nil {
		return 0, false, err
	}
	_, exists := info.State.Subjects[s.keySubject(function, key)]
	return len(info.State.Subjects), exists, nil
}

// Commit applies the schedule operations of an ok call of function on
// cause, in order, each scheduled event one hop further than cause, and
// returns once the server has stored them all. Re-applying the same
// operations (a retried call) leaves the same pending events.
func (s *Scheduler) Commit(ctx context.Context, function string, cause cloudevents.Event, ops []host.Scheduled) error {
	if len(ops) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var st jetstream.Stream
	hops := Hops(cause) + 1
	for _, op := range ops {
		subj := s.keySubject(function, op.Key)
		if op.Cancel {
			if st == nil {
				var err error
				if st, err = s.js.Stream(ctx, s.stream); err != nil {
					return fmt.Errorf("cancel scheduled event %q: %w", op.Key, err)
				}
			}
			if err := st.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
				return fmt.Errorf("cancel scheduled event %q: %w", op.Key, err)
			}
			continue
		}
		ev := op.Event.Clone()
		ev.SetExtension(ExtHops, hops)
		tracing.ToEvent(ctx, &ev)
		msg, err := EncodeMsg(subj, ev)
		if err != nil {
			return fmt.Errorf("scheduled event %q: %w", op.Key, err)
		}
		msg.Header.Set(hdrSchedule, "@at "+op.At.UTC().Format(time.RFC3339Nano))
		msg.Header.Set(hdrScheduleTarget, s.fired+".fn."+subjectToken(function)+"."+keyToken(op.Key))
		msg.Header.Set(hdrScheduleTTL, layout.FiredTTL.String())
		msg.Header.Set(nats.MsgIdHdr, "schedule:"+ev.ID())
		if err := publishRetry(ctx, s.js, msg); err != nil {
			return fmt.Errorf("store scheduled event %q: %w", op.Key, err)
		}
	}
	return nil
}
