package store

import (
	"context"
	"time"
)

// WriteIDRetention is how long a backend remembers that a write id was
// applied: far longer than any redelivery of the event that caused the
// write (a trigger's retries and backoff, a host restarting after a
// crash), so that re-running an interrupted call never applies its writes
// twice. internal/layout gives the JetStream markers the same lifetime.
const WriteIDRetention = 24 * time.Hour

type writeIDKey struct{}

// WithWriteID returns ctx carrying the write id of the next write (KV Put
// or Delete, Properties Set, Delete, SetExtended or DeleteExtended): the
// backend applies a write with a given id to a given key at most once
// within WriteIDRetention. A repeat is answered as a success without
// writing: Put returns the key's current revision (0 if it no longer
// exists); Set returns a Change with the property's current value and
// revision (both empty if it no longer exists), no Old, and notifies
// nothing; Delete returns a Change with neither value. A repeat wins over
// every check: it answers success even where a first write would be a
// conflict or not found, because the first write was exactly that success.
//
// The host derives the id from the call (host.WriteID), so that a call
// run again after a crash, on the same event through the same trigger,
// does not apply its writes twice (docs/RATIONALE.md, "Why atomic batches
// for idempotent writes?"). Writes without an id are applied every time.
func WithWriteID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, writeIDKey{}, id)
}

// WriteID returns the write id ctx carries, or "" if none.
func WriteID(ctx context.Context) string {
	id, _ := ctx.Value(writeIDKey{}).(string)
	return id
}
