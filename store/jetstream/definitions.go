package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/store"
)

// DefinitionsConfig configures NewDefinitions.
type DefinitionsConfig struct {
	// Bucket is the definitions bucket; layout.DefsBucket if empty.
	Bucket string
}

// Definitions is store.Definitions on a JetStream KV bucket with history:
// key = kind.name (names are [A-Za-z0-9_-], valid KV tokens as they are),
// every Put a revision, Delete a purge.
type Definitions struct {
	kv jetstream.KeyValue
}

var _ store.Definitions = (*Definitions)(nil)

// NewDefinitions opens the bucket, which must exist (layout.Ensure).
func NewDefinitions(ctx context.Context, js jetstream.JetStream, cfg DefinitionsConfig) (*Definitions, error) {
	if cfg.Bucket == "" {
		cfg.Bucket = layout.DefsBucket
	}
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if err != nil {
		return nil, unavailable(ctx, fmt.Errorf("open definitions bucket %s: %w", cfg.Bucket, err))
	}
	return &Definitions{kv: kv}, nil
}

func defKey(kind, name string) string { return kind + "." + name }

func docOf(kind, name string, e jetstream.KeyValueEntry) store.Doc {
	return store.Doc{Kind: kind, Name: name, Revision: e.Revision(), Data: json.RawMessage(e.Value()), Updated: e.Created().UTC()}
}

// Put implements store.Definitions.
func (d *Definitions) Put(ctx context.Context, kind, name string, data json.RawMessage, expect int64) (store.Doc, error) {
	if err := store.CheckDefinition("put", kind, name); err != nil {
		return store.Doc{}, err
	}
	if !json.Valid(data) {
		return store.Doc{}, fmt.Errorf("put %s/%s: %w: data is not valid JSON", kind, name, store.ErrInvalid)
	}
	key := defKey(kind, name)
	var rev uint64
	var err error
	switch {
	case expect == abi.RevAny:
		rev, err = d.kv.Put(ctx, key, data)
	case expect == abi.RevAbsent:
		rev, err = d.kv.Create(ctx, key, data)
	case expect > 0:
		rev, err = d.kv.Update(ctx, key, data, uint64(expect))
	default:
		return store.Doc{}, fmt.Errorf("put %s/%s: %w: expected revision %d", kind, name, store.ErrInvalid, expect)
	}
	switch {
	case err != nil && isConflict(err):
		return store.Doc{}, fmt.Errorf("put %s/%s: %w: %v", kind, name, store.ErrConflict, err)
	case err != nil:
		return store.Doc{}, unavailable(ctx, fmt.Errorf("put %s/%s: %w", kind, name, err))
	}
	e, err := d.kv.GetRevision(ctx, key, rev)
	if err != nil {
		return store.Doc{}, unavailable(ctx, fmt.Errorf("read back %s/%s: %w", kind, name, err))
	}
	return docOf(kind, name, e), nil
}

// Get implements store.Definitions.
func (d *Definitions) Get(ctx context.Context, kind, name string) (store.Doc, error) {
	if err := store.CheckDefinition("get", kind, name); err != nil {
		return store.Doc{}, err
	}
	e, err := d.kv.Get(ctx, defKey(kind, name))
	if isNotFound(err) {
		return store.Doc{}, fmt.Errorf("get %s/%s: %w", kind, name, store.ErrNotFound)
	}
	if err != nil {
		return store.Doc{}, unavailable(ctx, fmt.Errorf("get %s/%s: %w", kind, name, err))
	}
	return docOf(kind, name, e), nil
}

// History implements store.Definitions: the revisions since the last
// delete, oldest first.
func (d *Definitions) History(ctx context.Context, kind, name string) ([]store.Doc, error) {
	if err := store.CheckDefinition("history", kind, name); err != nil {
		return nil, err
	}
	entries, err := d.kv.History(ctx, defKey(kind, name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("history %s/%s: %w", kind, name, store.ErrNotFound)
	}
	if err != nil {
		return nil, unavailable(ctx, fmt.Errorf("history %s/%s: %w", kind, name, err))
	}
	var out []store.Doc
	for _, e := range entries {
		if e.Operation() != jetstream.KeyValuePut {
			out = out[:0]
			continue
		}
		out = append(out, docOf(kind, name, e))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("history %s/%s: %w", kind, name, store.ErrNotFound)
	}
	return out, nil
}

// List implements store.Definitions.
func (d *Definitions) List(ctx context.Context, kind string) ([]store.Doc, error) {
	if err := store.CheckDefinition("list", kind, "x"); err != nil {
		return nil, err
	}
	lister, err := d.kv.ListKeysFiltered(ctx, kind+".*")
	if err != nil {
		return nil, unavailable(ctx, fmt.Errorf("list %s: %w", kind, err))
	}
	var names []string
	for k := range lister.Keys() {
		names = append(names, strings.TrimPrefix(k, kind+"."))
	}
	sort.Strings(names)
	out := make([]store.Doc, 0, len(names))
	for _, n := range names {
		doc, err := d.Get(ctx, kind, n)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted between the listing and the read
		}
		if err != nil {
			return nil, err
		}
		out = append(out, doc)
	}
	return out, nil
}

// Delete implements store.Definitions; it purges the history too.
func (d *Definitions) Delete(ctx context.Context, kind, name string) error {
	if _, err := d.Get(ctx, kind, name); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := d.kv.Purge(ctx, defKey(kind, name)); err != nil {
		return unavailable(ctx, fmt.Errorf("delete %s/%s: %w", kind, name, err))
	}
	return nil
}

// Watch implements store.Definitions with a watch of the whole bucket from
// the revision after the bucket's last one when Watch is called. A JetStream
// KV watch is an ordered consumer: it delivers in the bucket's order and
// recreates itself after a gap, but a recreation refused by the server (on
// a cluster electing leaders, say) ends it silently. So Watch checks the
// bucket's last revision every watchCheck and, when the watch has not
// reached a revision the bucket held one check earlier, starts a new one
// from the revision after the last delivered: a change comes at most two
// checks late, and none is lost.
func (d *Definitions) Watch(ctx context.Context, fn func(store.DefChange)) error {
	last, err := d.lastRevision(ctx)
	if err != nil {
		return err
	}
	w, err := d.kv.WatchAll(ctx, jetstream.ResumeFromRevision(last+1))
	if err != nil {
		return unavailable(ctx, fmt.Errorf("watch definitions: %w", err))
	}
	go func() {
		tick := time.NewTicker(watchCheck)
		defer tick.Stop()
		var behind uint64 // the bucket's last revision at the previous check, if the watch had not reached it
		for {
			var updates <-chan jetstream.KeyValueEntry
			if w != nil {
				updates = w.Updates()
			}
			select {
			case <-ctx.Done():
				if w != nil {
					_ = w.Stop()
				}
				return
			case e, ok := <-updates:
				if !ok {
					w = nil // ended: the next check starts another
					continue
				}
				if e == nil || e.Revision() <= last {
					continue // the end of the current values (none here), or a repeat
				}
				last = e.Revision()
				d.deliver(e, fn)
			case <-tick.C:
				head, err := d.lastRevision(ctx)
				if err != nil {
					continue // the server is away: check again later
				}
				stalled := w == nil || (behind != 0 && last < behind)
				behind = 0
				if head > last {
					behind = head
				}
				if !stalled {
					continue
				}
				if w != nil {
					_ = w.Stop()
				}
				w, err = d.kv.WatchAll(ctx, jetstream.ResumeFromRevision(last+1))
				if err != nil {
					w = nil
				}
			}
		}
	}()
	return nil
}

// watchCheck is how often Watch compares the watch with the bucket.
const watchCheck = 500 * time.Millisecond

// lastRevision returns the bucket's last revision (its stream's last
// sequence).
func (d *Definitions) lastRevision(ctx context.Context) (uint64, error) {
	st, err := d.kv.Status(ctx)
	if err != nil {
		return 0, unavailable(ctx, fmt.Errorf("watch definitions: %w", err))
	}
	bs, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok {
		return 0, fmt.Errorf("watch definitions: unexpected bucket status %T", st)
	}
	return bs.StreamInfo().State.LastSeq, nil
}

// deliver calls fn with the change entry e tells of.
func (d *Definitions) deliver(e jetstream.KeyValueEntry, fn func(store.DefChange)) {
	kind, name, ok := strings.Cut(e.Key(), ".")
	if !ok {
		return // a key no Definitions wrote
	}
	if e.Operation() == jetstream.KeyValuePut {
		fn(store.DefChange{Doc: docOf(kind, name, e)})
		return
	}
	fn(store.DefChange{Doc: store.Doc{Kind: kind, Name: name, Revision: e.Revision(), Updated: e.Created().UTC()}, Deleted: true})
}
