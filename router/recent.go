package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/store"
)

// Why a restarted router looks at the end of the call log:
//
// The embedded NATS server persists a consumer's acks at most every 100 ms
// (nats-server's consumer flush loop), so when the process running it dies
// the acks of the last ~100 ms are lost with it, and those events come back
// as if never delivered: a killed `wasmfaas serve` would run the calls of
// its last moments again. Every call is in the call log before its event is
// acked, and a trigger's call records the trigger and the id and source of
// its event. So at Start the router reads the calls that ended ok in the
// last RecentWindow of the log (before its last entry, not before now: the
// restart may come much later), and for a while after Start an event one of
// those calls already handled for the same trigger is not run again: its
// emitted events are published again (the duplicate window or their ids
// make that harmless) and it is acked. CloudEvents promise that source and
// id identify an event, so the same pair delivered again is the same event.
//
// A lost ack does not always come back at once: an event the consumer had
// recorded as delivered is redelivered only once its ack wait has passed,
// possibly after several more restarts, when its call is long out of the
// last RecentWindow. So the scan starts earlier when a trigger's consumer
// has such events: at the first event after the consumer's ack floor,
// since every call of an event not yet acked came after the event.
//
// A clustered NATS persists acks through Raft once they arrive,
// and a host process that dies without its server leaves nothing to scan
// for: there, redelivery after the ack wait runs the call again, at least
// once as documented.

// recentCalls are the ok calls of triggers found at the end of the call log
// when the router started: trigger, event source and id -> the call's
// sequence in the calls stream.
type recentCalls struct {
	until time.Time
	seq   map[recentKey]uint64
}

type recentKey struct{ trigger, source, id string }

// lookup returns the sequence of the call of t that already handled ev.
func (rc *recentCalls) lookup(t Trigger, ev *cloudevents.Event) (uint64, bool) {
	if rc == nil || len(rc.seq) == 0 || time.Now().After(rc.until) {
		return 0, false
	}
	seq, ok := rc.seq[recentKey{t.Name, ev.Source(), ev.ID()}]
	return seq, ok
}

// maxRecentCalls bounds the scan, and the memory it keeps.
const maxRecentCalls = 200_000

// loadRecent reads the call log's last RecentWindow (headers only).
func (r *Router) loadRecent(ctx context.Context) (*recentCalls, error) {
	if r.cfg.RecentWindow < 0 {
		return nil, nil
	}
	st, err := r.js.Stream(ctx, r.cfg.CallsStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.State.Msgs == 0 {
		return nil, nil
	}
	from := r.scanFrom(ctx, info.State.LastTime.Add(-r.cfg.RecentWindow))
	cc := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{r.cfg.CallsSubject + ".>"},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &from,
		HeadersOnly:    true,
	}
	if info.State.LastSeq >= maxRecentCalls && info.State.FirstTime.Before(from) {
		// Never more than the last maxRecentCalls calls: the newest
		// matter most (the ones whose acks a crash lost last).
		if m, err := st.GetMsg(ctx, info.State.LastSeq-maxRecentCalls+1, jetstream.WithGetMsgSubject(r.cfg.CallsSubject+".>")); err == nil && m.Time.After(from) {
			cc.DeliverPolicy, cc.OptStartTime, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, nil, m.Sequence
		}
	}
	cons, err := st.OrderedConsumer(ctx, cc)
	if err != nil {
		return nil, err
	}
	rc := &recentCalls{seq: map[recentKey]uint64{}}
	last := info.State.LastSeq
	for n := 0; n < maxRecentCalls; {
		// NoWait: a Fetch with a wait holds its last batch until the wait
		// ends (a second at every start), and everything is there already.
		batch, err := cons.FetchNoWait(1000)
		if err != nil {
			return nil, err
		}
		got := 0
		done := false
		for m := range batch.Messages() {
			got++
			n++
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			h := m.Headers()
			if callHeader(h, store.HeaderCallStatus, store.ExtStatus) == string(host.StatusOK) {
				k := recentKey{callHeader(h, store.HeaderCallTrigger, store.ExtTrigger),
					callHeader(h, store.HeaderCallCauseSource, store.ExtCauseSource), callHeader(h, store.HeaderCallCauseID, store.ExtCauseID)}
				if k.trigger != "" && k.source != "" && k.id != "" {
					rc.seq[k] = meta.Sequence.Stream
				}
			}
			if meta.Sequence.Stream >= last {
				done = true
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, err
		}
		if done || got == 0 {
			break
		}
	}
	// Redeliveries of unacked messages come at once, or after the ack wait
	// for those the server thinks are still pending.
	rc.until = time.Now().Add(2*r.cfg.AckWait + time.Minute)
	return rc, nil
}

// scanFrom returns from, or the stream time of an earlier event that a
// trigger's consumer delivered and has not seen acknowledged (the first
// event after its ack floor), whichever is first.
func (r *Router) scanFrom(ctx context.Context, from time.Time) time.Time {
	for _, src := range r.sources() {
		st, err := r.js.Stream(ctx, src.stream)
		if err != nil {
			continue
		}
		lister := st.ListConsumers(ctx)
		for ci := range lister.Info() {
			if !strings.HasPrefix(ci.Name, durablePrefix) || ci.Delivered.Stream <= ci.AckFloor.Stream {
				continue
			}
			m, err := st.GetMsg(ctx, ci.AckFloor.Stream+1, jetstream.WithGetMsgSubject(src.subject))
			if err != nil {
				continue
			}
			if m.Time.Before(from) {
				from = m.Time
			}
		}
		if err := lister.Err(); err != nil {
			r.log.Warn("list trigger consumers for the restart scan", "stream", src.stream, logKeyError, err)
		}
	}
	return from
}

// handledBefore settles m, whose event the call at seq handled before a
// restart: the call's emitted events are published again and m is acked.
// It returns false, leaving m to be handled as usual, when the call is no
// longer in the log (retention dropped it): running it again is then the
// at-least-once answer.
func (r *Router) handledBefore(ctx context.Context, t Trigger, m jetstream.Msg, ev cloudevents.Event, seq uint64) bool {
	log := r.log.With(logKeyTrigger, t.Name, logKeyEvent, ev.ID())
	emitted, err := r.recordedEmits(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false
	}
	if err == nil {
		err = r.emitter.Publish(ctx, t.Function, t.Name, ev, emitted)
	}
	if err != nil {
		log.Warn("event handled before a restart; retrying its emitted events", logKeyError, err)
		r.nak(t, m, 1)
		return true
	}
	log.Info("event handled before a restart: acked without calling again", "call_seq", seq)
	r.ack(ctx, t, m)
	return true
}

// recordedEmits reads the events the call at seq of the calls stream
// emitted, from its ExecutionInfo, the data of its execution event.
func (r *Router) recordedEmits(ctx context.Context, seq uint64) ([]cloudevents.Event, error) {
	st, err := r.js.Stream(ctx, r.cfg.CallsStream)
	if err != nil {
		return nil, err
	}
	raw, err := st.GetMsg(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("read call at %d: %w", seq, err)
	}
	ev, err := DecodeMsg(&nats.Msg{Subject: raw.Subject, Header: raw.Header, Data: raw.Data})
	if err != nil {
		return nil, fmt.Errorf("decode call at %d: %w", seq, err)
	}
	var rec struct {
		Emitted []cloudevents.Event `json:"emitted"`
	}
	if err := json.Unmarshal(ev.Data(), &rec); err != nil {
		return nil, fmt.Errorf("decode call at %d: %w", seq, err)
	}
	return rec.Emitted, nil
}

// callHeader reads a call-log entry's header (store.HeaderCallStatus and
// the like), or for an entry written in the binary mode of older versions
// the ce- header of the extension ext, as that binding writes it
// (percent-encoded, DecodeHeaderValue); unreadable is empty.
func callHeader(h nats.Header, name, ext string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	v, err := DecodeHeaderValue(h.Get(headerPrefix + ext))
	if err != nil {
		return ""
	}
	return v
}
