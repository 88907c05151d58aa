package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/modules"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/store"
)

// Definition kinds in store.Definitions.
const (
	kindFunction = "function"
	kindTrigger  = "trigger"
)

// FunctionSpec is what PUT /v1/functions/{name} takes: a module digest and
// how the function runs it.
type FunctionSpec struct {
	Module    string            `json:"module"`
	Config    map[string]string `json:"config,omitempty"`
	Grants    []string          `json:"grants,omitempty"`
	Limits    LimitsSpec        `json:"limits,omitempty"`
	Isolation string            `json:"isolation,omitempty"`
}

// LimitsSpec is host.Limits with the timeout as a string ("10s").
type LimitsSpec struct {
	MemoryPages    uint32          `json:"memory_pages,omitempty"`
	Timeout        router.Duration `json:"timeout,omitempty"`
	MaxConcurrency int             `json:"max_concurrency,omitempty"`
	MaxOutputBytes int             `json:"max_output_bytes,omitempty"`
	MaxEmits       int             `json:"max_emits,omitempty"`
	MaxLogBytes    int             `json:"max_log_bytes,omitempty"`
}

func (l LimitsSpec) limits() host.Limits {
	return host.Limits{
		MemoryPages: l.MemoryPages, Timeout: time.Duration(l.Timeout), MaxConcurrency: l.MaxConcurrency,
		MaxOutputBytes: l.MaxOutputBytes, MaxEmits: l.MaxEmits, MaxLogBytes: l.MaxLogBytes,
	}
}

// FunctionInfo is a function as the API shows it.
type FunctionInfo struct {
	Name     string       `json:"name"`
	Revision uint64       `json:"revision"`
	Updated  time.Time    `json:"updated"`
	Spec     FunctionSpec `json:"spec"`
	Stats    *host.Stats  `json:"stats,omitempty"`
}

// deployed is one revision of a function, live in the host. Calls hold it
// through refs, so a new revision can take over while calls in flight
// finish on the old one, which is closed when the last of them returns.
type deployed struct {
	info FunctionInfo
	fn   *host.Function

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

// catalog holds the live functions and persists definitions.
type catalog struct {
	host    *host.Host
	modules *modules.Registry
	defs    store.Definitions

	mu    sync.RWMutex // guards funcs; never held across a guest call
	funcs map[string]*deployed
}

func newCatalog(h *host.Host, reg *modules.Registry, defs store.Definitions) *catalog {
	return &catalog{host: h, modules: reg, defs: defs, funcs: map[string]*deployed{}}
}

// build makes a host.Function from a spec, validating grants against the
// module's imports (a 422 naming the missing grant when they fall short).
func (c *catalog) build(ctx context.Context, name string, spec FunctionSpec) (*host.Function, error) {
	if spec.Module == "" {
		return nil, errorf(KindInvalid, "function %s: module (a digest) is required", name)
	}
	m, err := c.modules.Module(ctx, spec.Module)
	if err != nil {
		if errors.Is(err, modules.ErrNotFound) {
			return nil, errorf(KindInvalid, "function %s: module %s is not uploaded", name, spec.Module)
		}
		return nil, err
	}
	grants := abi.NewGrants(abi.DefaultGrants...)
	for _, g := range spec.Grants {
		cp, err := abi.ParseCapability(g)
		if err != nil {
			return nil, errorf(KindInvalid, "function %s: %v", name, err)
		}
		grants[cp] = true
	}
	var missing []string
	for _, cp := range m.Capabilities {
		if !grants.Has(cp) {
			missing = append(missing, string(cp))
		}
	}
	if len(missing) > 0 {
		return nil, errorf(KindInvalid, "function %s: module %s imports capabilities that are not granted: %v", name, spec.Module, missing)
	}
	return c.host.NewFunction(ctx, m, host.FunctionConfig{
		Name: name, Config: spec.Config, Grants: grants, Limits: spec.Limits.limits(), Isolation: host.Isolation(spec.Isolation),
	})
}

// put validates spec, stores it as a new revision, and makes it live.
func (c *catalog) put(ctx context.Context, name string, spec FunctionSpec) (FunctionInfo, error) {
	if err := checkName("function", name); err != nil {
		return FunctionInfo{}, err
	}
	fn, err := c.build(ctx, name, spec)
	if err != nil {
		return FunctionInfo{}, err
	}
	data, err := json.Marshal(spec)
	if err != nil {
		_ = fn.Close(ctx)
		return FunctionInfo{}, err
	}
	doc, err := c.defs.Put(ctx, kindFunction, name, data, abi.RevAny)
	if err != nil {
		_ = fn.Close(ctx)
		return FunctionInfo{}, err
	}
	info := FunctionInfo{Name: name, Revision: doc.Revision, Updated: doc.Updated, Spec: spec}
	c.swap(ctx, name, &deployed{info: info, fn: fn})
	return info, nil
}

func (c *catalog) swap(ctx context.Context, name string, d *deployed) {
	c.mu.Lock()
	old := c.funcs[name]
	if d != nil {
		c.funcs[name] = d
	} else {
		delete(c.funcs, name)
	}
	c.mu.Unlock()
	if old != nil {
		old.retire(ctx)
	}
}

// get returns the live revision of name, acquired: the caller must release it.
func (c *catalog) get(name string) (*deployed, error) {
	for {
		c.mu.RLock()
		d := c.funcs[name]
		c.mu.RUnlock()
		if d == nil {
			return nil, errorf(KindNotFound, "function %s does not exist", name)
		}
		if d.acquire() {
			return d, nil
		}
		// Retired between the lookup and the acquire: a new revision is live.
	}
}

func (c *catalog) list() []FunctionInfo {
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

func (c *catalog) delete(ctx context.Context, name string) error {
	if err := c.defs.Delete(ctx, kindFunction, name); err != nil {
		return err
	}
	c.swap(ctx, name, nil)
	return nil
}

// usedBy names the functions whose live revision uses digest.
func (c *catalog) usedBy(digest string) []string {
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

// revisions lists the kept revisions of name, oldest first.
func (c *catalog) revisions(ctx context.Context, name string) ([]FunctionInfo, error) {
	docs, err := c.defs.History(ctx, kindFunction, name)
	if err != nil {
		return nil, err
	}
	out := make([]FunctionInfo, 0, len(docs))
	for _, doc := range docs {
		var spec FunctionSpec
		if err := json.Unmarshal(doc.Data, &spec); err != nil {
			return nil, fmt.Errorf("decode function %s revision %d: %w", name, doc.Revision, err)
		}
		out = append(out, FunctionInfo{Name: name, Revision: doc.Revision, Updated: doc.Updated, Spec: spec})
	}
	return out, nil
}

// rollback makes the spec of an older revision the newest one.
func (c *catalog) rollback(ctx context.Context, name string, rev uint64) (FunctionInfo, error) {
	revs, err := c.revisions(ctx, name)
	if err != nil {
		return FunctionInfo{}, err
	}
	for _, r := range revs {
		if r.Revision == rev {
			return c.put(ctx, name, r.Spec)
		}
	}
	return FunctionInfo{}, errorf(KindNotFound, "function %s has no kept revision %d", name, rev)
}

// load makes every stored function live, at start. A function whose module
// no longer validates is skipped and reported, not fatal: one bad
// definition must not keep the others down.
func (c *catalog) load(ctx context.Context) (loaded int, failed map[string]error, err error) {
	docs, err := c.defs.List(ctx, kindFunction)
	if err != nil {
		return 0, nil, err
	}
	failed = map[string]error{}
	for _, doc := range docs {
		var spec FunctionSpec
		if err := json.Unmarshal(doc.Data, &spec); err != nil {
			failed[doc.Name] = err
			continue
		}
		fn, err := c.build(ctx, doc.Name, spec)
		if err != nil {
			failed[doc.Name] = err
			continue
		}
		c.swap(ctx, doc.Name, &deployed{info: FunctionInfo{Name: doc.Name, Revision: doc.Revision, Updated: doc.Updated, Spec: spec}, fn: fn})
		loaded++
	}
	return loaded, failed, nil
}

// closeAll retires every function (at shutdown, after draining).
func (c *catalog) closeAll(ctx context.Context) {
	c.mu.Lock()
	funcs := c.funcs
	c.funcs = map[string]*deployed{}
	c.mu.Unlock()
	for _, d := range funcs {
		d.retire(ctx)
	}
}

// checkName validates API names: 1-128 of [A-Za-z0-9_-] (so no "/", "..",
// NUL or control characters reach a store key, a URL or a NATS subject).
func checkName(what, name string) error {
	if err := store.CheckDefinition("check", what, name); err != nil {
		return errorf(KindMalformed, "%s name %q: must be 1-128 characters of letters, digits, '_' and '-'", what, truncateName(name))
	}
	return nil
}

func truncateName(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
