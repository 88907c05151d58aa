package store

import (
	"context"
	"encoding/json"
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// Entry is a KV value with its revision.
type Entry struct {
	Value    []byte
	Revision uint64
}

// KV is a key/value store partitioned into namespaces (one per function).
// Keys and values are checked with abi.CheckKey and abi.MaxValueLen (see
// CheckKey and CheckValue); a namespace is any non-empty UTF-8 string
// without NUL. Every method of KV and Properties returns the context's error
// for a context that is already done, and an error wrapping ErrUnavailable
// after Close.
type KV interface {
	// Get returns ErrNotFound for a missing key.
	Get(ctx context.Context, ns, key string) (Entry, error)
	// Put stores value and returns its new revision.
	Put(ctx context.Context, ns, key string, value []byte) (uint64, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, ns, key string) error
	// Keys lists the keys of ns starting with prefix (empty: all), sorted
	// bytewise.
	Keys(ctx context.Context, ns, prefix string) ([]string, error)
}

// Property is a property value (JSON) with its revision.
type Property struct {
	Value    json.RawMessage
	Revision uint64
}

// Change describes one property change; Old is nil when the property did not
// exist and New is nil when it was deleted.
type Change struct {
	Subject  string
	Name     string
	Old      json.RawMessage
	New      json.RawMessage
	Revision uint64 // revision after the change; 0 for a delete
}

// Properties holds the reactive properties and the extended properties of
// subjects. Expected revisions follow abi: abi.RevAny (-1) is unconditional,
// abi.RevAbsent (0) requires the property not to exist, n > 0 requires
// revision n; a mismatch is ErrConflict.
type Properties interface {
	// Get returns ErrNotFound for a property that was never set or was deleted.
	Get(ctx context.Context, subject, name string) (Property, error)
	// Set stores value (valid JSON) if the revision matches expect.
	Set(ctx context.Context, subject, name string, value json.RawMessage, expect int64) (Change, error)
	// Delete removes the property if the revision matches expect; ErrNotFound
	// if absent, whatever expect is.
	Delete(ctx context.Context, subject, name string, expect int64) (Change, error)
	// List returns every property of subject (empty map if none), without
	// the extended properties.
	List(ctx context.Context, subject string) (map[string]Property, error)

	// GetExtended returns an extended property; ErrNotFound if absent.
	GetExtended(ctx context.Context, subject, name string) (string, error)
	// SetExtended sets an extended property (a CloudEvents extension name and string value).
	SetExtended(ctx context.Context, subject, name, value string) error
	// DeleteExtended removes an extended property; a missing one is not an error.
	DeleteExtended(ctx context.Context, subject, name string) error
	// Extended returns all extended properties of subject (empty map if none).
	Extended(ctx context.Context, subject string) (map[string]string, error)
}

// Store is everything a backend provides.
type Store interface {
	KV() KV
	Properties() Properties
	// Close releases the backend's resources.
	Close() error
}

// MaxHistoryLimit is the most events PropertyHistory.History returns.
const MaxHistoryLimit = 1000

// PropertyHistory reads back the property-changed events a backend keeps
// (the JetStream backend's property-changed stream, the memory backend's
// change log): what an operator looks at to see how a subject's state came
// to be. Both backends' Properties views implement it.
type PropertyHistory interface {
	// History returns the newest property-changed events, at most limit
	// (1 to MaxHistoryLimit), about subject, or about any subject when
	// subject is empty, newest first. Events are kept for the backend's
	// retention (layout.Config.PropsMaxAge for JetStream).
	History(ctx context.Context, subject string, limit int) ([]cloudevents.Event, error)
}

// CheckHistory validates History's arguments.
func CheckHistory(subject string, limit int) error {
	if limit < 1 || limit > MaxHistoryLimit {
		return fmt.Errorf("property history: %w: limit %d (want 1 to %d)", ErrInvalid, limit, MaxHistoryLimit)
	}
	if subject == "" {
		return nil
	}
	return CheckSubject("history", subject)
}
