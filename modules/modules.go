package modules

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/store"
)

// Sentinels; the API layer maps them to HTTP status codes.
var (
	// ErrTooLarge: the upload exceeds the registry's size limit (413).
	ErrTooLarge = errors.New("module too large")
	// ErrInvalid: the bytes are not a module this host can run (422); the
	// error also wraps the host's reason (host.ModuleError).
	ErrInvalid = errors.New("invalid module")
	// ErrNotFound: no module has that digest (404).
	ErrNotFound = errors.New("module not found")
	// ErrInUse: the module cannot be deleted while functions use it (409).
	ErrInUse = errors.New("module in use")
)

// InUseError names the functions that hold a module.
type InUseError struct {
	Digest    string
	Functions []string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("module %s is used by function(s) %s", e.Digest, strings.Join(e.Functions, ", "))
}

func (e *InUseError) Unwrap() error { return ErrInUse }

// Loader compiles and validates module bytes; *host.Host is one.
type Loader interface {
	Load(ctx context.Context, wasm []byte) (*host.Module, error)
}

// Config bounds what the registry accepts.
type Config struct {
	// MaxSize is the largest upload in bytes; 0 means store.DefaultMaxBlobSize.
	MaxSize int64
	// MaxMemoryPages refuses modules whose start memory is larger; 0 means
	// host.DefaultLimits.MemoryPages.
	MaxMemoryPages uint32
}

// Manifest describes a stored module.
type Manifest struct {
	Digest         string           `json:"digest"`
	Size           int64            `json:"size"`
	Mode           abi.Mode         `json:"mode"`
	Exports        []string         `json:"exports"`
	Imports        []string         `json:"imports"`
	Capabilities   []abi.Capability `json:"capabilities"`
	MinMemoryPages uint32           `json:"min_memory_pages"`
}

func manifestOf(m *host.Module) Manifest {
	caps := m.Capabilities
	if caps == nil {
		caps = []abi.Capability{}
	}
	imports := m.Imports
	if imports == nil {
		imports = []string{}
	}
	return Manifest{
		Digest: m.Digest, Size: int64(m.Size), Mode: m.Mode, Exports: m.Exports,
		Imports: imports, Capabilities: caps, MinMemoryPages: m.MinMemoryPages,
	}
}

// Registry is safe for concurrent use.
type Registry struct {
	cfg    Config
	blobs  store.Blobs
	loader Loader

	mu     sync.Mutex
	loaded map[string]*host.Module // by digest: validated once per process
}

// New returns a Registry over blobs, validating with loader.
func New(cfg Config, blobs store.Blobs, loader Loader) *Registry {
	if cfg.MaxSize == 0 {
		cfg.MaxSize = store.DefaultMaxBlobSize
	}
	if cfg.MaxMemoryPages == 0 {
		cfg.MaxMemoryPages = host.DefaultLimits.MemoryPages
	}
	return &Registry{cfg: cfg, blobs: blobs, loader: loader, loaded: map[string]*host.Module{}}
}

// MaxSize is the largest upload accepted, for callers that limit a body
// before reading it.
func (r *Registry) MaxSize() int64 { return r.cfg.MaxSize }

// Upload validates wasm and stores it. Uploading the same bytes again is
// idempotent and returns the same manifest.
func (r *Registry) Upload(ctx context.Context, wasm []byte) (Manifest, error) {
	if int64(len(wasm)) > r.cfg.MaxSize {
		return Manifest{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(wasm), r.cfg.MaxSize)
	}
	if len(wasm) == 0 {
		return Manifest{}, fmt.Errorf("%w: the body is empty", ErrInvalid)
	}
	m, err := r.validate(ctx, wasm)
	if err != nil {
		return Manifest{}, err
	}
	digest, err := r.blobs.Put(ctx, wasm)
	if err != nil {
		return Manifest{}, fmt.Errorf("store module: %w", err)
	}
	if digest != m.Digest {
		return Manifest{}, fmt.Errorf("store module: blob digest %s differs from module digest %s", digest, m.Digest)
	}
	r.mu.Lock()
	r.loaded[digest] = m
	r.mu.Unlock()
	return manifestOf(m), nil
}

func (r *Registry) validate(ctx context.Context, wasm []byte) (*host.Module, error) {
	m, err := r.loader.Load(ctx, wasm)
	if err != nil {
		var me *host.ModuleError
		if errors.As(err, &me) {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return nil, fmt.Errorf("validate module: %w", err)
	}
	if m.MinMemoryPages > r.cfg.MaxMemoryPages {
		return nil, fmt.Errorf("%w: module needs %d memory pages at start; the limit is %d", ErrInvalid, m.MinMemoryPages, r.cfg.MaxMemoryPages)
	}
	return m, nil
}

// Module returns the validated module with digest, loading it from the
// blob store on first use (after a restart, the compilation cache makes
// that cheap).
func (r *Registry) Module(ctx context.Context, digest string) (*host.Module, error) {
	if err := store.CheckDigest("get module", digest); err != nil {
		return nil, err
	}
	r.mu.Lock()
	m, ok := r.loaded[digest]
	r.mu.Unlock()
	if ok {
		return m, nil
	}
	wasm, err := r.blobs.Get(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, digest)
	}
	if err != nil {
		return nil, fmt.Errorf("read module %s: %w", digest, err)
	}
	if m, err = r.validate(ctx, wasm); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.loaded[digest] = m
	r.mu.Unlock()
	return m, nil
}

// Get returns the manifest of digest.
func (r *Registry) Get(ctx context.Context, digest string) (Manifest, error) {
	m, err := r.Module(ctx, digest)
	if err != nil {
		return Manifest{}, err
	}
	return manifestOf(m), nil
}

// List returns every stored module's manifest, sorted by digest.
func (r *Registry) List(ctx context.Context) ([]Manifest, error) {
	infos, err := r.blobs.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list modules: %w", err)
	}
	out := make([]Manifest, 0, len(infos))
	for _, bi := range infos {
		mf, err := r.Get(ctx, bi.Digest)
		if err != nil {
			return nil, err
		}
		out = append(out, mf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out, nil
}

// Delete removes the module unless usedBy names functions that hold it,
// which is an *InUseError (409). The caller, which owns functions, says
// who uses it; the registry does not know about functions.
func (r *Registry) Delete(ctx context.Context, digest string, usedBy []string) error {
	if err := store.CheckDigest("delete module", digest); err != nil {
		return err
	}
	if len(usedBy) > 0 {
		sorted := append([]string(nil), usedBy...)
		sort.Strings(sorted)
		return &InUseError{Digest: digest, Functions: sorted}
	}
	if _, err := r.Module(ctx, digest); err != nil {
		return err
	}
	if err := r.blobs.Delete(ctx, digest); err != nil {
		return fmt.Errorf("delete module %s: %w", digest, err)
	}
	r.mu.Lock()
	delete(r.loaded, digest)
	r.mu.Unlock()
	return nil
}
