package hosttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/egress"
	"github.com/wasmfaas/wasmfaas/store"
	"github.com/wasmfaas/wasmfaas/store/mem"
)

// Host is a real host.Host wired to an in-memory store, or to the store
// Options.Store or Options.OpenStore supplies.
type Host struct {
	*host.Host
	// Store is the in-memory store guests read and write, to inspect after a
	// call; nil when Options.Store or Options.OpenStore chose another.
	Store *mem.Store

	state store.Store
	// closeStore releases a store OpenStore opened.
	closeStore func() error
}

// Options configure New.
type Options struct {
	// CacheDir is wazero's compilation cache; empty means DefaultCacheDir()/wazero.
	CacheDir string
	// Store replaces the in-memory store's KV and properties (e.g. a
	// JetStream backend); Host.Store is then nil. The caller closes it.
	Store store.Store
	// OpenStore, when Store is nil, opens a store for each New (a suite
	// opens one per case) and returns the function that closes it, which
	// Close calls. `wasmfaas test --store jetstream` opens an embedded NATS
	// server this way; this package links none.
	OpenStore func() (store.Store, func() error, error)
	// MemoryBudget is the host's budget of guest memory in bytes
	// (host.DefaultMemoryBudget if zero).
	MemoryBudget int64
	// HTTP is how the http capability resolves and connects (the system's
	// resolver and plain TCP if zero).
	HTTP egress.Config
}

// DefaultCacheDir is where compiled modules and built guests are cached:
// $WASMFAAS_CACHE_DIR, else the user's cache directory.
func DefaultCacheDir() string {
	if d := os.Getenv("WASMFAAS_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "wasmfaas")
	}
	return filepath.Join(os.TempDir(), "wasmfaas-cache")
}

// New returns a Host with an empty in-memory store, or the store opts
// choose.
func New(opts Options) (*Host, error) {
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(DefaultCacheDir(), "wazero")
	}
	th := &Host{}
	st := opts.Store
	switch {
	case st != nil:
	case opts.OpenStore != nil:
		var err error
		if st, th.closeStore, err = opts.OpenStore(); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	default:
		th.Store = mem.New()
		st = th.Store
	}
	th.state = st
	h, err := host.New(host.Config{CacheDir: opts.CacheDir, KV: st.KV(), Properties: st.Properties(), MemoryBudget: opts.MemoryBudget, HTTP: opts.HTTP})
	if err != nil {
		if th.closeStore != nil {
			_ = th.closeStore()
		}
		return nil, err
	}
	th.Host = h
	return th, nil
}

// Close closes the host and the store it opened (an in-memory one, or one
// from Options.OpenStore).
func (h *Host) Close() error {
	err := h.Host.Close(context.Background())
	if h.Store != nil { // a store passed in Options is the caller's to close
		_ = h.Store.Close()
	}
	if h.closeStore != nil {
		err = errors.Join(err, h.closeStore())
		h.closeStore = nil
	}
	return err
}

// FunctionOption adjusts a function before it is deployed.
type FunctionOption func(*host.FunctionConfig)

// Grant adds capabilities to the default grants (log, info, wasi).
func Grant(caps ...abi.Capability) FunctionOption {
	return func(c *host.FunctionConfig) {
		for _, cp := range caps {
			c.Grants[cp] = true
		}
	}
}

// Grants replaces the whole grant set, defaults included.
func Grants(g abi.Grants) FunctionOption {
	return func(c *host.FunctionConfig) { c.Grants = g }
}

// Config sets a config entry.
func Config(key, value string) FunctionOption {
	return func(c *host.FunctionConfig) { c.Config[key] = value }
}

// WithLimits sets the function's limits.
func WithLimits(l host.Limits) FunctionOption {
	return func(c *host.FunctionConfig) { c.Limits = l }
}

// AllowHosts adds entries to the function's allow-list for the http
// capability (grant it with Grant(abi.CapHTTP)).
func AllowHosts(hosts ...string) FunctionOption {
	return func(c *host.FunctionConfig) { c.AllowedHosts = append(c.AllowedHosts, hosts...) }
}

// WithIsolation sets pooled or fresh instances.
func WithIsolation(i host.Isolation) FunctionOption {
	return func(c *host.FunctionConfig) { c.Isolation = i }
}

// Deploy loads wasm and makes it a function called name.
func (h *Host) Deploy(ctx context.Context, name string, wasm []byte, opts ...FunctionOption) (*host.Function, error) {
	m, err := h.Load(ctx, wasm)
	if err != nil {
		return nil, err
	}
	cfg := host.FunctionConfig{Name: name, Grants: abi.NewGrants(abi.DefaultGrants...), Config: map[string]string{}}
	for _, o := range opts {
		o(&cfg)
	}
	return h.NewFunction(ctx, m, cfg)
}

// DeployFile is Deploy for a .wasm file.
func (h *Host) DeployFile(ctx context.Context, name, path string, opts ...FunctionOption) (*host.Function, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read module: %w", err)
	}
	return h.Deploy(ctx, name, wasm, opts...)
}

// Send invokes fn with ev through the same code path as the server.
func (h *Host) Send(ctx context.Context, fn *host.Function, ev cloudevents.Event, opts ...host.CallOption) host.ExecutionInfo {
	return h.Invoke(ctx, fn, ev, opts...)
}

// SetProperty seeds a property with v encoded as JSON.
func (h *Host) SetProperty(ctx context.Context, subject, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = h.state.Properties().Set(ctx, subject, name, b, abi.RevAny)
	return err
}

// Property returns a property's JSON value.
func (h *Host) Property(ctx context.Context, subject, name string) (json.RawMessage, error) {
	p, err := h.state.Properties().Get(ctx, subject, name)
	return p.Value, err
}

// SetKV seeds a key in fn's namespace.
func (h *Host) SetKV(ctx context.Context, fn, key string, value []byte) error {
	_, err := h.state.KV().Put(ctx, fn, key, value)
	return err
}

// KV returns a key of fn's namespace.
func (h *Host) KV(ctx context.Context, fn, key string) ([]byte, error) {
	e, err := h.state.KV().Get(ctx, fn, key)
	return e.Value, err
}

// NewEvent returns a valid event with a fresh id, source "hosttest", and data
// encoded as JSON (or raw, for []byte and string).
func NewEvent(typ, subject string, data any) cloudevents.Event {
	ev := cloudevents.NewEvent()
	ev.SetID(uuid.NewString())
	ev.SetSource("hosttest")
	ev.SetType(typ)
	if subject != "" {
		ev.SetSubject(subject)
	}
	switch d := data.(type) {
	case nil:
	case []byte:
		_ = ev.SetData("application/octet-stream", d)
	case string:
		_ = ev.SetData("text/plain", []byte(d))
	default:
		_ = ev.SetData(cloudevents.ApplicationJSON, d)
	}
	return ev
}

// ReadEvent reads a structured-mode CloudEvent JSON file.
func ReadEvent(path string) (cloudevents.Event, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return cloudevents.Event{}, fmt.Errorf("read event: %w", err)
	}
	var ev cloudevents.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return cloudevents.Event{}, fmt.Errorf("parse event %s: %w", path, err)
	}
	return ev, nil
}
