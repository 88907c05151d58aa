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
//     wasmfaas.props.changed.<subject>.<name>, with Nats-Msg-Id
//     "<bucket>:<revision>" so a re-publish is dropped as a duplicate;
//   - consumer wasmfaas_props_relay on the properties bucket's stream,
//     from which the events are published (see below).
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
// # Why are property-changed events relayed from the bucket's stream?
//
// A property change and its event must be one durable fact: a rule that
// waits on a property's changes must not miss one because the process died
// between the write and the event's publish. Every write already is a
// message of the properties bucket's stream, so that message is the
// outbox: the write carries the value it replaced (header Wasmfaas-Prev),
// a durable consumer (layout.PropsRelay) delivers each write to the relay
// (events.go), and the relay acknowledges the write only once its
// property-changed event is stored. A process that dies at any moment
// leaves its unacknowledged writes to the next relay, of this host or
// another. The event's Nats-Msg-Id and id are "<bucket>:<revision>"; a
// relay that finds a write it may have published before (one it has not
// seen in this process, or a redelivery) reads the property's last event
// first, so nothing is published twice even after the stream's duplicate
// window.
//
// A property's events follow the order of its writes. The consumer
// delivers in the bucket's order, but writes delivered to a relay that
// died come again only after the ack wait, after newer ones. So when a
// relay may have missed deliveries (it just started, or the consumer
// served another relay in between), it publishes a write only after the
// property's earlier writes that have no event yet, reading them from the
// bucket; the late deliveries then find their events stored.
//
// Two engine features make it exact. The bucket's stream keeps every
// write of a key (its per-key limit is layout.KeepAllPerKey, in effect
// none) until the relay has published it, and the relay purges behind
// itself, so a write replaced before the relay reached it is still there;
// a KV bucket's usual limit of one message per key would drop it. And the
// consumer is pinned to one host at a time (priority policy "pinned"), so
// one relay publishes, in the bucket's order, and another takes over
// layout.PropsRelayPinnedTTL after it stops pulling.
//
// The writer waits for nothing more than its write: the event follows
// within a millisecond or so on one server. The cost is storage: a
// property write holds its previous value too (the bucket's max value
// size is twice abi.MaxPropertyLen plus headers), and writes stay in the
// bucket until relayed.
package jetstream
