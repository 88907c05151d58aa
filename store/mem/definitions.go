package mem

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/wasmfaas/wasmfaas/store"
)

// Definitions is an in-memory store.Definitions; safe for concurrent use.
type Definitions struct {
	mu   sync.Mutex
	rev  uint64
	docs map[string][]store.Doc // kind + "/" + name -> revisions, oldest first
	now  func() time.Time
	keep int
	// watchers get every change, in order, each on its own goroutine.
	watchers []*defWatcher
}

// defWatcher queues changes for one Watch callback.
type defWatcher struct {
	ctx   context.Context
	mu    sync.Mutex
	queue []store.DefChange
	wake  chan struct{} // capacity 1: a change is queued
}

var _ store.Definitions = (*Definitions)(nil)

// NewDefinitions returns an empty store keeping keep revisions per name
// (0 means store.MinDefinitionHistory).
func NewDefinitions(keep int) *Definitions {
	if keep < store.MinDefinitionHistory {
		keep = store.MinDefinitionHistory
	}
	return &Definitions{docs: map[string][]store.Doc{}, now: time.Now, keep: keep}
}

// Put implements store.Definitions.
func (d *Definitions) Put(ctx context.Context, kind, name string, data json.RawMessage, expect int64) (store.Doc, error) {
	if err := ctx.Err(); err != nil {
		return store.Doc{}, err
	}
	if err := store.CheckDefinition("put", kind, name); err != nil {
		return store.Doc{}, err
	}
	if !json.Valid(data) {
		return store.Doc{}, fmt.Errorf("put %s/%s: %w: data is not valid JSON", kind, name, store.ErrInvalid)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	key := kind + "/" + name
	revs := d.docs[key]
	var cur uint64
	if len(revs) > 0 {
		cur = revs[len(revs)-1].Revision
	}
	if err := store.CheckExpect(cur, len(revs) > 0, expect); err != nil {
		return store.Doc{}, fmt.Errorf("put %s/%s: %w", kind, name, err)
	}
	d.rev++
	doc := store.Doc{Kind: kind, Name: name, Revision: d.rev, Data: append(json.RawMessage(nil), data...), Updated: d.now().UTC()}
	revs = append(revs, doc)
	if len(revs) > d.keep {
		revs = append([]store.Doc(nil), revs[len(revs)-d.keep:]...)
	}
	d.docs[key] = revs
	d.notifyLocked(store.DefChange{Doc: doc})
	return doc, nil
}

// Get implements store.Definitions.
func (d *Definitions) Get(ctx context.Context, kind, name string) (store.Doc, error) {
	if err := ctx.Err(); err != nil {
		return store.Doc{}, err
	}
	if err := store.CheckDefinition("get", kind, name); err != nil {
		return store.Doc{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	revs := d.docs[kind+"/"+name]
	if len(revs) == 0 {
		return store.Doc{}, fmt.Errorf("get %s/%s: %w", kind, name, store.ErrNotFound)
	}
	return revs[len(revs)-1], nil
}

// History implements store.Definitions.
func (d *Definitions) History(ctx context.Context, kind, name string) ([]store.Doc, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := store.CheckDefinition("history", kind, name); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	revs := d.docs[kind+"/"+name]
	if len(revs) == 0 {
		return nil, fmt.Errorf("history %s/%s: %w", kind, name, store.ErrNotFound)
	}
	return append([]store.Doc(nil), revs...), nil
}

// List implements store.Definitions.
func (d *Definitions) List(ctx context.Context, kind string) ([]store.Doc, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := store.CheckDefinition("list", kind, "x"); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []store.Doc
	for _, revs := range d.docs {
		if last := revs[len(revs)-1]; last.Kind == kind {
			out = append(out, last)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete implements store.Definitions.
func (d *Definitions) Delete(ctx context.Context, kind, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := store.CheckDefinition("delete", kind, name); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	key := kind + "/" + name
	if len(d.docs[key]) == 0 {
		return fmt.Errorf("delete %s/%s: %w", kind, name, store.ErrNotFound)
	}
	delete(d.docs, key)
	d.rev++
	d.notifyLocked(store.DefChange{Doc: store.Doc{Kind: kind, Name: name, Revision: d.rev, Updated: d.now().UTC()}, Deleted: true})
	return nil
}

// Watch implements store.Definitions.
func (d *Definitions) Watch(ctx context.Context, fn func(store.DefChange)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &defWatcher{ctx: ctx, wake: make(chan struct{}, 1)}
	d.mu.Lock()
	d.watchers = append(d.watchers, w)
	d.mu.Unlock()
	go func() {
		defer d.unwatch(w)
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			}
			w.mu.Lock()
			batch := w.queue
			w.queue = nil
			w.mu.Unlock()
			for _, c := range batch {
				fn(c)
			}
		}
	}()
	return nil
}

func (d *Definitions) unwatch(w *defWatcher) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, x := range d.watchers {
		if x == w {
			d.watchers = append(d.watchers[:i:i], d.watchers[i+1:]...)
			return
		}
	}
}

// notifyLocked queues c for every watcher; d.mu is held, so changes are
// queued in the order they were stored.
func (d *Definitions) notifyLocked(c store.DefChange) {
	for _, w := range d.watchers {
		w.mu.Lock()
		w.queue = append(w.queue, c)
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}
