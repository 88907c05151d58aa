package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/store"
)

// Routing is what Triggers needs of the router: the whole set of triggers
// to deliver to. *router.Router is one.
type Routing interface {
	SetTriggers(ctx context.Context, triggers []router.Trigger) error
}

// TriggerInfo is a stored trigger.
type TriggerInfo struct {
	Trigger  router.Trigger `json:"trigger"`
	Revision uint64         `json:"revision"`
	Updated  time.Time      `json:"updated"`
}

// Triggers keeps trigger definitions in store.Definitions and hands the
// whole valid set to the router after every change. A trigger is validated
// completely before it is stored, so nothing invalid is ever persisted; one
// stored before a rule tightened is reported and skipped at load.
type Triggers struct {
	defs    store.Definitions
	routing Routing
	log     *slog.Logger

	mu      sync.Mutex // serialises changes and the sync that follows each
	invalid map[string]error
	// routes are the valid HTTP triggers, replaced by every sync.
	routes atomic.Pointer[Routes]
	// catalog, if set, is told the triggers' data schemas at every sync.
	catalog *Catalog
}

// CheckWith makes the call path of c check the data schemas of these
// triggers.
func (ts *Triggers) CheckWith(c *Catalog) {
	ts.mu.Lock()
	ts.catalog = c
	ts.mu.Unlock()
}

// Routes is a snapshot of the HTTP triggers: Version grows with every
// sync, so a reader rebuilds its table only when it changed.
type Routes struct {
	Version  uint64
	Triggers []router.Trigger
}

// Routes returns the current HTTP triggers.
func (ts *Triggers) Routes() *Routes {
	if r := ts.routes.Load(); r != nil {
		return r
	}
	return &Routes{}
}

// NewTriggers returns the trigger definitions in defs, delivered by routing
// (nil: stored only).
func NewTriggers(defs store.Definitions, routing Routing, logger *slog.Logger) *Triggers {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Triggers{defs: defs, routing: routing, log: logger.With("component", "triggers"), invalid: map[string]error{}}
}

// Put validates t, stores it as trigger name and hands every trigger to
// the router.
func (ts *Triggers) Put(ctx context.Context, name string, t router.Trigger) (TriggerInfo, error) {
	if err := CheckName("trigger", name); err != nil {
		return TriggerInfo{}, err
	}
	if t.Name != "" && t.Name != name {
		return TriggerInfo{}, &kindError{kind: ErrBadName, msg: fmt.Sprintf("trigger name %q in the body differs from %q in the path", t.Name, name)}
	}
	t.Name = name
	t.Created = time.Time{}
	if err := t.Normalize(); err != nil {
		return TriggerInfo{}, wrapf(ErrInvalid, err, "trigger %s", name)
	}
	if err := CheckName("function", t.Function); err != nil {
		return TriggerInfo{}, err
	}
	if _, err := compileSchema("trigger "+name, t.DataSchema); err != nil {
		return TriggerInfo{}, err
	}
	if _, err := ts.defs.Get(ctx, KindFunction, t.Function); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return TriggerInfo{}, errorf(ErrInvalid, "trigger %s: function %s does not exist", name, t.Function)
		}
		return TriggerInfo{}, err
	}
	data, err := json.Marshal(t)
	if err != nil {
		return TriggerInfo{}, err
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	// A trigger keeps its creation time across changes: it is where its
	// consumers started.
	t.Created = time.Now().UTC()
	if prev, err := ts.defs.Get(ctx, KindTrigger, name); err == nil {
		if old, derr := decodeTrigger(prev); derr == nil && !old.Created.IsZero() {
			t.Created = old.Created
		}
	}
	data, err = json.Marshal(t)
	if err != nil {
		return TriggerInfo{}, err
	}
	doc, err := ts.defs.Put(ctx, KindTrigger, name, data, -1)
	if err != nil {
		return TriggerInfo{}, err
	}
	if err := ts.syncLocked(ctx); err != nil {
		// Stored: every host's definitions watch hands it to its router,
		// retrying; a repeat of this request is answered once it is.
		return TriggerInfo{}, wrapf(ErrUnavailable, err, "trigger %s is stored but its delivery could not start yet; it is retried", name)
	}
	return TriggerInfo{Trigger: t, Revision: doc.Revision, Updated: doc.Updated}, nil
}

// Get returns the stored trigger name.
func (ts *Triggers) Get(ctx context.Context, name string) (TriggerInfo, error) {
	if err := CheckName("trigger", name); err != nil {
		return TriggerInfo{}, err
	}
	doc, err := ts.defs.Get(ctx, KindTrigger, name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return TriggerInfo{}, errorf(ErrNotFound, "trigger %s does not exist", name)
		}
		return TriggerInfo{}, err
	}
	var t router.Trigger
	if err := json.Unmarshal(doc.Data, &t); err != nil {
		return TriggerInfo{}, fmt.Errorf("decode trigger %s: %w", name, err)
	}
	return TriggerInfo{Trigger: t, Revision: doc.Revision, Updated: doc.Updated}, nil
}

// List returns every stored trigger, sorted by name, with the reason it is
// not delivered for those that no longer validate.
func (ts *Triggers) List(ctx context.Context) ([]router.Trigger, map[string]error, error) {
	docs, err := ts.defs.List(ctx, KindTrigger)
	if err != nil {
		return nil, nil, err
	}
	out := make([]router.Trigger, 0, len(docs))
	invalid := map[string]error{}
	for _, d := range docs {
		t, err := decodeTrigger(d)
		if err != nil {
			invalid[d.Name] = err
		}
		out = append(out, t)
	}
	return out, invalid, nil
}

func decodeTrigger(d store.Doc) (router.Trigger, error) {
	var t router.Trigger
	if err := json.Unmarshal(d.Data, &t); err != nil {
		return router.Trigger{Name: d.Name}, fmt.Errorf("decode trigger %s: %w", d.Name, err)
	}
	if t.Name == "" {
		t.Name = d.Name
	}
	check := t
	if err := check.Normalize(); err != nil {
		return t, err
	}
	return check, nil
}

// Delete removes trigger name and stops its delivery.
func (ts *Triggers) Delete(ctx context.Context, name string) error {
	if err := CheckName("trigger", name); err != nil {
		return err
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if err := ts.defs.Delete(ctx, KindTrigger, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(ErrNotFound, "trigger %s does not exist", name)
		}
		return err
	}
	if err := ts.syncLocked(ctx); err != nil {
		return wrapf(ErrUnavailable, err, "trigger %s is deleted but its delivery could not stop yet; it is retried", name)
	}
	return nil
}

// Load hands every stored trigger to the router, at start. A trigger that
// no longer validates is skipped and reported in invalid, never fatal.
func (ts *Triggers) Load(ctx context.Context) (invalid map[string]error, err error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if err := ts.syncLocked(ctx); err != nil {
		return nil, err
	}
	for name, err := range ts.invalid {
		ts.log.Warn("trigger not delivered: its stored definition is invalid; fix it with a PUT or delete it", "trigger", name, "error", err)
	}
	return ts.invalid, nil
}

// Sync hands every stored trigger to the router again: after a trigger
// changed on another host (store.Definitions.Watch).
func (ts *Triggers) Sync(ctx context.Context) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.syncLocked(ctx)
}

// Invalid returns the stored triggers that are not delivered and why.
func (ts *Triggers) Invalid() map[string]error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make(map[string]error, len(ts.invalid))
	for k, v := range ts.invalid {
		out[k] = v
	}
	return out
}

// syncLocked hands every valid stored trigger to the router.
func (ts *Triggers) syncLocked(ctx context.Context) error {
	all, invalid, err := ts.List(ctx)
	if err != nil {
		return fmt.Errorf("list triggers: %w", err)
	}
	ts.invalid = invalid
	valid := make([]router.Trigger, 0, len(all))
	var routes []router.Trigger
	for _, t := range all {
		if _, bad := invalid[t.Name]; !bad {
			valid = append(valid, t)
			if t.Route != "" {
				routes = append(routes, t)
			}
		}
	}
	ts.routes.Store(&Routes{Version: ts.Routes().Version + 1, Triggers: routes})
	if ts.catalog != nil {
		schemas := map[string]*dataSchema{}
		for _, t := range valid {
			if sch, err := compileSchema("trigger "+t.Name, t.DataSchema); err == nil && sch != nil {
				schemas[t.Name] = sch
			}
		}
		ts.catalog.setTriggerSchemas(schemas)
	}
	if ts.routing == nil {
		return nil
	}
	if err := ts.routing.SetTriggers(ctx, valid); err != nil {
		return fmt.Errorf("deliver triggers: %w", err)
	}
	return nil
}
