package jetstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/store"
)

// NATS KV header names and operations (nats.go keeps its own unexported).
const (
	hdrKVOperation = "KV-Operation"
	hdrMarker      = "Nats-Marker-Reason"
	opDelete       = "DEL"
)

// bucket is one KV bucket with its mirror (nil without a cache) and the
// stream underneath, which reads use directly so that they see a delete
// marker's revision (KeyValue.Get hides it).
type bucket struct {
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	stream jetstream.Stream
	m      *mirror
	pre    string // "$KV.<bucket>."
}

func newBucket(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue, m *mirror) (*bucket, error) {
	st, err := js.Stream(ctx, "KV_"+kv.Bucket())
	if err != nil {
		return nil, err
	}
	if m != nil {
		m.stream = st
	}
	return &bucket{js: js, kv: kv, stream: st, m: m, pre: "$KV." + kv.Bucket() + "."}, nil
}

// state is what a read found: the value if the key exists, and the
// revision of the key's last message (a value or a delete marker; 0 if the
// key never existed), which is what a compare-and-set must expect.
type state struct {
	value  []byte
	exists bool
	last   uint64
}

// get reads key from the mirror when it is ready (fromMirror true), else
// from the server.
func (b *bucket) get(ctx context.Context, key string) (st state, fromMirror bool, err error) {
	if v := b.m.ready(); v != nil {
		e, ok := b.m.get(v, key)
		if !ok {
			return state{}, true, nil
		}
		return state{value: e.value, exists: !e.deleted, last: e.rev}, true, nil
	}
	st, err = b.fetch(ctx, key)
	return st, false, err
}

// fetch reads key from the server and refreshes the mirror with it.
func (b *bucket) fetch(ctx context.Context, key string) (state, error) {
	msg, err := b.stream.GetLastMsgForSubject(ctx, b.pre+key)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return state{}, nil
	}
	if err != nil {
		return state{}, unavailable(ctx, err)
	}
	deleted := isTombstone(msg.Header)
	if b.m != nil {
		b.m.apply(key, msg.Data, msg.Sequence, deleted)
	}
	if deleted {
		return state{last: msg.Sequence}, nil
	}
	v := msg.Data
	if v == nil {
		v = []byte{}
	}
	return state{value: v, exists: true, last: msg.Sequence}, nil
}

func isTombstone(h nats.Header) bool {
	if len(h) == 0 {
		return false
	}
	if op := h.Get(hdrKVOperation); op != "" {
		return true // DEL or PURGE
	}
	return h.Get(hdrMarker) != ""
}

// put stores value unconditionally; the mirror keeps value, which the
// caller must not modify afterwards. With a write id in ctx it returns
// errApplied, having written nothing, if the id was applied to key before.
func (b *bucket) put(ctx context.Context, key string, value []byte) (uint64, error) {
	if id := store.WriteID(ctx); id != "" {
		return b.writeOnceAlways(ctx, key, value, false, id)
	}
	rev, err := b.kv.Put(ctx, key, value)
	if err != nil {
		return 0, unavailable(ctx, err)
	}
	if b.m != nil {
		b.m.apply(key, value, rev, false)
	}
	return rev, nil
}

// errStale is returned by update and remove when the key's last revision
// is not the expected one.
var errStale = errors.New("stale revision")

// update stores value (kept by the mirror, like put's) if the key's last
// message has revision last (0: no message at all); errStale if not;
// errApplied (as put) with a write id. The message carries hdr (nil: none)
// besides the value.
func (b *bucket) update(ctx context.Context, key string, value []byte, last uint64, hdr nats.Header) (uint64, error) {
	if id := store.WriteID(ctx); id != "" {
		return b.writeOnce(ctx, key, value, false, last, true, id, hdr)
	}
	m := nats.NewMsg(b.pre + key)
	for k, v := range hdr {
		m.Header[k] = v
	}
	m.Data = value
	pa, err := b.js.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(last))
	if isConflict(err) {
		return 0, errStale
	}
	if err != nil {
		return 0, unavailable(ctx, err)
	}
	if b.m != nil {
		b.m.apply(key, value, pa.Sequence, false)
	}
	return pa.Sequence, nil
}

// remove writes a delete marker, if the key's last message has revision
// last when expect is true (errStale if not), and returns the marker's
// revision. KeyValue.Delete does not return it, and the mirror needs it.
// With a write id in ctx it returns errApplied, as put. The marker
// carries hdr (nil: none) besides the KV operation.
func (b *bucket) remove(ctx context.Context, key string, last uint64, expect bool, hdr nats.Header) (uint64, error) {
	if id := store.WriteID(ctx); id != "" {
		if !expect {
			return b.writeOnceAlways(ctx, key, nil, true, id)
		}
		return b.writeOnce(ctx, key, nil, true, last, true, id, hdr)
	}
	m := nats.NewMsg(b.pre + key)
	for k, v := range hdr {
		m.Header[k] = v
	}
	m.Header.Set(hdrKVOperation, opDelete)
	var opts []jetstream.PublishOpt
	if expect {
		opts = append(opts, jetstream.WithExpectLastSequencePerSubject(last))
	}
	pa, err := b.js.PublishMsg(ctx, m, opts...)
	if isConflict(err) {
		return 0, errStale
	}
	if err != nil {
		return 0, unavailable(ctx, err)
	}
	if b.m != nil {
		b.m.apply(key, nil, pa.Sequence, true)
	}
	return pa.Sequence, nil
}

// writeOnceAlways is writeOnce without an expected revision: only the
// marker can refuse the batch, so errStale (a marker that expired between
// the refusal and the check) is tried again.
func (b *bucket) writeOnceAlways(ctx context.Context, key string, value []byte, del bool, id string) (uint64, error) {
	for {
		rev, err := b.writeOnce(ctx, key, value, del, 0, false, id, nil)
		if err != errStale {
			return rev, err
		}
	}
}

// group lists the live entries of group token g, sorted by name.
func (b *bucket) group(ctx context.Context, g string) ([]centry, error) {
	if v := b.m.ready(); v != nil {
		return b.m.group(v, g), nil
	}
	lister, err := b.kv.ListKeysFiltered(ctx, g+".*")
	if err != nil {
		return nil, unavailable(ctx, err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	if err := ctx.Err(); err != nil {
		return nil, unavailable(ctx, err)
	}
	out := make([]centry, 0, len(keys))
	for _, k := range keys {
		st, err := b.fetch(ctx, k)
		if err != nil {
			return nil, err
		}
		if !st.exists {
			continue
		}
		_, n, _ := splitKey(k)
		name, err := decode(n)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", b.kv.Bucket(), err)
		}
		out = append(out, centry{name: name, value: st.value, rev: st.last})
	}
	sortEntries(out)
	return out, nil
}
