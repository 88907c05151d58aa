package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/modules"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/store"
)

// Definition kinds in store.Docs.
const (
	KindFunction = "function"
	KindTrigger  = "trigger"
)

// FunctionSpec is what a function is made of: a module digest and how the
// function runs it.
type FunctionSpec struct {
	Module    string            `json:"module"`
	Config    map[string]string `json:"config,omitempty"`
	Grants    []string          `json:"grants,omitempty"`
	Limits    LimitsSpec        `json:"limits,omitempty"`
	Isolation string            `json:"isolation,omitempty"`
	// DataSchema is a JSON Schema the data of every event the function
	// takes must match; events that do not are rejected before any
	// instance runs.
	DataSchema json.RawMessage `json:"data_schema,omitempty"`
	// AllowedHosts are the hosts the http capability may reach
	// (abi/README.md §4, "http"): api.example.com, api.example.com:8443,
	// *.example.com, 127.0.0.1:8081. Empty allows none.
	AllowedHosts []string `json:"allowed_hosts,omitempty"`
}

// LimitsSpec is host.Limits with the timeout as a string ("10s").
type LimitsSpec struct {
	MemoryPages    uint32          `json:"memory_pages,omitempty"`
	Timeout        router.Duration `json:"timeout,omitempty"`
	MaxConcurrency int             `json:"max_concurrency,omitempty"`
	MaxOutputBytes int             `json:"max_output_bytes,omitempty"`
	MaxEmits       int             `json:"max_emits,omitempty"`
	MaxLogBytes    int             `json:"max_log_bytes,omitempty"`
	MaxSchedules   int             `json:"max_schedules,omitempty"`

	HTTPTimeout          router.Duration `json:"http_timeout,omitempty"`
	MaxHTTPRequests      int             `json:"max_http_requests,omitempty"`
	MaxHTTPRequestBytes  int             `json:"max_http_request_bytes,omitempty"`
	MaxHTTPResponseBytes int             `json:"max_http_response_bytes,omitempty"`
}

func (l LimitsSpec) limits() host.Limits {
	return host.Limits{
		MemoryPages: l.MemoryPages, Timeout: time.Duration(l.Timeout), MaxConcurrency: l.MaxConcurrency,
		MaxOutputBytes: l.MaxOutputBytes, MaxEmits: l.MaxEmits, MaxLogBytes: l.MaxLogBytes, MaxSchedules: l.MaxSchedules,
		HTTPTimeout: time.Duration(l.HTTPTimeout), MaxHTTPRequests: l.MaxHTTPRequests,
		MaxHTTPRequestBytes: l.MaxHTTPRequestBytes, MaxHTTPResponseBytes: l.MaxHTTPResponseBytes,
	}
}

// FunctionInfo is one revision of a function.
type FunctionInfo struct {
	Name string `json:"name"`
	// Revision numbers the function's definitions 1, 2, 3…; a rollback is
	// a new revision with an older spec.
	Revision uint64       `json:"revision"`
	Updated  time.Time    `json:"updated"`
	Spec     FunctionSpec `json:"spec"`
	Stats    *host.Stats  `json:"stats,omitempty"`
}

// record is a function definition as stored.
type record struct {
	Revision uint64       `json:"revision"`
	Spec     FunctionSpec `json:"spec"`
}

// decodeRecord reads a stored definition. Definitions stored before
// revisions were numbered per function are a bare FunctionSpec; they keep
// the store's revision as their number.
func decodeRecord(doc store.Doc) (record, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(doc.Data, &probe); err != nil {
		return record{}, fmt.Errorf("decode function %s: %w", doc.Name, err)
	}
	if _, ok := probe["spec"]; ok {
		var r record
		if err := json.Unmarshal(doc.Data, &r); err != nil {
			return record{}, fmt.Errorf("decode function %s: %w", doc.Name, err)
		}
		return r, nil
	}
	var spec FunctionSpec
	if err := json.Unmarshal(doc.Data, &spec); err != nil {
		return record{}, fmt.Errorf("decode function %s: %w", doc.Name, err)
	}
	return record{Revision: doc.Revision, Spec: spec}, nil
}

// deployed is one revision of a function, live in the host. Calls hold it
// through refs, so a new revision can take over while calls in flight
// finish on the old one, which is closed when the last of them returns.
type deployed struct {
	info   FunctionInfo
	fn     *host.Function
	schema *dataSchema // nil: none

	mu      sync.Mutex
	refs    int
	retired bool
}

func (d *deployed) acquire() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.retired {
		return false
	}
	d.refs++
	return true
}

func (d *deployed) release(ctx context.Context) {
	d.mu.Lock()
	d.refs--
	closeNow := d.retired && d.refs == 0
	d.mu.Unlock()
	if closeNow {
		_ = d.fn.Close(ctx)
	}
}

func (d *deployed) retire(ctx context.Context) {
	d.mu.Lock()
	d.retired = true
	closeNow := d.refs == 0
	d.mu.Unlock()
	if closeNow {
		_ = d.fn.Close(ctx)
	}
}

// Emitter stores the events an ok call emitted; router.Emitter is one.
type Emitter interface {
	Publish(ctx context.Context, function, scope string, cause cloudevents.Event, emitted []cloudevents.Event) error
}

// Scheduler stores the schedule operations of an ok call;
// router.Scheduler is one.
type Scheduler interface {
	Commit(ctx context.Context, function string, cause cloudevents.Event, ops []host.Scheduled) error
}

// Config configures a Catalog.
type Config struct {
	// Logger receives one line per call (the ExecutionInfo) and warnings;
	// nil discards them.
	Logger *slog.Logger
}

// Deps are the parts a Catalog runs on.
type Deps struct {
	Host    *host.Host
	Modules *modules.Registry
	Defs    store.Definitions
	// Calls records every call; nil logs calls without recording them.
	Calls store.CallLog
	// Emitter stores what ok calls emit; nil leaves emitted events in the
	// ExecutionInfo only (a host with no event stream).
	Emitter Emitter
	// Scheduler stores what ok calls schedule; nil leaves scheduled
	// events in the ExecutionInfo only.
	Scheduler Scheduler
}

// Catalog holds the live functions, persists their definitions and runs
// them (Invoke). It is safe for concurrent use.
//
// Lock order: Catalog.mu, then deployed.mu; neither is held across a
// guest call or a store operation.
type Catalog struct {
	// triggerSchemas are the data schemas of triggers, by name (Triggers
	// sets them).
	triggerSchemas atomic.Pointer[map[string]*dataSchema]

	deps    Deps
	log     *slog.Logger
	metrics *metrics
	// putMu serialises definition changes, so a rollback and a put of the
	// same name cannot interleave their read and write.
	putMu sync.Mutex

	mu    sync.RWMutex // guards funcs, unloaded and revs
	funcs map[string]*deployed
	// unloaded are the stored functions Load or Apply could not make
	// live, and why.
	unloaded map[string]error
	// revs is, per name, the store revision of the last definition change
	// this host applied (a put, or a delete seen by the watch): a change
	// at or below it is one this host has already applied. Changes come
	// from this host's own calls and from the watch, in either order.
	revs map[string]uint64

	drain drainer
}

// New returns an empty Catalog; Load makes the stored functions live.
func New(cfg Config, deps Deps) (*Catalog, error) {
	if deps.Host == nil || deps.Modules == nil || deps.Defs == nil {
		return nil, errors.New("new function catalog: host, modules and definitions are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Catalog{deps: deps, log: log.With("component", "functions"), funcs: map[string]*deployed{}, unloaded: map[string]error{}, revs: map[string]uint64{}}
	c.metrics = newMetrics(c)
	return c, nil
}

// build makes a host.Function from a spec, validating grants against the
// module's imports (ErrInvalid naming the missing grant when they fall short).
func (c *Catalog) build(ctx context.Context, name string, spec FunctionSpec) (*host.Function, error) {
	if spec.Module == "" {
		return nil, errorf(ErrInvalid, "function %s: module (a digest) is required", name)
	}
	if _, err := compileSchema("function "+name, spec.DataSchema); err != nil {
		return nil, err
	}
	m, err := c.deps.Modules.Module(ctx, spec.Module)
	if err != nil {
		if errors.Is(err, modules.ErrNotFound) {
			return nil, errorf(ErrInvalid, "function %s: module %s is not uploaded", name, spec.Module)
		}
		if errors.Is(err, store.ErrInvalid) {
			return nil, wrapf(ErrInvalid, err, "function %s", name)
		}
		return nil, err
	}
	grants := abi.NewGrants(abi.DefaultGrants...)
	for _, g := range spec.Grants {
		cp, err := abi.ParseCapability(g)
		if err != nil {
			return nil, wrapf(ErrInvalid, err, "function %s", name)
		}
		grants[cp] = true
	}
	for _, h := range spec.AllowedHosts {
		if err := host.ParseAllowedHost(h); err != nil {
			return nil, wrapf(ErrInvalid, err, "function %s", name)
		}
	}
	if len(spec.AllowedHosts) > 0 && !grants.Has(abi.CapHTTP) {
		return nil, errorf(ErrInvalid, "function %s: allowed_hosts are set but capability \"http\" is not granted", name)
	}
	hm, err := c.deps.Host.Load(ctx, m.Wasm)
	if err != nil {
		return nil, wrapf(ErrInvalid, err, "function %s", name)
	}
	var missing []string
	for _, cp := range m.Capabilities {
		if !grants.Has(cp) {
			missing = append(missing, string(cp))
		}
	}
	if len(missing) > 0 {
		return nil, errorf(ErrInvalid, "function %s: module %s imports capabilities that are not granted: %v", name, spec.Module, missing)
	}
	fn, err := c.deps.Host.NewFunction(ctx, hm, host.FunctionConfig{
		Name: name, Config: spec.Config, Grants: grants, Limits: spec.Limits.limits(), Isolation: host.Isolation(spec.Isolation),
		AllowedHosts: spec.AllowedHosts,
	})
	var me *abi.ModuleError
	if errors.As(err, &me) || errors.Is(err, host.ErrInvalidFunction) {
		return nil, wrapf(ErrInvalid, err, "function %s", name)
	}
	return fn, err
}

// Put validates spec, stores it as the function's next revision, and makes
// it live. Nothing is stored unless the function can be made live.
func (c *Catalog) Put(ctx context.Context, name string, spec FunctionSpec) (FunctionInfo, error) {
	if err := CheckName("function", name); err != nil {
		return FunctionInfo{}, err
	}
	fn, err := c.build(ctx, name, spec)
	if err != nil {
		return FunctionInfo{}, err
	}
	c.putMu.Lock()
	defer c.putMu.Unlock()
	info, rev, err := c.store(ctx, name, spec)
	if err != nil {
		_ = fn.Close(ctx)
		return FunctionInfo{}, err
	}
	if !c.swap(ctx, name, &deployed{info: info, fn: fn}, rev) {
		// Another host stored a newer revision meanwhile, and this
		// host runs that one already.
		_ = fn.Close(ctx)
	}
	return info, nil
}

// store writes spec as the revision after the newest stored one, with a
// compare-and-set on the store's revision so that two hosts changing the
// same function cannot both take the same number; it returns the store's
// revision too.
func (c *Catalog) store(ctx context.Context, name string, spec FunctionSpec) (FunctionInfo, uint64, error) {
	next, expect := uint64(1), int64(0)
	cur, err := c.deps.Defs.Get(ctx, KindFunction, name)
	switch {
	case err == nil:
		rec, derr := decodeRecord(cur)
		if derr != nil {
			return FunctionInfo{}, 0, derr
		}
		next, expect = rec.Revision+1, int64(cur.Revision)
	case !errors.Is(err, store.ErrNotFound):
		return FunctionInfo{}, 0, err
	}
	data, err := json.Marshal(record{Revision: next, Spec: spec})
	if err != nil {
		return FunctionInfo{}, 0, err
	}
	doc, err := c.deps.Defs.Put(ctx, KindFunction, name, data, expect)
	if errors.Is(err, store.ErrConflict) {
		return FunctionInfo{}, 0, wrapf(ErrConflict, err, "function %s changed while this change was made; retry", name)
	}
	if err != nil {
		return FunctionInfo{}, 0, err
	}
	return FunctionInfo{Name: name, Revision: next, Updated: doc.Updated, Spec: spec}, doc.Revision, nil
}

// swap makes d (nil: none) the live revision of name, as of the store
// revision rev, and retires the one it replaces; it does nothing and
// returns false when this host has applied rev or a later change of name
// already. A rev of 0 (a delete by this host, whose store revision is not
// known) always applies and leaves the last applied revision as it is.
func (c *Catalog) swap(ctx context.Context, name string, d *deployed, rev uint64) bool {
	c.mu.Lock()
	if rev != 0 {
		if rev <= c.revs[name] {
			c.mu.Unlock()
			return false
		}
		c.revs[name] = rev
	}
	delete(c.unloaded, name)
	old := c.funcs[name]
	if d != nil && d.schema == nil {
		// build validated it; a schema that does not compile never gets here.
		d.schema, _ = compileSchema("function "+name, d.info.Spec.DataSchema)
	}
	if d != nil {
		c.funcs[name] = d
	} else {
		delete(c.funcs, name)
	}
	c.mu.Unlock()
	if old != nil {
		old.retire(ctx)
	}
	return true
}

// acquire returns the live revision of name: the caller must release it.
func (c *Catalog) acquire(name string) (*deployed, error) {
	for {
		c.mu.RLock()
		d := c.funcs[name]
		c.mu.RUnlock()
		if d == nil {
			c.mu.RLock()
			why := c.unloaded[name]
			c.mu.RUnlock()
			if why != nil {
				// The reason's own kind (invalid) was the deploy's; to a
				// caller now the function is unavailable until repaired.
				return nil, errorf(ErrUnavailable, "function %s is stored but could not be loaded; fix or redeploy it: %v", name, why)
			}
			return nil, errorf(ErrNotFound, "function %s does not exist", name)
		}
		if d.acquire() {
			return d, nil
		}
		// Retired between the lookup and the acquire: a new revision is live.
	}
}

// Get returns the live revision of name with its pool's counters.
func (c *Catalog) Get(name string) (FunctionInfo, error) {
	if err := CheckName("function", name); err != nil {
		return FunctionInfo{}, err
	}
	d, err := c.acquire(name)
	if err != nil {
		return FunctionInfo{}, err
	}
	defer d.release(context.Background())
	info := d.info
	st := d.fn.Stats()
	info.Stats = &st
	return info, nil
}

// Has reports whether name is live.
func (c *Catalog) Has(name string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.funcs[name] != nil
}

// List returns every live function, sorted by name.
func (c *Catalog) List() []FunctionInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]FunctionInfo, 0, len(c.funcs))
	for _, d := range c.funcs {
		info := d.info
		st := d.fn.Stats()
		info.Stats = &st
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Delete removes the function and its revisions.
func (c *Catalog) Delete(ctx context.Context, name string) error {
	if err := CheckName("function", name); err != nil {
		return err
	}
	c.putMu.Lock()
	defer c.putMu.Unlock()
	if err := c.deps.Defs.Delete(ctx, KindFunction, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(ErrNotFound, "function %s does not exist", name)
		}
		return err
	}
	c.swap(ctx, name, nil, 0)
	return nil
}

// Unloaded returns the stored functions that could not be made live at
// start, and why.
func (c *Catalog) Unloaded() map[string]error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[string]error, len(c.unloaded))
	for k, v := range c.unloaded {
		out[k] = v
	}
	return out
}

// UsedBy names the functions whose live revision uses digest.
func (c *Catalog) UsedBy(digest string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []string
	for name, d := range c.funcs {
		if d.info.Spec.Module == digest {
			out = append(out, name)
		}
	}
	return out
}

// DeleteModule deletes a module that no live function uses.
func (c *Catalog) DeleteModule(ctx context.Context, digest string) error {
	return c.deps.Modules.Delete(ctx, digest, c.UsedBy(digest))
}

// Revisions lists the kept revisions of name, oldest first.
func (c *Catalog) Revisions(ctx context.Context, name string) ([]FunctionInfo, error) {
	if err := CheckName("function", name); err != nil {
		return nil, err
	}
	docs, err := c.deps.Defs.History(ctx, KindFunction, name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errorf(ErrNotFound, "function %s does not exist", name)
		}
		return nil, err
	}
	out := make([]FunctionInfo, 0, len(docs))
	for _, doc := range docs {
		rec, err := decodeRecord(doc)
		if err != nil {
			return nil, err
		}
		out = append(out, FunctionInfo{Name: name, Revision: rec.Revision, Updated: doc.Updated, Spec: rec.Spec})
	}
	return out, nil
}

// Rollback makes the spec of an older revision the newest one.
func (c *Catalog) Rollback(ctx context.Context, name string, rev uint64) (FunctionInfo, error) {
	revs, err := c.Revisions(ctx, name)
	if err != nil {
		return FunctionInfo{}, err
	}
	for _, r := range revs {
		if r.Revision == rev {
			return c.Put(ctx, name, r.Spec)
		}
	}
	return FunctionInfo{}, errorf(ErrNotFound, "function %s has no kept revision %d", name, rev)
}

// Load makes every stored function live, at start. A function whose
// definition or module no longer validates is skipped and reported in
// failed, never fatal: one bad definition must not keep the others down.
func (c *Catalog) Load(ctx context.Context) (loaded int, failed map[string]error, err error) {
	docs, err := c.deps.Defs.List(ctx, KindFunction)
	if err != nil {
		return 0, nil, fmt.Errorf("list functions: %w", err)
	}
	failed = map[string]error{}
	// Compiling (or loading from the compilation cache) is most of a
	// start: one function per CPU at a time.
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		work = make(chan store.Doc)
	)
	for range min(runtime.GOMAXPROCS(0), max(len(docs), 1)) {
		wg.Go(func() {
			for doc := range work {
				fn, rec, err := c.loadOne(ctx, doc)
				mu.Lock()
				if err != nil {
					failed[doc.Name] = err
				} else {
					loaded++
				}
				mu.Unlock()
				if err == nil && !c.swap(ctx, doc.Name, &deployed{info: FunctionInfo{Name: doc.Name, Revision: rec.Revision, Updated: doc.Updated, Spec: rec.Spec}, fn: fn}, doc.Revision) {
					_ = fn.Close(ctx) // the watch applied a newer one
				}
			}
		})
	}
	for _, doc := range docs {
		work <- doc
	}
	close(work)
	wg.Wait()
	c.mu.Lock()
	for name, ferr := range failed {
		c.unloaded[name] = ferr
		c.log.Warn("function not loaded: its stored definition or module does not load; fix it with a deploy or delete it", "function", name, "error", ferr)
	}
	c.mu.Unlock()
	c.log.Info("functions loaded", "count", loaded, "failed", len(failed))
	return loaded, failed, nil
}

// Apply applies a change of a function definition stored by any host
// (store.Definitions.Watch): a put makes that revision live here, a delete
// removes the function. A change this host has applied already (its own,
// or one Load read) is skipped. A definition this host cannot make live is
// reported as at Load (Unloaded, /readyz) and the function is unavailable
// here until it is fixed: hosts never run different revisions silently.
func (c *Catalog) Apply(ctx context.Context, ch store.DefChange) error {
	doc := ch.Doc
	if doc.Kind != KindFunction {
		return nil
	}
	// After a Put or Delete of this host in progress: the watch often
	// brings its change before the Put has made it live.
	c.putMu.Lock()
	defer c.putMu.Unlock()
	c.mu.RLock()
	done := doc.Revision <= c.revs[doc.Name]
	c.mu.RUnlock()
	if done {
		return nil
	}
	if ch.Deleted {
		if c.swap(ctx, doc.Name, nil, doc.Revision) {
			c.log.Info("function deleted", "function", doc.Name, "store_revision", doc.Revision)
		}
		return nil
	}
	fn, rec, err := c.loadOne(ctx, doc)
	if errors.Is(err, store.ErrUnavailable) {
		return err // the module could not be read now: the caller retries
	}
	if err != nil {
		c.mu.Lock()
		if doc.Revision > c.revs[doc.Name] {
			c.revs[doc.Name] = doc.Revision
			c.unloaded[doc.Name] = err
			old := c.funcs[doc.Name]
			delete(c.funcs, doc.Name)
			c.mu.Unlock()
			if old != nil {
				old.retire(ctx)
			}
			c.log.Warn("function not loaded: the definition stored by another host does not load here; fix it with a deploy or delete it", "function", doc.Name, "error", err)
			return nil
		}
		c.mu.Unlock()
		return nil
	}
	info := FunctionInfo{Name: doc.Name, Revision: rec.Revision, Updated: doc.Updated, Spec: rec.Spec}
	if !c.swap(ctx, doc.Name, &deployed{info: info, fn: fn}, doc.Revision) {
		_ = fn.Close(ctx)
		return nil
	}
	c.log.Info("function updated", "function", doc.Name, "revision", rec.Revision, "module", rec.Spec.Module)
	return nil
}

// loadOne builds the stored function doc.
func (c *Catalog) loadOne(ctx context.Context, doc store.Doc) (*host.Function, record, error) {
	rec, err := decodeRecord(doc)
	if err != nil {
		return nil, rec, err
	}
	fn, err := c.build(ctx, doc.Name, rec.Spec)
	return fn, rec, err
}

// CheckName validates a function or trigger name: 1-128 of [A-Za-z0-9_-]
// (so no "/", "..", NUL or control characters reach a store key, a URL or a
// NATS subject). A bad name is the caller's mistake: ErrBadName.
func CheckName(what, name string) error {
	if err := store.CheckDefinition("check", what, name); err != nil {
		return &kindError{kind: ErrBadName, msg: fmt.Sprintf("%s name %q: must be 1-128 characters of letters, digits, '_' and '-'", what, truncate(name))}
	}
	return nil
}

// ErrBadName is the kind of a malformed function or trigger name.
var ErrBadName = errors.New("bad name")

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
