// Package benchcmp holds the comparative benchmarks: the wasmfaas host
// against the floor (a no-op export called directly on a reused wazero
// instance) and against Extism's go-sdk calling a no-op plugin built with
// its Go PDK, all in one process and one run, plus the density test and
// the HTTP invoke load test (TestHTTPLoad: the real internal/server
// API against a native handler on the same http.Server stack).
//
// It is a module of its own so that Extism never enters the host's go.mod.
//
//	go test -run '^$' -bench . -benchmem -count 5 . | go run ./cmd/benchtable
//	go test -run '^TestDensity$' -v .
//	go test -run '^TestHTTPLoad$' -count=1 -v -httpload.variants .
//
// `make bench` runs the first and last lines from the repository root.
package benchcmp
