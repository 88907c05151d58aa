// Package hosttest owns the in-process host for tests: it loads a .wasm (or
// builds a Go guest directory, cached), grants capabilities, seeds KV and
// properties in an in-memory store, sends CloudEvents and returns the
// ExecutionInfo, with the same host code path as the server — no mocks. It
// also runs directories of language-neutral test cases (NAME.event.json
// against NAME.expect.json), which is what `wasmfaas test` prints.
package hosttest
