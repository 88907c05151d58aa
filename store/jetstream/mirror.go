package jetstream

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// mirror is a host-side copy of one KV bucket, kept current by a watch on
// every key (initial values, then updates) and by the Store's own writes
// (read-your-writes), so reads of hot keys cost a map lookup instead of a
// round trip to the server (see "Why a host-side mirror of the buckets?"
// in the package documentation).
//
// An entry only ever moves to a higher revision: a write applies its result
// at the revision the server acknowledged, the watch applies what the
// server sent, and whichever comes second is ignored when it is older.
// Deletes are kept as tombstones at their revision so that a put delivered
// late by the watch cannot resurrect a deleted key.
//
// The mirror is ready once the watch has delivered the initial values; it
// is rebuilt from scratch when the connection has reconnected since the
// watch started (the server may have restarted, and the watch may have
// missed updates), and is not ready while the rebuild runs. Callers read
// from the server while it is not ready.
type mirror struct {
	kv  jetstream.KeyValue
	nc  *nats.Conn
	log *slog.Logger
	// stream is the bucket's stream, read by the stall check (run); set
	// by newBucket before the mirror starts.
	stream jetstream.Stream

	// mu guards the fields below.
	mu         sync.RWMutex
	v          *view
	reconnects uint64 // nc's reconnect count when v's watch started
	rebuilding bool
	closed     bool
	stop       context.CancelFunc
}

// view is one generation of the mirror: the entries from one watch.
type view struct {
	ready  bool
	groups map[string]map[string]*centry // group token → name token → entry
}

// centry is a mirrored entry. value is never modified after it is stored.
type centry struct {
	name    string // the decoded name (KV key, property name)
	value   []byte
	rev     uint64
	deleted bool
}

func newMirror(kv jetstream.KeyValue, nc *nats.Conn, log *slog.Logger) *mirror {
	return &mirror{kv: kv, nc: nc, log: log}
}

// start starts the watch and waits until the initial values are loaded or
// ctx is done (then the mirror finishes loading in the background).
func (m *mirror) start(ctx context.Context) error {
	ready, err := m.rebuild()
	if err != nil {
		return err
	}
	select {
	case <-ready:
	case <-ctx.Done():
	}
	return nil
}

// rebuild replaces the view with an empty one fed by a new watch; the
// returned channel is closed when the view is ready.
func (m *mirror) rebuild() (<-chan struct{}, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, errClosed
	}
	if m.stop != nil {
		m.stop()
	}
	v := &view{groups: map[string]map[string]*centry{}}
	m.v = v
	m.reconnects = m.nc.Stats().Reconnects
	ctx, cancel := context.WithCancel(context.Background())
	m.stop = cancel
	m.mu.Unlock()

	w, err := m.kv.WatchAll(ctx)
	if err != nil {
		cancel()
		m.mu.Lock()
		m.rebuilding = false
		m.mu.Unlock()
		return nil, err
	}
	ready := make(chan struct{})
	go m.run(ctx, w, v, ready)
	return ready, nil
}

// run applies the watch's entries to v until the watch ends. Once v is
// ready it checks, every stallCheck, that the watch is not stuck: a
// JetStream KV watch is an ordered consumer whose recreation, when the
// server refuses it (on a cluster electing leaders, say), ends it
// silently and leaves the mirror stale. A message of the bucket after the
// last one the watch delivered, still not delivered one check later,
// means it is stuck: the mirror is rebuilt (reads go to the server
// meanwhile).
func (m *mirror) run(ctx context.Context, w jetstream.KeyWatcher, v *view, ready chan struct{}) {
	defer func() {
		_ = w.Stop()
		// The watch's callback blocks on a full channel; drain it so the
		// subscription's goroutine can finish.
		go func() {
			for range w.Updates() {
			}
		}()
	}()
	tick := time.NewTicker(stallCheck)
	defer tick.Stop()
	var seen, waiting uint64 // the last revision delivered; one found after it at the last check
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if m.stream == nil || !m.isReady(v) {
				continue
			}
			if waiting != 0 && seen < waiting {
				m.log.Warn("bucket mirror stopped receiving changes; rebuilding", "bucket", m.kv.Bucket(), "delivered", seen, "stored", waiting)
				go func() { _, _ = m.rebuild() }()
				return
			}
			waiting = 0
			gctx, cancel := context.WithTimeout(ctx, stallCheck)
			next, err := m.stream.GetMsg(gctx, seen+1, jetstream.WithGetMsgSubject("$KV."+m.kv.Bucket()+".>"))
			cancel()
			if err == nil {
				waiting = next.Sequence
			}
		case e, ok := <-w.Updates():
			if !ok {
				m.mu.Lock()
				if m.v == v {
					v.ready = false
				}
				m.mu.Unlock()
				return
			}
			m.mu.Lock()
			if e == nil {
				v.ready = true
				if m.v == v {
					m.rebuilding = false
				}
				m.mu.Unlock()
				close(ready)
				continue
			}
			seen = max(seen, e.Revision())
			deleted := e.Operation() != jetstream.KeyValuePut
			m.applyLocked(v, e.Key(), e.Value(), e.Revision(), deleted)
			m.mu.Unlock()
		}
	}
}

// stallCheck is how often run checks that its watch is not stuck.
const stallCheck = 500 * time.Millisecond

// isReady reports whether v is ready.
func (m *mirror) isReady(v *view) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return v.ready
}

// apply records a write this Store made (read-your-writes).
func (m *mirror) apply(key string, value []byte, rev uint64, deleted bool) {
	m.mu.Lock()
	if m.v != nil {
		m.applyLocked(m.v, key, value, rev, deleted)
	}
	m.mu.Unlock()
}

func (m *mirror) applyLocked(v *view, key string, value []byte, rev uint64, deleted bool) {
	g, n, ok := splitKey(key)
	if !ok || g == markerGroup {
		return // write markers are not entries (writeonce.go)
	}
	names := v.groups[g]
	if cur := names[n]; cur != nil && cur.rev >= rev {
		return
	}
	name, err := decode(n)
	if err != nil {
		m.log.Warn("skip undecodable key", "key", key, "error", err)
		return
	}
	if names == nil {
		names = map[string]*centry{}
		v.groups[g] = names
	}
	if deleted {
		value = nil
	}
	names[n] = &centry{name: name, value: value, rev: rev, deleted: deleted}
}

// ready returns the current view if it is ready, else nil; it starts a
// rebuild when the connection has reconnected since the watch started.
func (m *mirror) ready() *view {
	if m == nil {
		return nil
	}
	reconnects := m.nc.Stats().Reconnects
	m.mu.RLock()
	v, stale, rebuilding := m.v, reconnects != m.reconnects, m.rebuilding
	m.mu.RUnlock()
	if stale {
		if !rebuilding {
			m.mu.Lock()
			if !m.rebuilding && !m.closed {
				m.rebuilding = true
				if m.v != nil {
					m.v.ready = false
				}
				go func() {
					if _, err := m.rebuild(); err != nil {
						m.log.Warn("rebuild cache", "bucket", m.kv.Bucket(), "error", err)
						// Let the next read try again.
						m.mu.Lock()
						m.reconnects = ^uint64(0)
						m.rebuilding = false
						m.mu.Unlock()
					}
				}()
			}
			m.mu.Unlock()
		}
		return nil
	}
	if v == nil {
		return nil
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !v.ready || m.v != v {
		return nil
	}
	return v
}

// get returns the entry for key in v (nil if never seen) with its value
// copied, under the read lock.
func (m *mirror) get(v *view, key string) (centry, bool) {
	g, n, _ := splitKey(key)
	m.mu.RLock()
	e := v.groups[g][n]
	var out centry
	if e != nil {
		out = *e
	}
	m.mu.RUnlock()
	if e == nil {
		return centry{}, false
	}
	out.value = bytes.Clone(out.value)
	return out, true
}

// group returns the live entries of a group token, sorted by name, with
// their values copied.
func (m *mirror) group(v *view, g string) []centry {
	m.mu.RLock()
	out := make([]centry, 0, len(v.groups[g]))
	for _, e := range v.groups[g] {
		if !e.deleted {
			out = append(out, *e)
		}
	}
	m.mu.RUnlock()
	for i := range out {
		out[i].value = bytes.Clone(out[i].value)
	}
	sortEntries(out)
	return out
}

// sortEntries sorts entries bytewise by name.
func sortEntries(es []centry) {
	slices.SortFunc(es, func(a, b centry) int { return strings.Compare(a.name, b.name) })
}

// close stops the watch; later reads find the mirror not ready.
func (m *mirror) close() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.closed = true
	if m.stop != nil {
		m.stop()
	}
	m.v = nil
	m.mu.Unlock()
}

// waitReady waits up to d for the mirror to be ready, for tests.
func (m *mirror) waitReady(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if m.ready() != nil {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}
