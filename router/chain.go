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

	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/tracing"
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

// Emitter stores the events functions emit, on the events stream: each
// with the hop count of the event that caused it plus one and a
// Nats-Msg-Id derived from its id and the emit scope (EmittedMsgID), so a
// retried call re-emits the same ids and the stream's duplicate window
// drops what was stored before. The call path and the router's restart
// scan both publish through it.
type Emitter struct {
	js      jetstream.JetStream
	prefix  string
	timeout time.Duration
}

// NewEmitter returns an Emitter publishing under <prefix>.emitted.<function>
// and waiting at most timeout for the PubAcks of one call's events.
func NewEmitter(js jetstream.JetStream, prefix string, timeout time.Duration) *Emitter {
	if prefix == "" {
		prefix = layout.EventsPrefix
	}
	if timeout <= 0 {
		timeout = DefaultPublishTimeout
	}
	return &Emitter{js: js, prefix: prefix, timeout: timeout}
}

// SubjectFor is the subject events emitted by function are published on:
// <prefix>.emitted.<function>.
func (e *Emitter) SubjectFor(function string) string {
	return e.prefix + "." + EmittedSubject + "." + subjectToken(function)
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

// Publish stores the events a successful call of function on cause
// emitted, scope being the emit scope of the call (the trigger's name, or
// empty for a synchronous invoke), and waits for every PubAck (retrying
// until the Emitter's timeout), so the caller settles the cause only once
// its consequences are stored.
func (e *Emitter) Publish(ctx context.Context, function, scope string, cause cloudevents.Event, emitted []cloudevents.Event) error {
	if len(emitted) == 0 {
		return nil
	}
	hops := Hops(cause) + 1
	futures := make([]jetstream.PubAckFuture, 0, len(emitted))
	msgs := make([]*nats.Msg, 0, len(emitted))
	for _, ev := range emitted {
		ev = ev.Clone()
		ev.SetExtension(ExtHops, hops)
		tracing.ToEvent(ctx, &ev) // the emitting call's span is the parent of what follows
		msg, err := EncodeMsg(e.SubjectFor(function), ev)
		if err != nil {
			return err
		}
		msg.Header.Set(nats.MsgIdHdr, EmittedMsgID(scope, ev))
		msgs = append(msgs, msg)
	}
	pctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	for _, msg := range msgs {
		f, err := e.js.PublishMsgAsync(msg)
		if err != nil {
			return publishSync(pctx, e.js, msgs)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case <-f.Err():
			// One failed: publish them all again, synchronously; the
			// duplicate window drops those already stored.
			return publishSync(pctx, e.js, msgs)
		case <-pctx.Done():
			return fmt.Errorf("publish emitted events: %w", pctx.Err())
		}
	}
	return nil
}

// publishSync publishes msgs one by one, retrying each until ctx ends.
func publishSync(ctx context.Context, js jetstream.JetStream, msgs []*nats.Msg) error {
	for _, msg := range msgs {
		if err := publishRetry(ctx, js, msg); err != nil {
			return err
		}
	}
	return nil
}

// publishRetry publishes msg and waits for its PubAck, retrying while NATS
// is unavailable until ctx ends.
func publishRetry(ctx context.Context, js jetstream.JetStream, msg *nats.Msg) error {
	var last error
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.PublishMsg(actx, msg)
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
