// Package server owns the HTTP API of `wasmfaas serve`: the mapping from
// HTTP requests to the application core and back. Each handler decodes the
// request, calls the call path and catalog (internal/functions), the
// module registry, the store's read APIs or the router's dead letters, and
// encodes the answer; errors become statuses through internal/apierr's one
// table. The rules live in those packages, none here.
package server
