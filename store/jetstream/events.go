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

// committed publishes the property-changed event of c, whose write got
// revision rev in the properties bucket, and calls the Notifier.
//
// The event carries the subject's extended properties as they are now. Its
// Nats-Msg-Id is "<bucket>:<rev>", unique per committed change, so a
// re-publish (the publisher retries until acknowledged) is dropped by the
// stream's duplicate window.
func (s *Store) committed(ctx context.Context, c store.Change, rev uint64) {
	ext, err := s.extended(ctx, c.Subject)
	if err != nil {
		// The change is committed; an event without the extensions beats
		// no event.
		s.log.Warn("read extended properties for event", "subject", c.Subject, "error", err)
		ext = nil
	}
	ev := c.Event(s.cfg.Source, ext)
	data, err := json.Marshal(ev)
	if err != nil {
		// Event builds valid JSON from checked values; this is a bug.
		panic("store/jetstream: marshal property-changed event: " + err.Error())
	}
	m := nats.NewMsg(s.cfg.ChangeSubject + "." + encode(c.Subject))
	m.Header.Set("Content-Type", "application/cloudevents+json")
	m.Header.Set(jetstream.MsgIDHeader, s.propB.kv.Bucket()+":"+strconv.FormatUint(rev, 10))
	m.Data = data
	s.events.publish(m)
	if s.cfg.Notifier != nil {
		s.cfg.Notifier(ctx, cloneChange(c))
	}
}

// publisher publishes property-changed events asynchronously and retries
// each until the stream acknowledges it, in order, so a write does not wait
// for a second round trip. Events still queued when the process dies are
// lost: see "Why are property-changed events published asynchronously?" in
// the package documentation.
type publisher struct {
	js  jetstream.JetStream
	log *slog.Logger

	queue chan *nats.Msg
	done  chan struct{}

	// mu orders publish against close: publish holds it for reading while
	// it queues, close for writing while it closes the queue.
	mu     sync.RWMutex
	closed atomic.Bool
}

// maxQueued bounds the events waiting for an ack; a writer blocks beyond it.
const maxQueued = 4096

func newPublisher(js jetstream.JetStream, log *slog.Logger) *publisher {
	p := &publisher{js: js, log: log, queue: make(chan *nats.Msg, maxQueued), done: make(chan struct{})}
	go p.run()
	return p
}

type inflight struct {
	m *nats.Msg
	f jetstream.PubAckFuture
}

func (p *publisher) publish(m *nats.Msg) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed.Load() {
		p.log.Warn("drop property-changed event after close", "subject", m.Subject)
		return
	}
	p.queue <- m
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
	for m := range p.queue {
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
