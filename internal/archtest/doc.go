// Package archtest holds the repository's architecture checks: which
// packages may depend on which (arrows point down: cmd, app, server, the
// call path, router and host, store, abi), and size limits that keep the
// HTTP layer a mapping. It has no code of its own; `go test` runs the
// checks with `go list`.
package archtest
