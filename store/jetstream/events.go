package jetstream

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/store"
)

// committed queues the property-changed event of c, whose write got
// revision rev in the properties bucket, and calls the Notifier.
//
// The event carries the subject's extended properties as they are now; it
// is built and published by the publisher's goroutine, off the writer's
// path. Its Nats-Msg-Id is "<bucket>:<rev>", unique per committed change,
// so a re-publish (the publisher retries until acknowledged) is dropped by
// the stream's duplicate window.
func (s *Store) committed(ctx context.Context, c store.Change, rev uint64) {
	ext, err := s.extended(ctx, c.Subject)
	if err != nil {
		// The change is committed; an event without the extensions beats
		// no event.
		s.log.Warn("read extended properties for event", "subject", c.Subject, "error", err)
		ext = nil
	}
	// The stored values are never modified, so the event may share them.
	s.events.publish(change{c: c, ext: ext, id: s.propB.kv.Bucket() + ":" + strconv.FormatUint(rev, 10)})
	if s.cfg.Notifier != nil {
		s.cfg.Notifier(ctx, cloneChange(c))
	}
}

// change is a committed change waiting for its event to be published.
type change struct {
	c   store.Change
	ext map[string]string
	id  string // Nats-Msg-Id
}

// message returns the NATS message of ch's property-changed event.
func (p *publisher) message(ch change) *nats.Msg {
	ev := ch.c.Event(p.source, ch.ext)
	data, err := json.Marshal(ev)
	if err != nil {
		// Event builds valid JSON from checked values; this is a bug.
		panic("store/jetstream: marshal property-changed event: " + err.Error())
	}
	m := nats.NewMsg(p.subject + "." + encode(ch.c.Subject))
	m.Header.Set("Content-Type", "application/cloudevents+json")
	m.Header.Set(jetstream.MsgIDHeader, ch.id)
	m.Data = data
	return m
}

// publisher publishes property-changed events asynchronously and retries
// each until the stream acknowledges it, in order, so a write does not wait
// for a second round trip. Events still queued when the process dies are
// lost: see "Why are property-changed events published asynchronously?" in
// the package documentation.
type publisher struct {
	js      jetstream.JetStream
	log     *slog.Logger
	source  string // CloudEvents source
	subject string // subject prefix

	queue chan change
	done  chan struct{}

	// mu orders publish against close: publish holds it for reading while
	// it queues, close for writing while it closes the queue.
	mu     sync.RWMutex
	closed atomic.Bool
}

// maxQueued bounds the events waiting for an ack; a writer blocks beyond it.
const maxQueued = 4096

func newPublisher(js jetstream.JetStream, log *slog.Logger, source, subject string) *publisher {
	p := &publisher{js: js, log: log, source: source, subject: subject, queue: make(chan change, maxQueued), done: make(chan struct{})}
	go p.run()
	return p
}

type inflight struct {
	m *nats.Msg
	f jetstream.PubAckFuture
}

func (p *publisher) publish(ch change) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed.Load() {
		p.log.Warn("drop property-changed event after close", "subject", ch.c.Subject, "msg_id", ch.id)
		return
	}
	p.queue <- ch
}

// run sends queued messages and waits for their acks in order, re-sending
// a message until it is acknowledged; it returns when the queue is closed
// and empty.
func (p *publisher) run() {
	defer close(p.done)
	pending := make(chan inflight, maxQueued)
	acked := make(chan struct{})
	go func() {
		defer close(acked)
		for in := range pending {
			p.await(in)
		}
	}()
	for ch := range p.queue {
		m := p.message(ch)
		f, err := p.js.PublishMsgAsync(m)
		pending <- inflight{m: m, f: f}
		if err != nil {
			p.log.Debug("publish property-changed event", "subject", m.Subject, "error", err)
		}
	}
	close(pending)
	<-acked
}

// await waits for in's ack, re-publishing with a backoff until it comes.
func (p *publisher) await(in inflight) {
	backoff := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		if in.f != nil {
			select {
			case <-in.f.Ok():
				return
			case err := <-in.f.Err():
				if attempt == 1 {
					p.log.Warn("publish property-changed event; retrying", "subject", in.m.Subject, "error", err)
				}
			}
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
		// A fresh message: the old one belongs to the failed future.
		m := nats.NewMsg(in.m.Subject)
		m.Header = in.m.Header
		m.Data = in.m.Data
		f, err := p.js.PublishMsgAsync(m)
		if err != nil {
			f = nil
		}
		in.f = f
		if p.closed.Load() && attempt > 3 {
			p.log.Error("give up publishing property-changed event at close", "subject", in.m.Subject, "msg_id", in.m.Header.Get(jetstream.MsgIDHeader))
			return
		}
	}
}

// close stops accepting events and waits until the queued ones are
// acknowledged or ctx is done.
func (p *publisher) close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed.Load() {
		p.closed.Store(true)
		close(p.queue)
	}
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close jetstream store: %w: property-changed events still unacknowledged", store.ErrUnavailable)
	}
}
