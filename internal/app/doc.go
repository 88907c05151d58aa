// Package app owns the wiring of a running wasmfaas host: from one Config
// it starts (or connects to) NATS, ensures the JetStream layout, opens the
// store, builds the wazero host, the module registry, the call path and
// function catalog, the router and the HTTP API, loads the stored
// functions and triggers, and shuts all of it down in order. `serve`, the
// integration tests and the benchmarks all run a host through New, so
// there is one wiring and it cannot be copied wrong.
package app
