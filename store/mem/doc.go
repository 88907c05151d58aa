// Package mem owns the in-memory store backend: KV namespaces, properties and
// extended properties held in maps behind one lock, for tests, host/hosttest
// and single-process use; nothing survives Close or a restart.
//
// Revisions come from one store-wide counter, so a key or property that is
// deleted and created again never reuses a revision and a stale
// compare-and-set cannot succeed. Values are copied in and out: callers may
// reuse their buffers and may modify what they get back.
package mem
