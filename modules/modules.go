package modules

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
)

// Sentinels; the API layer maps them to HTTP status codes.
var (
	// ErrTooLarge: the upload exceeds the registry's size limit (413).
	ErrTooLarge = errors.New("module too large")
	// ErrInvalid: the bytes are not a module this host can run (422); the
	// error also wraps the reason (*abi.ModuleError).
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

// Validator checks module bytes against the ABI and describes them; the
// host (*host.Host) is one. Forget drops what it cached of a deleted module.
type Validator interface {
	Validate(ctx context.Context, wasm []byte) (abi.ModuleInfo, error)
	Forget(digest string)
}

// DefaultMaxMemoryPages is the start memory a module may declare when
// Config.MaxMemoryPages is zero: the ABI's default memory limit (16 MiB).
const DefaultMaxMemoryPages = 256

// Config bounds what the registry accepts.
type Config struct {
	// MaxSize is the largest upload in bytes; 0 means store.DefaultMaxBlobSize.
	MaxSize int64
	// MaxMemoryPages refuses modules whose start memory is larger; 0 means
	// DefaultMaxMemoryPages.
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

// Module is a validated module: its manifest and its bytes.
type Module struct {
	Manifest
	Wasm []byte
}

func manifestOf(digest string, size int, info abi.ModuleInfo) Manifest {
	caps := info.Capabilities
	if caps == nil {
		caps = []abi.Capability{}
	}
	imports := info.Imports
	if imports == nil {
		imports = []string{}
	}
	return Manifest{
		Digest: digest, Size: int64(size), Mode: info.Mode, Exports: info.Exports,
		Imports: imports, Capabilities: caps, MinMemoryPages: info.MinMemoryPages,
	}
}

// Registry is safe for concurrent use.
type Registry struct {
	cfg       Config
	blobs     store.Blobs
	validator Validator

	mu     sync.Mutex
	loaded map[string]Module // by digest: validated once per process
}

// New returns a Registry over blobs, validating with v.
func New(cfg Config, blobs store.Blobs, v Validator) *Registry {
	if cfg.MaxSize == 0 {
		cfg.MaxSize = store.DefaultMaxBlobSize
	}
	if cfg.MaxMemoryPages == 0 {
		cfg.MaxMemoryPages = DefaultMaxMemoryPages
	}
	return &Registry{cfg: cfg, blobs: blobs, validator: v, loaded: map[string]Module{}}
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
	return m.Manifest, nil
}

func (r *Registry) validate(ctx context.Context, wasm []byte) (Module, error) {
	info, err := r.validator.Validate(ctx, wasm)
	if err != nil {
		var me *abi.ModuleError
		if errors.As(err, &me) {
			return Module{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return Module{}, fmt.Errorf("validate module: %w", err)
	}
	if info.MinMemoryPages > r.cfg.MaxMemoryPages {
		return Module{}, fmt.Errorf("%w: module needs %d memory pages at start; the limit is %d", ErrInvalid, info.MinMemoryPages, r.cfg.MaxMemoryPages)
	}
	return Module{Manifest: manifestOf(store.Digest(wasm), len(wasm), info), Wasm: wasm}, nil
}

// Module returns the validated module with digest, loading it from the
// blob store on first use (after a restart, the compilation cache makes
// that cheap).
func (r *Registry) Module(ctx context.Context, digest string) (Module, error) {
	if err := store.CheckDigest("get module", digest); err != nil {
		return Module{}, err
	}
	r.mu.Lock()
	m, ok := r.loaded[digest]
	r.mu.Unlock()
	if ok {
		return m, nil
	}
	wasm, err := r.blobs.Get(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		return Module{}, fmt.Errorf("%w: %s", ErrNotFound, digest)
	}
	if err != nil {
		return Module{}, fmt.Errorf("read module %s: %w", digest, err)
	}
	if m, err = r.validate(ctx, wasm); err != nil {
		return Module{}, err
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
	return m.Manifest, nil
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
	r.validator.Forget(digest)
	return nil
}
