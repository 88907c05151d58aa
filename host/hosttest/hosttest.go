package hosttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/natsserver"
	"github.com/wasmfaas/wasmfaas/store"
	jsstore "github.com/wasmfaas/wasmfaas/store/jetstream"
	"github.com/wasmfaas/wasmfaas/store/mem"
)

// Host is a real host.Host wired to an in-memory store, or to a JetStream
// store on an embedded NATS server (Options.Backend).
type Host struct {
	*host.Host
	// Store is the in-memory store guests read and write, to inspect after a
	// call; nil when Options.Store or Options.Backend chose another backend.
	Store *mem.Store

	state store.Store
	// closers release what New started for the JetStream backend, in order.
	closers []func() error
}

// Backends for Options.Backend.
const (
	// BackendMem is the in-memory store (the default).
	BackendMem = "mem"
	// BackendJetStream is store/jetstream on an embedded NATS server in a
	// temporary directory, started by New and removed by Close.
	BackendJetStream = "jetstream"
)

// Options configure New.
type Options struct {
	// CacheDir is wazero's compilation cache; empty means DefaultCacheDir()/wazero.
	CacheDir string
	// Store replaces the in-memory store's KV and properties (e.g. a
	// JetStream backend); Host.Store is then nil.
	Store store.Store
	// Backend chooses the store when Store is nil: BackendMem (also when
	// empty) or BackendJetStream.
	Backend string
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

// New returns a Host with an empty in-memory store.
func New(opts Options) (*Host, error) {
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(DefaultCacheDir(), "wazero")
	}
	th := &Host{}
	var st store.Store = opts.Store
	switch {
	case st != nil:
	case opts.Backend == "" || opts.Backend == BackendMem:
		th.Store = mem.New()
		st = th.Store
	case opts.Backend == BackendJetStream:
		var err error
		if st, err = th.startJetStream(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("store backend %q: want %s or %s", opts.Backend, BackendMem, BackendJetStream)
	}
	th.state = st
	h, err := host.New(host.Config{CacheDir: opts.CacheDir, KV: st.KV(), Properties: st.Properties()})
	if err != nil {
		_ = th.closeAll()
		return nil, err
	}
	th.Host = h
	return th, nil
}

// startJetStream starts an embedded NATS server in a temporary directory
// and opens a JetStream store on it; Close undoes both.
func (h *Host) startJetStream() (store.Store, error) {
	dir, err := os.MkdirTemp("", "wasmfaas-hosttest-nats-")
	if err != nil {
		return nil, fmt.Errorf("jetstream backend: %w", err)
	}
	h.closers = append(h.closers, func() error { return os.RemoveAll(dir) })
	srv, err := natsserver.Start(natsserver.Config{DataDir: dir})
	if err != nil {
		_ = h.closeAll()
		return nil, fmt.Errorf("jetstream backend: %w", err)
	}
	h.closers = append([]func() error{func() error { return srv.Shutdown(context.Background()) }}, h.closers...)
	nc, err := srv.Conn()
	if err != nil {
		_ = h.closeAll()
		return nil, fmt.Errorf("jetstream backend: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		_ = h.closeAll()
		return nil, fmt.Errorf("jetstream backend: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := jsstore.New(ctx, js, jsstore.Config{Source: "hosttest"})
	if err != nil {
		_ = h.closeAll()
		return nil, fmt.Errorf("jetstream backend: %w", err)
	}
	h.closers = append([]func() error{st.Close}, h.closers...)
	return st, nil
}

// closeAll runs the closers in order and forgets them.
func (h *Host) closeAll() error {
	var errs []error
	for _, c := range h.closers {
		errs = append(errs, c())
	}
	h.closers = nil
	return errors.Join(errs...)
}

// Close closes the host and its store; with BackendJetStream it also stops
// the embedded server and removes its directory.
func (h *Host) Close() error {
	err := h.Host.Close(context.Background())
	if h.Store != nil { // a store passed in Options is the caller's to close
		_ = h.Store.Close()
	}
	return errors.Join(err, h.closeAll())
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
