// Package natsserver runs the embedded NATS server: github.com/nats-io/nats-server/v2
// in-process with JetStream on file storage under a data directory, handing
// out in-process client connections (no TCP unless Config.Listen asks for it),
// or connects to an external NATS server instead (Connect).
//
// With Config.Cluster the server is one node of a cluster: it joins its
// peers through routes (with credentials beyond loopback), JetStream runs
// clustered, and the log adapter reports a peer it cannot reach once, not
// on every attempt. Start does not wait for the peers; Waiting says what
// the cluster still lacks. See docs/RATIONALE.md, "Why do the embedded
// servers form the cluster, and how does a node start?".
//
// # Why fsync once a second by default?
//
// JetStream's own default sync_interval is 2 minutes: an acknowledged write
// sits in the OS page cache until then, so a process crash loses nothing but
// an OS crash or power cut can lose up to two minutes of acknowledged state.
// That is too much for the single-machine default, whose whole point is that
// nothing acknowledged is lost. The two alternatives measured on this
// machine with BenchmarkKVPutSync (one in-process KV put of 100 bytes):
//
//   - SyncAlways (fsync before every ack): 0.41–1.1 ms per put here (a
//     virtio disk) against 32 µs with a 1s or 2m interval, 13 to 35 times
//     the cost; it ties every write to the disk's fsync latency and caps one
//     writer at about a thousand writes a second.
//   - 1 second: writes cost the same as with the 2-minute default, and an OS
//     crash loses at most the last second of acknowledged writes; a clean
//     shutdown (Server.Shutdown) or a process crash loses nothing, because
//     the data is already in the OS's page cache.
//
// DefaultSyncInterval is therefore 1s; operators who need every
// acknowledged write on disk before the ack set SyncAlways (and pay the
// fsync per write), and clustered deployments get durability from
// replication instead (R3 streams acknowledge after a quorum has the write).
package natsserver
