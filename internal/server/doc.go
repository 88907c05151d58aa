// Package server owns the HTTP API of `wasmfaas serve`: the management API
// (modules, functions with revisions, triggers), synchronous invoke, the
// read APIs (calls, properties), health and metrics, and the one table that
// maps error kinds to HTTP status codes. It wires modules, host, store and
// router types; the business rules stay in those packages.
package server
