// Package egress owns guests' outbound HTTP for the http capability
// (abi/README.md §4, "http"): the allow-list, the address policy checked
// when a connection is dialled, redirects, limits, and one client per
// function. The host's http_* functions call it; it knows nothing of wasm.
package egress
