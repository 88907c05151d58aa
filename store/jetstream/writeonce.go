package jetstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/wasmfaas/wasmfaas/internal/layout"
)

// Idempotent writes (store.WithWriteID): a write that carries a write id
// is one atomic batch on the bucket's stream (see "Why atomic batches for
// idempotent writes?" in docs/RATIONALE.md):
//
//  1. a marker on "$KV.<bucket>.~w.<hash of write id and key>", expecting
//     that subject to be empty (Nats-Expected-Last-Subject-Sequence: 0),
//     expiring after layout.WriteMarkerTTL (Nats-TTL);
//  2. the value or delete marker, with its usual expected last subject
//     sequence for a compare-and-set.
//
// The server stores both or neither. A refused batch is either a repeat
// (the marker exists: the write was applied before) or the usual
// conflict; one read of the marker subject tells which.

// JetStream's atomic batch headers (nats-server's JSBatchId, JSBatchSeq,
// JSBatchCommit) and per-message TTL header (JSMessageTTL); nats.go has no
// batch publish API of its own.
const (
	hdrBatchID     = "Nats-Batch-Id"
	hdrBatchSeq    = "Nats-Batch-Sequence"
	hdrBatchCommit = "Nats-Batch-Commit"
	hdrTTL         = "Nats-TTL"
	hdrExpectLast  = "Nats-Expected-Last-Subject-Sequence"
)

// markerGroup is the first key token of every write marker. "~" is not in
// the base64url alphabet of key tokens (keys.go), so no key of a KV
// namespace, property or extended property is ever under it; the mirror
// and the listings skip it.
const markerGroup = "~w"

// Error codes of the atomic batch publish that a retry of the same batch
// may get past: too many batches in flight on the stream, and a batch the
// server found incomplete (its first message lost or timed out).
const (
	errCodeBatchTooManyInflight = 10210
	errCodeBatchIncomplete      = 10176
)

// errApplied is returned by writeOnce when the write id was applied to the
// key before: nothing was written.
var errApplied = errors.New("write id already applied")

// markerTTL is the Nats-TTL of every marker.
var markerTTL = strconv.FormatInt(int64(layout.WriteMarkerTTL/time.Second), 10) + "s"

// marker returns the subject of the marker of write id on key.
func (b *bucket) marker(id, key string) string {
	h := sha256.New()
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return b.pre + markerGroup + "." + hex.EncodeToString(h.Sum(nil)[:16])
}

// writeOnce writes value (or a delete marker, del) to key together with
// the marker of write id, in one atomic batch; the value expects the key's
// last revision to be last when expect is true. It returns the value's
// revision, errApplied if the marker exists (nothing was written), or
// errStale if the expectation failed.
func (b *bucket) writeOnce(ctx context.Context, key string, value []byte, del bool, last uint64, expect bool, id string, hdr nats.Header) (uint64, error) {
	marker := b.marker(id, key)
	for tries := 1; ; tries++ {
		pa, err := b.batch(ctx, marker, key, value, del, last, expect, hdr)
		var apiErr *jetstream.APIError
		switch {
		case err == nil:
			if b.m != nil {
				b.m.apply(key, value, pa.Sequence, del)
			}
			return pa.Sequence, nil
		case isConflict(err):
			applied, err := b.applied(ctx, id, key)
			switch {
			case err != nil:
				return 0, err
			case applied:
				return 0, errApplied
			}
			return 0, errStale
		case errors.As(err, &apiErr) && tries < 5 &&
			(apiErr.ErrorCode == errCodeBatchTooManyInflight || apiErr.ErrorCode == errCodeBatchIncomplete):
			select {
			case <-ctx.Done():
				return 0, unavailable(ctx, err)
			case <-time.After(time.Duration(tries) * time.Millisecond):
			}
		default:
			return 0, unavailable(ctx, err)
		}
	}
}

// batch publishes the marker and the value as one atomic batch over the
// store's connection (a batch's messages must arrive in order): the marker
// without a reply subject, the value (with hdr) as the commit, whose PubAck
// (or error) answers for the whole batch.
func (b *bucket) batch(ctx context.Context, marker, key string, value []byte, del bool, last uint64, expect bool, hdr nats.Header) (*jetstream.PubAck, error) {
	id := nuid.Next()
	m := nats.NewMsg(marker)
	m.Header.Set(hdrBatchID, id)
	m.Header.Set(hdrBatchSeq, "1")
	m.Header.Set(hdrExpectLast, "0")
	m.Header.Set(hdrTTL, markerTTL)
	if err := b.js.Conn().PublishMsg(m); err != nil {
		return nil, err
	}
	v := nats.NewMsg(b.pre + key)
	for k, vals := range hdr {
		v.Header[k] = vals
	}
	v.Data = value
	v.Header.Set(hdrBatchID, id)
	v.Header.Set(hdrBatchSeq, "2")
	v.Header.Set(hdrBatchCommit, "1")
	if del {
		v.Header.Set(hdrKVOperation, opDelete)
	}
	if expect {
		v.Header.Set(hdrExpectLast, strconv.FormatUint(last, 10))
	}
	return b.js.PublishMsg(ctx, v)
}

// applied reports whether the marker of write id on key exists.
func (b *bucket) applied(ctx context.Context, id, key string) (bool, error) {
	_, err := b.stream.GetLastMsgForSubject(ctx, b.marker(id, key))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return false, nil
	case err != nil:
		return false, unavailable(ctx, err)
	}
	return true, nil
}
