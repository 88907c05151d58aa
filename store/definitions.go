package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Doc is one revision of a definition: a function or a trigger, stored as
// JSON so the store does not know their shape.
type Doc struct {
	Kind     string          `json:"kind"`
	Name     string          `json:"name"`
	Revision uint64          `json:"revision"`
	Data     json.RawMessage `json:"data"`
	Updated  time.Time       `json:"updated"`
}

// Definitions keeps named, revisioned definitions (functions, triggers)
// that must survive restarts and be shared by every host. Every Put makes a
// new revision; older revisions stay readable for rollback, up to the
// backend's history limit (at least 16 per name).
type Definitions interface {
	// Put stores data as the newest revision of kind/name and returns it.
	// expect follows abi's compare-and-set convention (-1 any, 0 absent, n).
	Put(ctx context.Context, kind, name string, data json.RawMessage, expect int64) (Doc, error)
	// Get returns the newest revision; ErrNotFound if absent or deleted.
	Get(ctx context.Context, kind, name string) (Doc, error)
	// History returns the kept revisions of kind/name, oldest first.
	History(ctx context.Context, kind, name string) ([]Doc, error)
	// List returns the newest revision of every live kind/* definition, sorted by name.
	List(ctx context.Context, kind string) ([]Doc, error)
	// Delete removes kind/name and its history; ErrNotFound if absent.
	Delete(ctx context.Context, kind, name string) error
	// Watch calls fn with every change of a definition, of any kind,
	// stored after Watch returns, by this host or any other sharing the
	// backend, in the order the backend stored them, until ctx is done.
	// fn runs on one goroutine at a time and must not block for long.
	Watch(ctx context.Context, fn func(DefChange)) error
}

// DefChange is one stored change of a definition: Doc is the new revision,
// or, with Deleted set, Kind, Name and the Revision of the delete (a
// backend's revisions grow over all names, deletes included).
type DefChange struct {
	Doc     Doc
	Deleted bool
}

// MinDefinitionHistory is the fewest revisions a backend keeps per name.
const MinDefinitionHistory = 16

// CheckDefinition validates a kind and a name: 1-128 characters of
// [A-Za-z0-9_-], so names are safe in URLs, NATS subjects and file names.
func CheckDefinition(op, kind, name string) error {
	for _, v := range []struct{ what, s string }{{"kind", kind}, {"name", name}} {
		if v.s == "" || len(v.s) > 128 {
			return fmt.Errorf("%s %s/%s: %w: %s must be 1-128 characters", op, kind, name, ErrInvalid, v.what)
		}
		for i := 0; i < len(v.s); i++ {
			c := v.s[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return fmt.Errorf("%s %q: %w: %s may only hold letters, digits, '_' and '-'", op, v.s, ErrInvalid, v.what)
			}
		}
	}
	return nil
}
