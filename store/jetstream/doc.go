// Package jetstream is the store.Store backend on NATS JetStream: KV
// namespaces, subject properties and extended properties in three JetStream
// KV buckets, and every property change published as a property-changed
// CloudEvent into a stream the router consumes.
//
// Layout (names with the default Config):
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
package jetstream
