// Package jetstream is the store.Store backend on NATS JetStream: KV
// namespaces, subject properties and extended properties in three JetStream
// KV buckets, and every property change published as a property-changed
// CloudEvent into a stream the router consumes.
//
// Layout (names with the default Config; internal/layout creates the
// buckets and the stream, this package only opens them):
//
//   - bucket wasmfaas_kv: every function's KV namespace, key
//     "<namespace>.<key>";
//   - bucket wasmfaas_props: properties, key "<subject>.<name>";
//   - bucket wasmfaas_ext: extended properties, key "<subject>.<name>";
//   - stream WASMFAAS_PROPS on wasmfaas.props.changed.>: one
//     property-changed event per committed change, on
//     wasmfaas.props.changed.<subject>, with Nats-Msg-Id
//     "<bucket>:<revision>" so a re-publish is dropped as a duplicate.
//
// Each token is the base64url encoding of the string (keys.go explains
// why). Revisions are the buckets' stream sequences, so they only grow and
// a deleted and recreated key never gets an old revision back.
// Compare-and-set uses JetStream's expected-last-subject-sequence, so
// several hosts sharing one NATS server never lose an update.
//
// Reads are served from a host-side mirror of each bucket kept current by a
// KV watch (mirror.go); writes always go to the server.
//
// # Why one KV bucket for every namespace?
//
// A bucket per function would give each its own limits and TTL, but it
// costs a stream (and, with a mirror, a watch) per function, bucket names
// would need their own encoding, and the first Put of a new function would
// create a stream on the hot path. One bucket with "<namespace>.<key>" keys
// keeps namespaces apart just as well (Keys lists the filter
// "<namespace>.*"), with one stream, one watch and one MaxValueSize. Per
// function quotas, if needed, are a later, separate decision.
//
// # Why a host-side mirror of the buckets?
//
// A direct get over an in-process connection costs 11–16 µs, fifty times a
// pooled Wasm call; the target for a hot property or KV get is
// 5 µs. The mirror answers in about 250 ns. Its price: memory (it holds
// the whole bucket, values included: Config.NoCache turns it off), and
// reads of another host's writes lag by the watch's delivery (typically
// well under a millisecond on one server). Read-your-writes holds inside
// one Store, because every write applies its result to the mirror at the
// revision the server acknowledged. Compare-and-set never trusts the
// mirror: the write carries the expected revision to the server, and a
// conflict makes the Store re-read the key from the server before deciding,
// so a stale mirror costs a round trip, never a lost update. While the
// connection is down every call fails with store.ErrUnavailable (rather
// than serving possibly stale data), and after a reconnect the mirror is
// rebuilt from a new watch (reads go to the server meanwhile).
//
// # Why are property-changed events published asynchronously?
//
// A change is committed by its KV write; its event is then queued and
// published with an asynchronous JetStream publish, re-sent until the
// stream acknowledges it (Nats-Msg-Id "<bucket>:<revision>" makes a re-send
// a no-op inside the stream's two-minute duplicate window). Waiting for the
// event's ack would add a second round trip (~25 µs) to every property
// write. The cost: events queued in a process that dies before their ack
// are lost (the property change itself is not). Closing that window needs
// an outbox, a relay that publishes from the properties bucket's history;
// it is listed as follow-up work.
package jetstream
