package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host/egress"
	"github.com/wasmfaas/wasmfaas/store"
)

// Config configures a Host. The zero value works: no on-disk cache, no state
// (kv and props calls then fail with UNAVAILABLE), logs discarded.
type Config struct {
	// CacheDir holds wazero's compilation cache, so a restart does not
	// recompile modules from scratch. Empty disables the on-disk cache.
	CacheDir string
	// Logger receives lifecycle logs; calls are the caller's to log.
	Logger *slog.Logger
	// MemoryBudget bounds the guest linear memory of every instance
	// together, in bytes (DefaultMemoryBudget if zero): a guest that would
	// grow past it fails with kind limit, and no function may declare a
	// memory limit above it.
	MemoryBudget int64
	// PlainWrites turns write ids off: guest writes are single publishes
	// again, about 100 times cheaper on a single file-storage server, and a
	// call re-run after a crash applies its writes again (at least once).
	// See docs/RATIONALE.md, "Why atomic batches for idempotent writes?".
	PlainWrites bool
	// KV backs the kv capability; each function gets its own namespace.
	KV store.KV
	// Properties backs the props capability.
	Properties store.Properties
	// Schedules counts a function's pending scheduled events, for the
	// max pending schedules limit; nil counts only the call's own.
	Schedules ScheduleCounter
	// HTTP is how the http capability resolves names and connects; the
	// zero value uses the system's resolver and plain TCP.
	HTTP egress.Config
}

// ScheduleCounter reports a function's pending scheduled events: how many
// keys are pending and whether key is one of them.
type ScheduleCounter interface {
	Pending(ctx context.Context, function, key string) (count int, exists bool, err error)
}

// Host runs functions. It is safe for concurrent use.
type Host struct {
	cfg   Config
	log   *slog.Logger
	cache wazero.CompilationCache

	// mu guards runtimes, compiled and modules. Lock order: Host.mu, then pool.mu.
	mu       sync.Mutex
	runtimes map[uint32]*runtimeEnv // by memory limit in pages
	compiled map[compiledKey]*compiledEntry
	modules  map[string]*Module // loaded modules by digest
	closed   bool

	budget budget
}

// runtimeEnv is one wazero runtime. wazero sets the memory limit per runtime,
// so functions with different memory limits live in different runtimes that
// share one compilation cache (docs/RATIONALE.md, "Why a runtime per memory limit?").
type runtimeEnv struct {
	rt    wazero.Runtime
	pages uint32
}

type compiledKey struct {
	digest string
	pages  uint32
}

type compiledEntry struct {
	cm   wazero.CompiledModule
	refs int
}

// New returns a Host.
func New(cfg Config) (*Host, error) {
	h := &Host{
		cfg:      cfg,
		log:      cfg.Logger,
		runtimes: map[uint32]*runtimeEnv{},
		compiled: map[compiledKey]*compiledEntry{},
		modules:  map[string]*Module{},
	}
	h.budget.limit = cfg.MemoryBudget
	if h.budget.limit <= 0 {
		h.budget.limit = DefaultMemoryBudget
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.log = h.log.With("component", "host")
	if cfg.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("open compilation cache %q: %w", cfg.CacheDir, err)
		}
		h.cache = c
	} else {
		h.cache = wazero.NewCompilationCache()
	}
	return h, nil
}

// Close closes every runtime, and with them every instance.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	for _, env := range h.runtimes {
		_ = env.rt.Close(ctx)
	}
	return h.cache.Close(ctx)
}

// runtime returns the runtime for a memory limit, creating it with the WASI
// and wasmfaas_v1 host modules on first use. Callers hold h.mu.
func (h *Host) runtimeLocked(ctx context.Context, pages uint32) (*runtimeEnv, error) {
	if env, ok := h.runtimes[pages]; ok {
		return env, nil
	}
	// No WithCloseOnContextDone: the yield import that instrument's checks
	// call every yieldEvery checks stops a guest past its deadline and is
	// the Go scheduler's safe point (docs/RATIONALE.md, TestLoopDuringGC).
	rc := wazero.NewRuntimeConfig().
		WithCompilationCache(h.cache).
		WithMemoryLimitPages(pages)
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiate wasi: %w", err)
	}
	if err := instantiateYield(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiate %s: %w", yieldModule, err)
	}
	if err := instantiateABI(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiate %s: %w", abi.ImportModule, err)
	}
	env := &runtimeEnv{rt: rt, pages: pages}
	h.runtimes[pages] = env
	return env, nil
}

// compile returns the module compiled in the runtime for pages, sharing
// compilations between functions of the same module and limit.
func (h *Host) compile(ctx context.Context, m *Module, pages uint32) (*runtimeEnv, wazero.CompiledModule, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, fmt.Errorf("host is closed")
	}
	env, err := h.runtimeLocked(ctx, pages)
	if err != nil {
		return nil, nil, err
	}
	key := compiledKey{m.Digest, pages}
	if e, ok := h.compiled[key]; ok {
		e.refs++
		return env, e.cm, nil
	}
	cm, err := env.rt.CompileModule(ctx, m.wasm)
	if err != nil && h.cfg.CacheDir != "" && strings.Contains(err.Error(), "compilationcache") {
		// A damaged cache entry (a crash mid-write, a disk error) is the
		// cache's fault, not the module's: drop the cache, which only ever
		// saves time, and compile from the module's bytes, which writes a
		// fresh entry.
		h.log.Warn("compilation cache damaged; clearing it and compiling from the module", "module", m.Digest, "cache_dir", h.cfg.CacheDir, "error", err)
		if rerr := clearDir(h.cfg.CacheDir); rerr != nil {
			h.log.Warn("clear compilation cache", "cache_dir", h.cfg.CacheDir, "error", rerr)
		}
		cm, err = env.rt.CompileModule(ctx, m.wasm)
	}
	if err != nil {
		return nil, nil, &abi.ModuleError{Err: abi.ErrInvalidModule, Reason: err.Error()}
	}
	h.compiled[key] = &compiledEntry{cm: cm, refs: 1}
	return env, cm, nil
}

func (h *Host) release(ctx context.Context, digest string, pages uint32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	key := compiledKey{digest, pages}
	e, ok := h.compiled[key]
	if !ok {
		return
	}
	if e.refs--; e.refs <= 0 {
		delete(h.compiled, key)
		_ = e.cm.Close(ctx)
	}
}

// clearDir removes every file under dir, keeping the directories (the
// cache writes into the one it made for this wazero version).
func clearDir(dir string) error {
	var errs []error
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			errs = append(errs, os.Remove(path))
		}
		return err
	})
	return errors.Join(append(errs, err)...)
}

// Digest returns the content address of a module, the same as the blob
// store's: "sha256:" and the hex digest.
func Digest(wasm []byte) string { return store.Digest(wasm) }
