package mem

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/wasmfaas/wasmfaas/store"
)

// errClosed is returned by every operation after Close.
var errClosed = fmt.Errorf("%w: memory store is closed", store.ErrUnavailable)

// Store is an in-memory store.Store. It is safe for concurrent use.
//
// Lock order: mu, then nmu. The Notifier is called with neither held.
type Store struct {
	notify store.Notifier
	noLog  bool

	// mu guards the fields below it up to nmu. Stored byte slices are never
	// modified after they are stored, so they may be read (and copied) after
	// mu is released.
	mu       sync.RWMutex
	rev      uint64                      // last revision handed out, store-wide
	kv       map[string]map[string]entry // namespace → key → entry
	subjects map[string]*subject
	changes  []store.Change // committed property changes, in commit order
	changeAt []time.Time    // when each of changes was committed
	closed   bool
	// applied remembers the write ids applied, by writeKey, with the time
	// they were applied; order lists them oldest first, so forgetting
	// those older than store.WriteIDRetention costs amortised O(1).
	applied map[string]time.Time
	order   []appliedID

	// nmu guards the notification queue. Changes are queued under mu, so the
	// queue is in commit order; whichever writer finds no one draining the
	// queue delivers it, outside every lock (see drain).
	nmu      sync.Mutex
	pending  []pendingChange
	draining bool
}

type appliedID struct {
	key string
	at  time.Time
}

// writeKey is what a write id is remembered under: the id together with
// the key it wrote (see "Why atomic batches for idempotent writes?" in
// docs/RATIONALE.md: a different write at the same index of a re-run call
// is a different write).
func writeKey(kind, group, name, id string) string {
	return kind + "\x00" + group + "\x00" + name + "\x00" + id
}

// repeat reports whether ctx carries a write id already applied to
// (kind, group, name), and returns the key to remember it under once the
// write is applied ("" without a write id). The caller holds mu.
func (s *Store) repeat(ctx context.Context, kind, group, name string) (wk string, seen bool) {
	id := store.WriteID(ctx)
	if id == "" {
		return "", false
	}
	wk = writeKey(kind, group, name, id)
	at, ok := s.applied[wk]
	return wk, ok && time.Since(at) < store.WriteIDRetention
}

// remember records an applied write id (nothing for wk == "") and forgets
// those older than store.WriteIDRetention. The caller holds mu for writing.
func (s *Store) remember(wk string) {
	if wk == "" {
		return
	}
	now := time.Now()
	for len(s.order) > 0 && now.Sub(s.order[0].at) >= store.WriteIDRetention {
		if s.applied[s.order[0].key].Equal(s.order[0].at) {
			delete(s.applied, s.order[0].key)
		}
		s.order = s.order[1:]
	}
	if s.applied == nil {
		s.applied = map[string]time.Time{}
	}
	s.applied[wk] = now
	s.order = append(s.order, appliedID{key: wk, at: now})
}

type entry struct {
	value []byte
	rev   uint64
}

type subject struct {
	props map[string]entry
	ext   map[string]string
}

// pendingChange is a queued notification. It holds the writer's context
// only until the change is delivered, so the notifier sees the context of
// the write that caused it.
type pendingChange struct {
	ctx context.Context
	c   store.Change
}

// Option configures a Store.
type Option func(*Store)

// WithNotifier makes the store call n after every committed property change
// (set or delete), in commit order, with the writer's context. n runs outside
// the store's locks and may call back into the store; a change made from
// inside n is delivered after n returns. With one writer, n has seen the
// change when the write returns; with several, the writer already delivering
// delivers the others' changes too, so a write may return first (and its
// context may be done by the time n sees it).
func WithNotifier(n store.Notifier) Option {
	return func(s *Store) { s.notify = n }
}

// WithoutChangeLog stops the store from keeping every property change for
// Changes, which otherwise grows for the life of the store. Use it when a
// memory store runs for long (a benchmark, a single-process server).
func WithoutChangeLog() Option {
	return func(s *Store) { s.noLog = true }
}

// New returns an empty Store.
func New(opts ...Option) *Store {
	s := &Store{
		kv:       map[string]map[string]entry{},
		subjects: map[string]*subject{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.KV         = (*kv)(nil)
	_ store.Properties = (*props)(nil)
)

// KV returns the store's key/value view.
func (s *Store) KV() store.KV { return (*kv)(s) }

// Properties returns the store's properties view.
func (s *Store) Properties() store.Properties { return (*props)(s) }

// Close drops nothing but makes every later operation fail with
// store.ErrUnavailable, like a backend whose connection is gone. Test
// helpers (Changes, Dump) keep working.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// Changes returns a copy of every committed property change, in commit
// order; it is empty if the store was made WithoutChangeLog.
func (s *Store) Changes() []store.Change {
	s.mu.RLock()
	out := make([]store.Change, len(s.changes))
	for i, c := range s.changes {
		out[i] = cloneChange(c)
	}
	s.mu.RUnlock()
	return out
}

var _ store.PropertyHistory = (*props)(nil)

// History implements store.PropertyHistory from the change log (empty for
// a store made WithoutChangeLog). Each event is what the JetStream backend
// would have published for the change: id "mem:<n>" for the n-th change,
// its commit time, the subject's extended properties as they are now.
func (p *props) History(ctx context.Context, subj string, limit int) ([]cloudevents.Event, error) {
	if err := store.CheckHistory(subj, limit); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := (*Store)(p)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	out := []cloudevents.Event{}
	for i := len(s.changes) - 1; i >= 0 && len(out) < limit; i-- {
		c := s.changes[i]
		if subj != "" && c.Subject != subj {
			continue
		}
		var ext map[string]string
		if sub := s.subjects[c.Subject]; sub != nil {
			ext = sub.ext
		}
		ev := c.Event("", ext)
		ev.SetID(fmt.Sprintf("mem:%d", i+1))
		ev.SetTime(s.changeAt[i])
		out = append(out, ev)
	}
	return out, nil
}

// Snapshot is a copy of a store's contents, for test assertions.
type Snapshot struct {
	KV         map[string]map[string][]byte          // namespace → key → value
	Properties map[string]map[string]json.RawMessage // subject → name → value
	Extended   map[string]map[string]string          // subject → name → value
}

// Dump returns a copy of the store's contents. Subjects without properties
// or extended properties are absent from the corresponding map.
func (s *Store) Dump() Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	snap := Snapshot{
		KV:         make(map[string]map[string][]byte, len(s.kv)),
		Properties: map[string]map[string]json.RawMessage{},
		Extended:   map[string]map[string]string{},
	}
	for ns, keys := range s.kv {
		m := make(map[string][]byte, len(keys))
		for k, e := range keys {
			m[k] = bytes.Clone(e.value)
		}
		snap.KV[ns] = m
	}
	for name, sub := range s.subjects {
		if len(sub.props) > 0 {
			m := make(map[string]json.RawMessage, len(sub.props))
			for p, e := range sub.props {
				m[p] = bytes.Clone(e.value)
			}
			snap.Properties[name] = m
		}
		if len(sub.ext) > 0 {
			snap.Extended[name] = maps.Clone(sub.ext)
		}
	}
	return snap
}

// commit records c and queues it for the notifier; the caller holds mu for
// writing and must call drain after releasing it.
func (s *Store) commit(ctx context.Context, c store.Change) {
	if !s.noLog {
		s.changes = append(s.changes, c)
		s.changeAt = append(s.changeAt, time.Now().UTC())
	}
	if s.notify == nil {
		return
	}
	s.nmu.Lock()
	s.pending = append(s.pending, pendingChange{ctx: ctx, c: cloneChange(c)})
	s.nmu.Unlock()
}

// drain delivers queued changes unless another goroutine already is, in
// which case that goroutine delivers ours too, in order. A writer can thus
// return before its change is delivered, but only while another writer (or
// an enclosing notifier call) is delivering.
func (s *Store) drain() {
	if s.notify == nil {
		return
	}
	s.nmu.Lock()
	if s.draining {
		s.nmu.Unlock()
		return
	}
	s.draining = true
	// Index rather than reslice, so the queue's array is reused; writers
	// append to it while the notifier runs.
	for i := 0; i < len(s.pending); i++ {
		p := s.pending[i]
		s.pending[i] = pendingChange{}
		s.nmu.Unlock()
		s.deliver(p, i)
		s.nmu.Lock()
	}
	s.pending = s.pending[:0]
	s.draining = false
	s.nmu.Unlock()
}

// deliver calls the notifier with the i-th queued change. If the notifier
// panics, the queue drops what was delivered and is released, so later
// changes are still delivered (by the next writer).
func (s *Store) deliver(p pendingChange, i int) {
	done := false
	defer func() {
		if !done {
			s.nmu.Lock()
			s.pending = append(s.pending[:0], s.pending[i+1:]...)
			s.draining = false
			s.nmu.Unlock()
		}
	}()
	s.notify(p.ctx, p.c)
	done = true
}

func cloneChange(c store.Change) store.Change {
	c.Old = bytes.Clone(c.Old)
	c.New = bytes.Clone(c.New)
	return c
}

// kv is the store.KV view of a Store.
type kv Store

func (k *kv) Get(ctx context.Context, ns, key string) (store.Entry, error) {
	if err := store.CheckKey("get", ns, key); err != nil {
		return store.Entry{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Entry{}, store.WrapKey("get", key, err)
	}
	k.mu.RLock()
	e, ok := k.kv[ns][key]
	closed := k.closed
	k.mu.RUnlock()
	switch {
	case closed:
		return store.Entry{}, store.WrapKey("get", key, errClosed)
	case !ok:
		return store.Entry{}, store.WrapKey("get", key, store.ErrNotFound)
	}
	return store.Entry{Value: bytes.Clone(e.value), Revision: e.rev}, nil
}

func (k *kv) Put(ctx context.Context, ns, key string, value []byte) (uint64, error) {
	if err := store.CheckKey("put", ns, key); err != nil {
		return 0, err
	}
	if err := store.CheckValue("put", key, value); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, store.WrapKey("put", key, err)
	}
	// Clone keeps a zero-length value non-nil, so Get returns []byte{}.
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return 0, store.WrapKey("put", key, errClosed)
	}
	wk, seen := (*Store)(k).repeat(ctx, "kv", ns, key)
	if seen {
		return k.kv[ns][key].rev, nil
	}
	keys := k.kv[ns]
	if keys == nil {
		keys = map[string]entry{}
		k.kv[ns] = keys
	}
	k.rev++
	keys[key] = entry{value: v, rev: k.rev}
	(*Store)(k).remember(wk)
	return k.rev, nil
}

func (k *kv) Delete(ctx context.Context, ns, key string) error {
	if err := store.CheckKey("delete", ns, key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return store.WrapKey("delete", key, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return store.WrapKey("delete", key, errClosed)
	}
	wk, seen := (*Store)(k).repeat(ctx, "kv", ns, key)
	if seen {
		return nil
	}
	if keys := k.kv[ns]; keys != nil {
		delete(keys, key)
		if len(keys) == 0 {
			delete(k.kv, ns)
		}
	}
	(*Store)(k).remember(wk)
	return nil
}

func (k *kv) Keys(ctx context.Context, ns, prefix string) ([]string, error) {
	if err := store.CheckNamespace("list keys of", ns); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list keys of namespace %q: %w", ns, err)
	}
	k.mu.RLock()
	if k.closed {
		k.mu.RUnlock()
		return nil, fmt.Errorf("list keys of namespace %q: %w", ns, errClosed)
	}
	out := []string{}
	for key := range k.kv[ns] {
		if strings.HasPrefix(key, prefix) {
			out = append(out, key)
		}
	}
	k.mu.RUnlock()
	slices.Sort(out)
	return out, nil
}

// props is the store.Properties view of a Store.
type props Store

func (p *props) Get(ctx context.Context, subj, name string) (store.Property, error) {
	if err := store.CheckProperty("get", subj, name); err != nil {
		return store.Property{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Property{}, store.WrapProperty("get", subj, name, err)
	}
	p.mu.RLock()
	var (
		e  entry
		ok bool
	)
	if sub := p.subjects[subj]; sub != nil {
		e, ok = sub.props[name]
	}
	closed := p.closed
	p.mu.RUnlock()
	switch {
	case closed:
		return store.Property{}, store.WrapProperty("get", subj, name, errClosed)
	case !ok:
		return store.Property{}, store.WrapProperty("get", subj, name, store.ErrNotFound)
	}
	return store.Property{Value: bytes.Clone(e.value), Revision: e.rev}, nil
}

func (p *props) Set(ctx context.Context, subj, name string, value json.RawMessage, expect int64) (store.Change, error) {
	if err := store.CheckProperty("set", subj, name); err != nil {
		return store.Change{}, err
	}
	if err := store.CheckPropertyValue("set", subj, name, value); err != nil {
		return store.Change{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Change{}, store.WrapProperty("set", subj, name, err)
	}
	v := bytes.Clone(value)

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return store.Change{}, store.WrapProperty("set", subj, name, errClosed)
	}
	sub := p.subjects[subj]
	var (
		cur entry
		ok  bool
	)
	if sub != nil {
		cur, ok = sub.props[name]
	}
	wk, seen := (*Store)(p).repeat(ctx, "prop", subj, name)
	if seen {
		p.mu.Unlock()
		return store.Change{Subject: subj, Name: name, New: bytes.Clone(cur.value), Revision: cur.rev}, nil
	}
	if err := store.CheckExpect(cur.rev, ok, expect); err != nil {
		p.mu.Unlock()
		return store.Change{}, store.WrapProperty("set", subj, name, err)
	}
	if sub == nil {
		sub = &subject{}
		p.subjects[subj] = sub
	}
	if sub.props == nil {
		sub.props = map[string]entry{}
	}
	p.rev++
	sub.props[name] = entry{value: v, rev: p.rev}
	c := store.Change{Subject: subj, Name: name, Old: cur.value, New: v, Revision: p.rev}
	(*Store)(p).remember(wk)
	(*Store)(p).commit(ctx, c)
	p.mu.Unlock()

	(*Store)(p).drain()
	return cloneChange(c), nil
}

func (p *props) Delete(ctx context.Context, subj, name string, expect int64) (store.Change, error) {
	if err := store.CheckProperty("delete", subj, name); err != nil {
		return store.Change{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Change{}, store.WrapProperty("delete", subj, name, err)
	}

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return store.Change{}, store.WrapProperty("delete", subj, name, errClosed)
	}
	sub := p.subjects[subj]
	var (
		cur entry
		ok  bool
	)
	if sub != nil {
		cur, ok = sub.props[name]
	}
	wk, seen := (*Store)(p).repeat(ctx, "prop", subj, name)
	if seen {
		p.mu.Unlock()
		return store.Change{Subject: subj, Name: name}, nil
	}
	if !ok {
		p.mu.Unlock()
		return store.Change{}, store.WrapProperty("delete", subj, name, store.ErrNotFound)
	}
	if err := store.CheckExpect(cur.rev, ok, expect); err != nil {
		p.mu.Unlock()
		return store.Change{}, store.WrapProperty("delete", subj, name, err)
	}
	delete(sub.props, name)
	(*Store)(p).dropIfEmpty(subj, sub)
	c := store.Change{Subject: subj, Name: name, Old: cur.value}
	(*Store)(p).remember(wk)
	(*Store)(p).commit(ctx, c)
	p.mu.Unlock()

	(*Store)(p).drain()
	return cloneChange(c), nil
}

func (p *props) List(ctx context.Context, subj string) (map[string]store.Property, error) {
	if err := store.CheckSubject("list properties of", subj); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, store.WrapSubject("list properties of", subj, err)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return nil, store.WrapSubject("list properties of", subj, errClosed)
	}
	sub := p.subjects[subj]
	if sub == nil {
		return map[string]store.Property{}, nil
	}
	out := make(map[string]store.Property, len(sub.props))
	for name, e := range sub.props {
		out[name] = store.Property{Value: bytes.Clone(e.value), Revision: e.rev}
	}
	return out, nil
}

func (p *props) GetExtended(ctx context.Context, subj, name string) (string, error) {
	if err := store.CheckExtended("get", subj, name); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", store.WrapExtended("get", subj, name, err)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return "", store.WrapExtended("get", subj, name, errClosed)
	}
	if sub := p.subjects[subj]; sub != nil {
		if v, ok := sub.ext[name]; ok {
			return v, nil
		}
	}
	return "", store.WrapExtended("get", subj, name, store.ErrNotFound)
}

func (p *props) SetExtended(ctx context.Context, subj, name, value string) error {
	if err := store.CheckExtended("set", subj, name); err != nil {
		return err
	}
	if err := store.CheckExtendedValue("set", subj, name, value); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return store.WrapExtended("set", subj, name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return store.WrapExtended("set", subj, name, errClosed)
	}
	wk, seen := (*Store)(p).repeat(ctx, "ext", subj, name)
	if seen {
		return nil
	}
	defer (*Store)(p).remember(wk)
	sub := p.subjects[subj]
	if sub == nil {
		sub = &subject{}
		p.subjects[subj] = sub
	}
	if sub.ext == nil {
		sub.ext = map[string]string{}
	}
	// Strings are immutable, so storing value is already a copy.
	sub.ext[name] = value
	return nil
}

func (p *props) DeleteExtended(ctx context.Context, subj, name string) error {
	if err := store.CheckExtended("delete", subj, name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return store.WrapExtended("delete", subj, name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return store.WrapExtended("delete", subj, name, errClosed)
	}
	wk, seen := (*Store)(p).repeat(ctx, "ext", subj, name)
	if seen {
		return nil
	}
	defer (*Store)(p).remember(wk)
	if sub := p.subjects[subj]; sub != nil {
		delete(sub.ext, name)
		(*Store)(p).dropIfEmpty(subj, sub)
	}
	return nil
}

func (p *props) Extended(ctx context.Context, subj string) (map[string]string, error) {
	if err := store.CheckSubject("list extended properties of", subj); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, store.WrapSubject("list extended properties of", subj, err)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return nil, store.WrapSubject("list extended properties of", subj, errClosed)
	}
	out := map[string]string{}
	if sub := p.subjects[subj]; sub != nil {
		maps.Copy(out, sub.ext)
	}
	return out, nil
}

// dropIfEmpty forgets a subject with nothing left, so deleted subjects do
// not accumulate; the caller holds mu for writing.
func (s *Store) dropIfEmpty(name string, sub *subject) {
	if len(sub.props) == 0 && len(sub.ext) == 0 {
		delete(s.subjects, name)
	}
}
