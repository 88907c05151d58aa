// Package console owns the web console of `wasmfaas serve`: the HTML, CSS
// and JavaScript (ES modules, no build step) embedded in the binary and
// served at / on the API's listener, and the headers that confine them
// (a content security policy allowing this origin only). The pages read
// and act through the JSON API (internal/server) like any other client,
// with the API's bearer token when one is configured; this package holds
// no logic of its own beyond serving the files.
package console
