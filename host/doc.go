// Package host owns the wazero runtime that runs guest modules: compiled
// modules with an on-disk compilation cache, a bounded pool of warm instances
// per function, per-call deadlines and memory limits, the host functions of
// ABI v1 (abi/README.md), WASI command mode, and Invoke, which turns one
// CloudEvent into exactly one ExecutionInfo whatever the guest does.
//
// host knows nothing of HTTP or NATS. State goes through the KV and
// Properties interfaces of package store, implemented by its backends.
package host
