package jetstream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/store"
)

// valueSlack is what a bucket's max value size allows beyond the abi
// limit (internal/layout declares the buckets with it): JetStream counts a
// message's headers against the bucket's limit too.
const valueSlack = layout.ValueSlack

// errClosed is returned by every operation after Close.
var errClosed = fmt.Errorf("%w: jetstream store is closed", store.ErrUnavailable)

// Config configures a Store. The zero value reads and writes the default
// layout's buckets and subjects (internal/layout), which must exist: the
// layout creates them, the Store only opens them.
type Config struct {
	// KVBucket, PropsBucket and ExtBucket are the buckets of KV namespaces,
	// subject properties and extended properties; layout.KVBucket,
	// layout.PropsBucket and layout.ExtBucket if empty.
	KVBucket, PropsBucket, ExtBucket string
	// ChangeSubject prefixes the subject of every property-changed event,
	// followed by the property's key in the bucket (encoded subject and
	// name); layout.PropsSubject if empty. ChangeStream is the stream
	// that holds them; layout.PropsStream if empty.
	ChangeSubject, ChangeStream string
	// Relay is the durable consumer on the properties bucket's stream
	// that the Store publishes property-changed events from;
	// layout.PropsRelay if empty.
	Relay string
	// Source is the CloudEvents source of property-changed events;
	// store.DefaultSource if empty.
	Source string
	// Notifier, if set, is called after every committed property change
	// this Store makes, in the writer's goroutine.
	Notifier store.Notifier
	// NoCache turns the host-side mirror off: every read goes to the server.
	NoCache bool
	// Logger receives warnings (a failed event publish being retried);
	// nil discards them.
	Logger *slog.Logger
}

// Store is a store.Store on JetStream. It is safe for concurrent use, and
// several Stores (in one process or many) may share the same buckets.
type Store struct {
	cfg Config
	js  jetstream.JetStream
	nc  *nats.Conn
	log *slog.Logger

	// The buckets of KV, properties and extended properties.
	kvB, propB, extB *bucket

	events *relay
	// lastWrite is the highest properties-bucket revision this Store
	// wrote, whose event Close waits for.
	lastWrite atomic.Uint64

	mu     sync.RWMutex
	closed bool
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.KV         = (*kv)(nil)
	_ store.Properties = (*props)(nil)
)

// New opens the buckets and loads the mirrors, waiting for them until ctx
// is done. The buckets must exist (layout.Ensure).
func New(ctx context.Context, js jetstream.JetStream, cfg Config) (*Store, error) {
	cfg.KVBucket = cmp.Or(cfg.KVBucket, layout.KVBucket)
	cfg.PropsBucket = cmp.Or(cfg.PropsBucket, layout.PropsBucket)
	cfg.ExtBucket = cmp.Or(cfg.ExtBucket, layout.ExtBucket)
	cfg.ChangeSubject = cmp.Or(cfg.ChangeSubject, layout.PropsSubject)
	cfg.ChangeStream = cmp.Or(cfg.ChangeStream, layout.PropsStream)
	cfg.Relay = cmp.Or(cfg.Relay, layout.PropsRelay)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "store/jetstream")
	s := &Store{cfg: cfg, js: js, nc: js.Conn(), log: log}
	if mp := s.nc.MaxPayload(); mp > 0 && mp < abi.MaxValueLen+valueSlack {
		// A server with NATS's default max_payload (1 MiB) refuses the
		// largest values abi allows; they fail with store.ErrTooLarge.
		log.Warn("nats max_payload is below the largest KV value plus headers; raise max_payload on the server",
			"max_payload", mp, "want", abi.MaxValueLen+valueSlack)
	}

	open := func(name string) (*bucket, error) {
		kv, err := js.KeyValue(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("open bucket %s: %w", name, unavailable(ctx, err))
		}
		var m *mirror
		if !cfg.NoCache {
			m = newMirror(kv, s.nc, log)
		}
		b, err := newBucket(ctx, js, kv, m)
		if err != nil {
			return nil, fmt.Errorf("open bucket %s: %w", name, unavailable(ctx, err))
		}
		return b, nil
	}
	var err error
	if s.kvB, err = open(cfg.KVBucket); err != nil {
		return nil, err
	}
	if s.propB, err = open(cfg.PropsBucket); err != nil {
		return nil, err
	}
	if s.extB, err = open(cfg.ExtBucket); err != nil {
		return nil, err
	}
	for _, b := range []*bucket{s.kvB, s.propB, s.extB} {
		if b.m == nil {
			continue
		}
		if err := b.m.start(ctx); err != nil {
			s.closeMirrors()
			return nil, fmt.Errorf("watch bucket %s: %w", b.kv.Bucket(), unavailable(ctx, err))
		}
	}
	if s.events, err = s.startRelay(ctx); err != nil {
		s.closeMirrors()
		return nil, err
	}
	return s, nil
}

// KV returns the store's key/value view.
func (s *Store) KV() store.KV { return (*kv)(s) }

// Properties returns the store's properties view.
func (s *Store) Properties() store.Properties { return (*props)(s) }

// Close waits (up to 5 seconds) until the property-changed events of the
// writes this Store made are stored, then stops the relay and the mirrors
// (events it could not wait for are published by the next relay, of this
// host or another); every later operation fails
// with store.ErrUnavailable. It does not close the NATS connection, which
// belongs to the caller. Closing twice is allowed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	defer s.closeMirrors()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(s.events.drain(ctx, s.lastWrite.Load()), s.events.stop(ctx))
}

func (s *Store) closeMirrors() {
	for _, b := range []*bucket{s.kvB, s.propB, s.extB} {
		b.m.close()
	}
}

// check returns the context's error, errClosed after Close, or an error
// wrapping store.ErrUnavailable when the connection is down, so a call
// fails at once instead of waiting for its deadline.
func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return errClosed
	}
	if st := s.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("%w: nats connection is %s", store.ErrUnavailable, st)
	}
	return nil
}

// unavailable wraps an error from NATS in store.ErrUnavailable (keeping the
// context's error visible to errors.Is when it caused it), except a message
// over the server's max_payload, which is store.ErrTooLarge.
func unavailable(ctx context.Context, err error) error {
	if errors.Is(err, nats.ErrMaxPayload) {
		return fmt.Errorf("%w: %w", store.ErrTooLarge, err)
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w: %w: %w", store.ErrUnavailable, ctxErr, err)
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// isConflict reports whether err is JetStream's wrong-last-sequence answer
// to a compare-and-set: error code 10071, or 10164 from replicated streams
// (KeyValue.Update maps both; a raw publish, as bucket.remove makes, does
// not).
func isConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// isNotFound reports whether err says the key is absent or deleted.
func isNotFound(err error) bool {
	return errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted)
}
