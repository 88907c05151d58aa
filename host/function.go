package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host/egress"
)

// Isolation says whether instances are reused between calls.
type Isolation string

const (
	// Pooled reuses warm instances: fast, but globals may survive between calls.
	Pooled Isolation = "pooled"
	// Fresh creates an instance per call and closes it after.
	Fresh Isolation = "fresh"
)

// Limits bound what one call of a function may use (abi/README.md §5).
// Zero fields take the defaults.
type Limits struct {
	MemoryPages    uint32        // 64 KiB pages per instance
	Timeout        time.Duration // wall-clock per call, waiting for an instance included
	MaxConcurrency int           // calls (and so instances) at once
	MaxOutputBytes int           // result body, and each emitted event
	MaxEmits       int           // emitted events per call
	MaxLogBytes    int           // log lines and domain fields per call
	MaxSchedules   int           // pending scheduled events of the function

	// The http capability's limits (abi/README.md §4, "http").
	HTTPTimeout          time.Duration // each outbound request, capped by the call's deadline
	MaxHTTPRequests      int           // outbound requests per call
	MaxHTTPRequestBytes  int           // each request's headers block plus body
	MaxHTTPResponseBytes int           // each response's decoded body
}

// DefaultLimits are the limits of abi/README.md §5.
var DefaultLimits = Limits{
	MemoryPages:    256,
	Timeout:        10 * time.Second,
	MaxConcurrency: 8,
	MaxOutputBytes: 1 << 20,
	MaxEmits:       64,
	MaxLogBytes:    64 << 10,
	MaxSchedules:   1000,

	HTTPTimeout:          10 * time.Second,
	MaxHTTPRequests:      64,
	MaxHTTPRequestBytes:  1 << 20,
	MaxHTTPResponseBytes: 1 << 20,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MemoryPages != 0 {
		d.MemoryPages = l.MemoryPages
	}
	if l.Timeout != 0 {
		d.Timeout = l.Timeout
	}
	if l.MaxConcurrency != 0 {
		d.MaxConcurrency = l.MaxConcurrency
	}
	if l.MaxOutputBytes != 0 {
		d.MaxOutputBytes = l.MaxOutputBytes
	}
	if l.MaxEmits != 0 {
		d.MaxEmits = l.MaxEmits
	}
	if l.MaxLogBytes != 0 {
		d.MaxLogBytes = l.MaxLogBytes
	}
	if l.MaxSchedules != 0 {
		d.MaxSchedules = l.MaxSchedules
	}
	if l.HTTPTimeout != 0 {
		d.HTTPTimeout = l.HTTPTimeout
	}
	if l.MaxHTTPRequests != 0 {
		d.MaxHTTPRequests = l.MaxHTTPRequests
	}
	if l.MaxHTTPRequestBytes != 0 {
		d.MaxHTTPRequestBytes = l.MaxHTTPRequestBytes
	}
	if l.MaxHTTPResponseBytes != 0 {
		d.MaxHTTPResponseBytes = l.MaxHTTPResponseBytes
	}
	return d
}

// MaxLimits are the largest limits a function may have: past them a
// setting is a mistake (a timeout of years, a million emits per call), not
// a need. Memory is also bounded by the host's memory budget.
var MaxLimits = Limits{
	MemoryPages:    65536, // 4 GiB, all a wasm32 memory can address
	Timeout:        15 * time.Minute,
	MaxConcurrency: 1024,
	MaxOutputBytes: 16 << 20,
	MaxEmits:       1000,
	MaxLogBytes:    1 << 20,
	MaxSchedules:   1_000_000,

	HTTPTimeout:          15 * time.Minute,
	MaxHTTPRequests:      1000,
	MaxHTTPRequestBytes:  16 << 20,
	MaxHTTPResponseBytes: 64 << 20,
}

func (l Limits) validate() error {
	m := MaxLimits
	switch {
	case l.Timeout < 0:
		return fmt.Errorf("timeout %s is negative", l.Timeout)
	case l.HTTPTimeout < 0:
		return fmt.Errorf("http_timeout %s is negative", l.HTTPTimeout)
	case l.MaxConcurrency < 0 || l.MaxOutputBytes < 0 || l.MaxEmits < 0 || l.MaxLogBytes < 0 || l.MaxSchedules < 0,
		l.MaxHTTPRequests < 0 || l.MaxHTTPRequestBytes < 0 || l.MaxHTTPResponseBytes < 0:
		return fmt.Errorf("limits must not be negative")
	case l.MemoryPages > m.MemoryPages:
		return fmt.Errorf("memory_pages %d exceed %d (4 GiB)", l.MemoryPages, m.MemoryPages)
	case l.Timeout > m.Timeout:
		return fmt.Errorf("timeout %s exceeds %s", l.Timeout, m.Timeout)
	case l.MaxConcurrency > m.MaxConcurrency:
		return fmt.Errorf("max_concurrency %d exceeds %d", l.MaxConcurrency, m.MaxConcurrency)
	case l.MaxOutputBytes > m.MaxOutputBytes:
		return fmt.Errorf("max_output_bytes %d exceeds %d", l.MaxOutputBytes, m.MaxOutputBytes)
	case l.MaxEmits > m.MaxEmits:
		return fmt.Errorf("max_emits %d exceeds %d", l.MaxEmits, m.MaxEmits)
	case l.MaxLogBytes > m.MaxLogBytes:
		return fmt.Errorf("max_log_bytes %d exceeds %d", l.MaxLogBytes, m.MaxLogBytes)
	case l.MaxSchedules > m.MaxSchedules:
		return fmt.Errorf("max_schedules %d exceeds %d", l.MaxSchedules, m.MaxSchedules)
	case l.HTTPTimeout > m.HTTPTimeout:
		return fmt.Errorf("http_timeout %s exceeds %s", l.HTTPTimeout, m.HTTPTimeout)
	case l.MaxHTTPRequests > m.MaxHTTPRequests:
		return fmt.Errorf("max_http_requests %d exceeds %d", l.MaxHTTPRequests, m.MaxHTTPRequests)
	case l.MaxHTTPRequestBytes > m.MaxHTTPRequestBytes:
		return fmt.Errorf("max_http_request_bytes %d exceeds %d", l.MaxHTTPRequestBytes, m.MaxHTTPRequestBytes)
	case l.MaxHTTPResponseBytes > m.MaxHTTPResponseBytes:
		return fmt.Errorf("max_http_response_bytes %d exceeds %d", l.MaxHTTPResponseBytes, m.MaxHTTPResponseBytes)
	}
	return nil
}

// FunctionConfig is what a Function is made of besides its module.
type FunctionConfig struct {
	// Name is the function's name; it is also its KV namespace.
	Name string
	// Config is the key/values config_get reads.
	Config map[string]string
	// Grants are the capabilities the guest may import; nil means
	// abi.DefaultGrants.
	Grants    abi.Grants
	Limits    Limits
	Isolation Isolation
	// AllowedHosts are the hosts the http capability may reach
	// (abi/README.md §4, "http"); empty allows none. Setting it without
	// granting http is refused as a mistake.
	AllowedHosts []string
}

// Function is a module bound to a name, config, grants, limits and an
// isolation mode, with its pool of instances. Create it with
// Host.NewFunction; it is safe for concurrent Invokes.
type Function struct {
	name      string
	module    *Module
	config    map[string]string
	grants    abi.Grants
	limits    Limits
	isolation Isolation
	// http is the function's outbound HTTP client; nil without the http
	// grant.
	http *egress.Client

	host *Host
	env  *runtimeEnv
	cm   wazero.CompiledModule
	pool pool
}

// NewFunction validates cfg against m (grants cover the imports, memory fits
// the limit) and returns a Function ready to Invoke.
func (h *Host) NewFunction(ctx context.Context, m *Module, cfg FunctionConfig) (*Function, error) {
	if cfg.Name == "" {
		return nil, &FunctionError{Reason: "function name is empty"}
	}
	limits := cfg.Limits.withDefaults()
	if err := limits.validate(); err != nil {
		return nil, &FunctionError{Reason: err.Error()}
	}
	grants := cfg.Grants
	if grants == nil {
		grants = abi.NewGrants(abi.DefaultGrants...)
	}
	if err := m.info.CheckGrants(grants); err != nil {
		return nil, err
	}
	if mem := int64(limits.MemoryPages) * 65536; mem > h.budget.limit {
		return nil, &FunctionError{Reason: fmt.Sprintf("memory_pages %d (%d MiB) exceed the host's memory budget of %d MiB", limits.MemoryPages, mem>>20, h.budget.limit>>20)}
	}
	if m.MinMemoryPages > limits.MemoryPages {
		return nil, &FunctionError{Reason: fmt.Sprintf("module needs %d memory pages at start; the function's limit is %d", m.MinMemoryPages, limits.MemoryPages)}
	}
	iso := cfg.Isolation
	switch iso {
	case "":
		iso = Pooled
	case Pooled, Fresh:
	default:
		return nil, &FunctionError{Reason: fmt.Sprintf("unknown isolation %q (want pooled or fresh)", iso)}
	}
	if m.Mode == abi.ModeCommand {
		iso = Fresh // a command's _start runs once per instance
	}
	allow, err := egress.ParseAllowList(cfg.AllowedHosts)
	if err != nil {
		return nil, &FunctionError{Reason: err.Error()}
	}
	if len(cfg.AllowedHosts) > 0 && !grants.Has(abi.CapHTTP) {
		return nil, &FunctionError{Reason: `allowed_hosts are set but capability "http" is not granted`}
	}
	env, cm, err := h.compile(ctx, m, limits.MemoryPages)
	if err != nil {
		return nil, err
	}
	conf := make(map[string]string, len(cfg.Config))
	for k, v := range cfg.Config {
		conf[k] = v
	}
	f := &Function{
		name: cfg.Name, module: m, config: conf, grants: grants, limits: limits, isolation: iso,
		host: h, env: env, cm: cm,
	}
	if grants.Has(abi.CapHTTP) {
		f.http = egress.New(h.cfg.HTTP, allow)
	}
	f.pool.sem = make(chan struct{}, limits.MaxConcurrency)
	return f, nil
}

// Name returns the function's name.
func (f *Function) Name() string { return f.name }

// Module returns the function's module.
func (f *Function) Module() *Module { return f.module }

// Limits returns the function's effective limits.
func (f *Function) Limits() Limits { return f.limits }

// Grants returns the function's capabilities.
func (f *Function) Grants() abi.Grants { return f.grants }

// AllowedHosts returns the function's allow-list for the http capability.
func (f *Function) AllowedHosts() []string {
	if f.http == nil {
		return nil
	}
	return f.http.AllowList().Entries()
}

// Stats is a snapshot of a function's pool.
type Stats struct {
	Instances int64 // live instances, busy or idle
	Busy      int64 // calls holding an instance
	Created   int64 // instances created so far
	Waits     int64 // calls that had to wait for a slot
}

// Stats returns a snapshot of the pool.
func (f *Function) Stats() Stats {
	return Stats{
		Instances: f.pool.live.Load(),
		Busy:      int64(len(f.pool.sem)),
		Created:   f.pool.created.Load(),
		Waits:     f.pool.waits.Load(),
	}
}

// Prewarm creates instances until n (at most MaxConcurrency) are idle in
// the pool, so the first calls after a deploy do not pay for instantiation
// (a Go guest costs milliseconds). It is a no-op for fresh isolation.
func (f *Function) Prewarm(ctx context.Context, n int) error {
	if f.isolation != Pooled {
		return nil
	}
	n = min(n, f.limits.MaxConcurrency)
	p := &f.pool
	for {
		p.mu.Lock()
		idle, closed := len(p.idle), p.closed
		p.mu.Unlock()
		if closed || idle >= n || int(p.live.Load()) >= f.limits.MaxConcurrency {
			return nil
		}
		inst, err := f.newInstance(ctx, time.Now().Add(f.limits.Timeout))
		if err != nil {
			return fmt.Errorf("prewarm %s: %w", f.name, err)
		}
		p.live.Add(1)
		p.created.Add(1)
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			inst.close(ctx)
			p.live.Add(-1)
			return nil
		}
		p.idle = append(p.idle, inst)
		p.mu.Unlock()
	}
}

// Close closes idle instances and releases the compiled module; calls in
// flight finish and their instances are closed on release.
func (f *Function) Close(ctx context.Context) error {
	f.pool.mu.Lock()
	idle := f.pool.idle
	f.pool.idle = nil
	f.pool.closed = true
	f.pool.mu.Unlock()
	for _, inst := range idle {
		inst.close(ctx)
		f.pool.live.Add(-1)
	}
	if f.http != nil {
		f.http.Close()
	}
	f.host.release(ctx, f.module.Digest, f.limits.MemoryPages)
	return nil
}

// pool bounds a function's instances: sem holds one token per call in
// flight, so there are never more than MaxConcurrency instances.
type pool struct {
	sem chan struct{}

	mu     sync.Mutex // guards idle and closed
	idle   []*instance
	closed bool

	live, created, waits atomic.Int64
}

var errOverloaded = fmt.Errorf("overloaded")

// take holds a call slot, waiting until the deadline or until ctx is done.
// The timer exists only on the slow path.
func (p *pool) take(ctx context.Context, deadline time.Time) error {
	select {
	case p.sem <- struct{}{}:
		return nil
	default:
	}
	p.waits.Add(1)
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-t.C:
		return errOverloaded
	case <-ctx.Done():
		return errOverloaded
	}
}

// give frees a call slot.
func (p *pool) give() { <-p.sem }

// acquire takes a slot, waiting until ctx is done, then an idle instance or
// a new one.
func (f *Function) acquire(ctx context.Context, deadline time.Time) (*instance, error) {
	p := &f.pool
	if err := p.take(ctx, deadline); err != nil {
		return nil, err
	}
	if f.isolation == Pooled {
		p.mu.Lock()
		if n := len(p.idle); n > 0 {
			inst := p.idle[n-1]
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			return inst, nil
		}
		p.mu.Unlock()
	}
	inst, err := f.newInstance(ctx, deadline)
	if err != nil {
		p.give()
		return nil, err
	}
	p.live.Add(1)
	p.created.Add(1)
	return inst, nil
}

// release returns inst to the pool if it is healthy and reusable, and
// frees the slot.
func (f *Function) release(ctx context.Context, inst *instance, healthy bool) {
	p := &f.pool
	keep := false
	if healthy && f.isolation == Pooled {
		p.mu.Lock()
		if !p.closed {
			p.idle = append(p.idle, inst)
			keep = true
		}
		p.mu.Unlock()
	}
	if !keep {
		inst.close(context.WithoutCancel(ctx))
		p.live.Add(-1)
	}
	p.give()
}

// instance is one instantiated module. Calls on it never overlap.
type instance struct {
	mod    api.Module
	handle api.Function
	stack  []uint64
	out    *guestWriter // stdout
	errw   *guestWriter // stderr

	// mem is the instance's linear memory, allocated against the host's
	// budget; nil for a module without memory.
	mem *budgetMemory

	// countdown is the global instrument added: the checks left before the
	// guest calls yield. stop records why it stops the guest in fired (a
	// sys.ExitCode*), which yield reads, then sets countdown to 1 so that
	// the guest's next check calls yield.
	countdown api.MutableGlobal
	fired     atomic.Uint32
	// deadline is the current call's, which yield checks: a guest that
	// runs reaches yield every few microseconds, so no timer per call is
	// needed to stop it (a timer cost 60-100 ns of Reset and Stop per
	// call, and its goroutine can wait for a processor the guest holds).
	deadline   time.Time
	stopCancel func() bool
}

// instKey is the context key of the *instance whose guest code runs, for
// yield.
type instKey struct{}

func newWatched(mod api.Module, out, errw *guestWriter) (*instance, error) {
	g, ok := mod.ExportedGlobal(countdownExport).(api.MutableGlobal)
	if !ok {
		return nil, fmt.Errorf("module lacks the %s global", countdownExport)
	}
	inst := &instance{mod: mod, out: out, errw: errw, stack: make([]uint64, 1), countdown: g}
	return inst, nil
}

// stop interrupts the guest; the first reason wins. Setting the countdown
// races with the guest's own decrement, which may overwrite it; the guest
// then reaches yield, and sees fired, within yieldEvery checks.
func (i *instance) stop(code uint32) {
	if i.fired.CompareAndSwap(0, code) {
		i.countdown.Set(1)
	}
}

func (i *instance) close(ctx context.Context) {
	_ = i.mod.Close(ctx)
}

// arm sets up one call: the guest is interrupted at its first yield past
// the deadline, or when the caller's ctx is done first.
func (i *instance) arm(ctx context.Context, deadline time.Time) {
	i.deadline = deadline
	if ctx.Done() != nil {
		i.stopCancel = context.AfterFunc(ctx, func() {
			code := uint32(sys.ExitCodeContextCanceled)
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				code = sys.ExitCodeDeadlineExceeded
			}
			i.stop(code)
		})
	}
}

// disarm ends the call's watch and returns why the guest was interrupted,
// or 0.
// An interrupted instance is never reused.
func (i *instance) disarm() uint32 {
	if i.stopCancel != nil {
		i.stopCancel()
		i.stopCancel = nil
	}
	return i.fired.Load()
}

func (f *Function) moduleConfig(out, errw *guestWriter) wazero.ModuleConfig {
	// wazero's defaults are deterministic fake clocks and randomness; guests
	// get real ones (abi/README.md §6) and nothing else: no FS, env or args.
	return wazero.NewModuleConfig().
		WithName("").
		WithStdout(out).
		WithStderr(errw).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader)
}

// newInstance instantiates a reactor and runs its _initialize once, armed
// like a call, so an initialiser that loops is stopped at the deadline.
func (f *Function) newInstance(ctx context.Context, deadline time.Time) (*instance, error) {
	out, errw := &guestWriter{level: "info"}, &guestWriter{level: "warn", stderr: true}
	var mem *budgetMemory
	actx := experimental.WithMemoryAllocator(ctx, f.host.budget.allocator(&mem))
	// The module's start section runs inside InstantiateModule, before
	// there is an instance to arm: yield stops it at the deadline too.
	actx = context.WithValue(actx, startKey{}, deadline)
	mod, err := f.env.rt.InstantiateModule(actx, f.cm, f.moduleConfig(out, errw).WithStartFunctions())
	if err != nil {
		if mem != nil && mem.refused.Load() {
			return nil, &budgetError{limit: f.host.budget.limit}
		}
		return nil, &instantiateError{err: err, tail: errw.headString()}
	}
	if mem != nil && mem.refused.Load() {
		_ = mod.Close(ctx)
		return nil, &budgetError{limit: f.host.budget.limit}
	}
	inst, err := newWatched(mod, out, errw)
	if err != nil {
		_ = mod.Close(ctx)
		return nil, err
	}
	inst.mem = mem
	if f.module.info.HasInit {
		inst.arm(ctx, deadline)
		_, err = mod.ExportedFunction(abi.InitializeExport).Call(context.WithValue(ctx, instKey{}, inst))
		if code := inst.disarm(); code != 0 {
			err = sys.NewExitError(code)
		}
		if err != nil {
			inst.close(ctx)
			return nil, &instantiateError{err: err, tail: errw.headString()}
		}
	}
	inst.handle = mod.ExportedFunction(abi.HandleExport)
	return inst, nil
}

type instantiateError struct {
	err  error
	tail string
}

func (e *instantiateError) Error() string {
	if e.tail != "" {
		return fmt.Sprintf("instantiate: %v: %s", e.err, e.tail)
	}
	return fmt.Sprintf("instantiate: %v", e.err)
}

func (e *instantiateError) Unwrap() error { return e.err }
