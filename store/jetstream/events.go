package jetstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/store"
)

// Property-changed events come from the properties bucket's own stream,
// where every committed write already is a message: a durable consumer
// (layout.PropsRelay) delivers each write to the relay, which publishes its
// event and acknowledges the write only once the event is stored. A write
// and its event are one durable fact: a process that dies at any moment
// leaves the write unacknowledged, and the relay of the next process (or of
// another host) publishes it. See "Why are property-changed events relayed
// from the bucket's stream?" in the package documentation.

// Headers of a property write that its event needs and the bucket's
// message does not otherwise hold: the value it replaced (compact JSON;
// absent when the property did not exist).
const hdrPrev = "Wasmfaas-Prev"

// hdrRev is the header of a property-changed event holding the revision of
// the write it tells of, which the relay reads back after a restart.
const hdrRev = "Wasmfaas-Rev"

// prevHeader returns the headers of a write that replaces st.
func prevHeader(st state) nats.Header {
	if !st.exists {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, st.value); err != nil {
		// Stored values were checked as JSON; one that is not (written
		// by another client) is carried as a JSON string.
		raw, _ := json.Marshal(string(st.value))
		b.Reset()
		b.Write(raw)
	}
	return nats.Header{hdrPrev: {b.String()}}
}

// committed records that this Store wrote rev and calls the Notifier for
// c. Its event is the relay's business.
func (s *Store) committed(ctx context.Context, c store.Change, rev uint64) {
	for {
		last := s.lastWrite.Load()
		if rev <= last || s.lastWrite.CompareAndSwap(last, rev) {
			break
		}
	}
	if s.cfg.Notifier != nil {
		s.cfg.Notifier(ctx, cloneChange(c))
	}
}

// relay turns the writes of the properties bucket into property-changed
// events. Every host runs one on the same durable consumer; the consumer
// is pinned to one of them at a time (priority policy "pinned"), so one
// host publishes the events, in the bucket's order, and another takes over
// PinnedTTL after it stops pulling.
type relay struct {
	s       *Store
	log     *slog.Logger
	cons    jetstream.Consumer
	events  jetstream.Stream // where the events go, read after a restart
	source  string
	subject string // event subject prefix

	// seen holds, per bucket subject, the revision of the last write this
	// relay published (at most maxSeen subjects, then it starts over). A
	// write of a subject not in it may have its event stored already (by
	// a relay that died before acknowledging, here or on another host):
	// the relay reads the subject's last event before publishing.
	seen map[string]uint64
	// dseq is the consumer sequence of the last delivery; risk and
	// floor are set from the consumer's state when a delivery does not
	// follow it (see track). All three belong to handle.
	dseq, risk, floor uint64

	cc      jetstream.ConsumeContext
	pending chan relayed
	acked   chan struct{}
	quit    chan struct{} // closed when stop gives up waiting

	mu      sync.Mutex // guards stopped against the consume callback
	stopped bool

	// behind holds, per bucket subject, the revision of its last relayed
	// write: the bucket keeps every write (layout: no per-key limit) and
	// the purger removes what is behind these.
	pmu    sync.Mutex
	behind map[string]uint64
	purged chan struct{}
}

// relayed is a write whose event was sent and awaits its PubAck.
type relayed struct {
	rev   uint64
	bsubj string         // the write's bucket subject
	write *jetstream.Msg // nil for a write read from the bucket
	event *nats.Msg
	f     jetstream.PubAckFuture
}

// maxSeen bounds the subjects the relay remembers.
const maxSeen = 100_000

// relayWindow bounds the events awaiting their PubAck.
const relayWindow = 1024

// startRelay opens the relay consumer and starts consuming.
func (s *Store) startRelay(ctx context.Context) (*relay, error) {
	cons, err := s.propB.stream.Consumer(ctx, s.cfg.Relay)
	if err != nil {
		return nil, fmt.Errorf("open property-changed relay %s: %w", s.cfg.Relay, unavailable(ctx, err))
	}
	events, err := s.js.Stream(ctx, s.cfg.ChangeStream)
	if err != nil {
		return nil, fmt.Errorf("open property-changed stream %s: %w", s.cfg.ChangeStream, unavailable(ctx, err))
	}
	r := &relay{
		s: s, log: s.log, cons: cons, events: events, source: s.cfg.Source, subject: s.cfg.ChangeSubject,
		seen:    map[string]uint64{},
		pending: make(chan relayed, relayWindow), acked: make(chan struct{}), quit: make(chan struct{}),
		behind: map[string]uint64{}, purged: make(chan struct{}),
	}
	go r.ackLoop()
	go r.purger()
	// A short pull expiry bounds how long a relay waits on a server that
	// does not hand it messages by itself (another host's pin expiring).
	opts := []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(relayWindow), jetstream.PullExpiry(5 * time.Second), jetstream.ConsumeErrHandler(r.consumeErr)}
	if group := cons.CachedInfo().Config.PriorityGroups; len(group) > 0 {
		opts = append(opts, jetstream.PullPriorityGroup(group[0]))
	}
	r.cc, err = cons.Consume(r.handle, opts...)
	if err != nil {
		close(r.pending)
		return nil, fmt.Errorf("consume property-changed relay %s: %w", s.cfg.Relay, unavailable(ctx, err))
	}
	return r, nil
}

func (r *relay) consumeErr(_ jetstream.ConsumeContext, err error) {
	// Heartbeats missed while NATS is down, a pin held by another
	// host: the consumer carries on by itself.
	r.log.Debug("property-changed relay", "error", err)
}

// handle publishes the event of one write and queues it for its ack.
// nats.go calls it for one message at a time, in delivery order.
//
// A property's events must be published in the order of its writes, but
// the consumer delivers in bucket order only to one relay that lives:
// writes delivered to a relay that died (here or on another host) come
// again after the ack wait, later than newer writes. So before publishing
// a write the relay publishes the property's earlier writes it has not
// published (read from the bucket, which keeps them until relayed), and
// a write that comes late finds its event stored.
func (r *relay) handle(m jetstream.Msg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return // left unacknowledged: redelivered to the next relay
	}
	meta, err := m.Metadata()
	if err != nil {
		r.log.Warn("property-changed relay: no metadata; skipped", "subject", m.Subject(), "error", err)
		_ = m.Term()
		return
	}
	if err := r.track(meta); err != nil {
		r.log.Warn("property-changed relay: read the consumer's state; redelivering", "error", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	key := strings.TrimPrefix(m.Subject(), r.s.propB.pre)
	subj, name, ok := r.property(key)
	if !ok {
		// A write marker (idempotent writes), or a key no Store wrote.
		_ = m.Ack()
		return
	}
	rev := meta.Sequence.Stream
	last, known := r.seen[m.Subject()]
	if known && rev <= last {
		_ = m.Ack() // published already by this relay
		return
	}
	if !known || meta.NumDelivered > 1 || last < r.risk {
		last, err = r.catchUp(m.Subject(), key, subj, name, max(last, r.floor), rev)
		if err != nil {
			delete(r.seen, m.Subject()) // the next write of the key looks again
			r.log.Warn("property-changed relay: publish earlier writes; redelivering", "subject", subj, "property", name, "error", err)
			_ = m.NakWithDelay(time.Second)
			return
		}
		if rev <= last {
			_ = m.Ack()
			return
		}
	}
	r.publish(&m, m.Subject(), m.Headers(), m.Data(), rev, meta.Timestamp, key, subj, name)
}

// track notes whether the relay has seen every delivery of the consumer.
// When it has not (it just started, or the consumer delivered to another
// relay in between), writes up to the consumer's last delivery may be held
// by a relay that died: until a key's published revision passes that
// point (risk), its writes are checked for earlier ones not published.
// Writes up to the consumer's ack floor are all published (floor).
func (r *relay) track(meta *jetstream.MsgMetadata) error {
	dseq := meta.Sequence.Consumer
	if r.dseq != 0 && dseq == r.dseq+1 {
		r.dseq = dseq
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := r.cons.Info(ctx)
	if err != nil {
		return err
	}
	r.risk = max(r.risk, info.Delivered.Stream)
	r.floor = max(r.floor, info.AckFloor.Stream)
	r.dseq = dseq
	return nil
}

// catchUp publishes, in bucket order, the writes of the bucket subject
// bsubj after the later of from and its last published event and before
// rev, and returns the revision of the last write published.
func (r *relay) catchUp(bsubj, key, subj, name string, from, rev uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	last, err := r.published(ctx, key)
	if err != nil {
		return 0, err
	}
	last = max(last, from)
	for seq := last + 1; seq < rev; {
		w, err := r.s.propB.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(bsubj))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return 0, err
		}
		if w.Sequence >= rev {
			break
		}
		r.publish(nil, bsubj, w.Header, w.Data, w.Sequence, w.Time, key, subj, name)
		last, seq = w.Sequence, w.Sequence+1
	}
	r.seen[bsubj] = last
	return last, nil
}

// publish sends the event of the write at rev of bsubj and queues it for
// its PubAck; write, when not nil, is acknowledged then.
func (r *relay) publish(write *jetstream.Msg, bsubj string, hdr nats.Header, data []byte, rev uint64, ts time.Time, key, subj, name string) {
	if len(r.seen) >= maxSeen {
		clear(r.seen)
	}
	r.seen[bsubj] = rev
	ev := r.event(hdr, data, rev, ts, key, subj, name)
	f, err := r.s.js.PublishMsgAsync(ev)
	if err != nil {
		f = nil // ackLoop re-sends
	}
	r.pending <- relayed{write: write, bsubj: bsubj, event: ev, f: f, rev: rev}
}

// property decodes a bucket key into the subject and name of a property;
// ok is false for a write marker or a key this package does not write.
func (r *relay) property(key string) (subj, name string, ok bool) {
	g, n, ok := splitKey(key)
	if !ok || g == markerGroup {
		return "", "", false
	}
	subj, err1 := decode(g)
	name, err2 := decode(n)
	if err1 != nil || err2 != nil {
		return "", "", false
	}
	return subj, name, true
}

// event builds the property-changed event of the write at rev: its id
// and Nats-Msg-Id are "<bucket>:<revision>" (the same for every re-send),
// its time the write's, its extensions the subject's extended properties
// as they are when the relay reads them.
func (r *relay) event(hdr nats.Header, data []byte, rev uint64, ts time.Time, key, subj, name string) *nats.Msg {
	c := store.Change{Subject: subj, Name: name, Revision: rev}
	if !isTombstone(hdr) {
		c.New = data
		if c.New == nil {
			c.New = []byte{}
		}
	}
	if prev := hdr.Get(hdrPrev); prev != "" {
		c.Old = []byte(prev)
	}
	ext, err := r.s.extended(context.Background(), subj)
	if err != nil {
		r.log.Warn("property-changed relay: read extended properties; event without them", "subject", subj, "error", err)
		ext = nil
	}
	revs := strconv.FormatUint(rev, 10)
	id := r.s.propB.kv.Bucket() + ":" + revs
	ev := c.Event(r.source, ext)
	ev.SetID(id)
	ev.SetTime(ts.UTC())
	body, err := json.Marshal(ev)
	if err != nil {
		// Event builds valid JSON from checked values; this is a bug.
		panic("store/jetstream: marshal property-changed event: " + err.Error())
	}
	out := nats.NewMsg(r.subject + "." + key)
	out.Header.Set("Content-Type", "application/cloudevents+json")
	out.Header.Set(jetstream.MsgIDHeader, id)
	out.Header.Set(hdrRev, revs)
	out.Data = body
	return out
}

// published returns the revision of the write told of by the last event
// of key's property, 0 if there is none. The relay publishes a property's
// events in revision order, so every write up to it has its event.
func (r *relay) published(ctx context.Context, key string) (uint64, error) {
	last, err := r.events.GetLastMsgForSubject(ctx, r.subject+"."+key)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return 0, nil
	case err != nil:
		return 0, err
	}
	got, err := strconv.ParseUint(last.Header.Get(hdrRev), 10, 64)
	if err != nil {
		return 0, nil // an event of another publisher
	}
	return got, nil
}

// ackLoop waits for each event's PubAck, in order, re-sending until it
// comes, then acknowledges its write.
func (r *relay) ackLoop() {
	defer close(r.acked)
	for in := range r.pending {
		if !r.await(in) {
			continue // stopping: the write is redelivered later
		}
		if in.write != nil {
			if err := (*in.write).Ack(); err != nil {
				// The event is stored; a redelivered write finds it.
				r.log.Debug("property-changed relay: ack write", "error", err)
			}
		}
		r.pmu.Lock()
		r.behind[in.bsubj] = max(r.behind[in.bsubj], in.rev)
		r.pmu.Unlock()
	}
}

// purgeEvery is how often the purger removes relayed writes.
const purgeEvery = 100 * time.Millisecond

// purger removes, every purgeEvery, the writes of each property older than
// its last relayed one; the key's latest message stays, as in any KV
// bucket. The relay goes in bucket order, so everything purged is
// relayed. A purge that fails is left to the next write of the property.
func (r *relay) purger() {
	defer close(r.purged)
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.purge()
		case <-r.acked:
			r.purge()
			return
		}
	}
}

func (r *relay) purge() {
	r.pmu.Lock()
	todo := r.behind
	r.behind = map[string]uint64{}
	r.pmu.Unlock()
	for subj, rev := range todo {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		// Up to, not including, rev: the relayed write stays.
		err := r.s.propB.stream.Purge(ctx, jetstream.WithPurgeSubject(subj), jetstream.WithPurgeSequence(rev))
		cancel()
		if err != nil {
			r.log.Debug("property-changed relay: purge relayed writes", "subject", subj, "error", err)
		}
	}
}

// relayAckWait is how long the relay waits for a PubAck before it sends
// the event again.
const relayAckWait = 5 * time.Second

// await waits for in's PubAck, re-publishing with a backoff until it
// comes; false if stop gave up first.
func (r *relay) await(in relayed) bool {
	backoff := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		if in.f != nil {
			t := time.NewTimer(relayAckWait)
			select {
			case <-in.f.Ok():
				t.Stop()
				return true
			case err := <-in.f.Err():
				if attempt == 1 {
					r.log.Warn("publish property-changed event; retrying", "subject", in.event.Subject, "error", err)
				}
			case <-t.C:
			case <-r.quit:
				t.Stop()
				return false
			}
			t.Stop()
		}
		select {
		case <-r.quit:
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
		// A fresh message: the old one belongs to the failed future.
		m := nats.NewMsg(in.event.Subject)
		m.Header = in.event.Header
		m.Data = in.event.Data
		f, err := r.s.js.PublishMsgAsync(m)
		if err != nil {
			f = nil
		}
		in.f = f
	}
}

// drain waits until every write up to rev is relayed (by this host's relay
// or another's: the consumer's ack floor is shared), or ctx is done.
func (r *relay) drain(ctx context.Context, rev uint64) error {
	for {
		info, err := r.cons.Info(ctx)
		if err == nil && info.AckFloor.Stream >= rev {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("close jetstream store: %w: property-changed events up to revision %d not all stored yet (the next relay publishes them)", store.ErrUnavailable, rev)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop stops consuming and waits until the events sent are acknowledged
// and their writes acked, or ctx is done. Writes not acked are
// redelivered to the next relay, which finds their events.
func (r *relay) stop(ctx context.Context) error {
	r.cc.Stop()
	r.mu.Lock()
	already := r.stopped
	r.stopped = true
	r.mu.Unlock()
	if !already {
		close(r.pending)
	}
	select {
	case <-r.acked:
		<-r.purged
		return nil
	case <-ctx.Done():
		close(r.quit)
		<-r.acked
		<-r.purged
		return fmt.Errorf("close jetstream store: %w: property-changed events still unacknowledged (they are published again by the next relay)", store.ErrUnavailable)
	}
}
