package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Hops returns the event's hop count (the ExtHops extension): how many
// functions it has passed through. An absent or unreadable count is 0.
func Hops(ev cloudevents.Event) int {
	v, ok := ev.Extensions()[ExtHops]
	if !ok {
		return 0
	}
	n, err := types.ToInteger(v)
	if err != nil {
		s, ferr := types.Format(v)
		if ferr != nil {
			return 0
		}
		i, aerr := strconv.Atoi(s)
		if aerr != nil {
			return 0
		}
		return i
	}
	return int(n)
}

// EmittedMsgID is the Nats-Msg-Id of an event a function emitted through
// trigger. The host derives the event id from (triggering event id,
// trigger, emit index) (see Invoker), so a retried call re-emits the same
// ids and JetStream's duplicate window drops them; the trigger name is
// hashed in here too, so that an Invoker scoping ids otherwise still never
// has one trigger's events dropped as duplicates of another's.
func EmittedMsgID(trigger string, ev cloudevents.Event) string {
	h := sha256.New()
	h.Write([]byte(trigger))
	h.Write([]byte{0})
	h.Write([]byte(ev.Source()))
	h.Write([]byte{0})
	h.Write([]byte(ev.ID()))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// EmittedSubjectFor is the subject events emitted by function are
// published on: <prefix>.emitted.<function>.
func (r *Router) EmittedSubjectFor(function string) string {
	return r.cfg.Prefix + "." + EmittedSubject + "." + subjectToken(function)
}

// subjectToken makes s one NATS subject token.
func subjectToken(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(c rune) rune {
		if c <= ' ' || c == '.' || c == '*' || c == '>' || c == 0x7f {
			return '_'
		}
		return c
	}, s)
}

// publishEmitted publishes the events a successful call emitted, each with
// the hop count of the triggering event plus one, and waits for every
// PubAck (retrying until PublishTimeout), so the triggering message is
// acked only once its consequences are stored.
func (r *Router) publishEmitted(ctx context.Context, t Trigger, trigger cloudevents.Event, emitted []cloudevents.Event) error {
	if len(emitted) == 0 {
		return nil
	}
	hops := Hops(trigger) + 1
	futures := make([]jetstream.PubAckFuture, 0, len(emitted))
	msgs := make([]*nats.Msg, 0, len(emitted))
	for _, ev := range emitted {
		ev = ev.Clone()
		ev.SetExtension(ExtHops, hops)
		msg, err := EncodeMsg(r.EmittedSubjectFor(t.Function), ev)
		if err != nil {
			return err
		}
		msg.Header.Set(nats.MsgIdHdr, EmittedMsgID(t.Name, ev))
		msgs = append(msgs, msg)
	}
	pctx, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
	defer cancel()
	for _, msg := range msgs {
		f, err := r.js.PublishMsgAsync(msg)
		if err != nil {
			return r.publishSync(pctx, msgs)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case <-f.Err():
			// One failed: publish them all again, synchronously; the
			// duplicate window drops those already stored.
			return r.publishSync(pctx, msgs)
		case <-pctx.Done():
			return fmt.Errorf("publish emitted events: %w", pctx.Err())
		}
	}
	return nil
}

// publishSync publishes msgs one by one, retrying each until ctx ends.
func (r *Router) publishSync(ctx context.Context, msgs []*nats.Msg) error {
	for _, msg := range msgs {
		if err := r.publishRetry(ctx, msg); err != nil {
			return err
		}
	}
	return nil
}

// publishRetry publishes msg and waits for its PubAck, retrying while NATS
// is unavailable until ctx ends.
func (r *Router) publishRetry(ctx context.Context, msg *nats.Msg) error {
	var last error
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := r.js.PublishMsg(actx, msg)
		cancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("publish %s: %w (last error: %v)", msg.Subject, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
