// Package wasmfaas is the Go guest SDK for wasmfaas: it turns a Go function
// into a WebAssembly handler that speaks wasmfaas ABI v1 (abi/README.md).
//
// A handler is a package main that registers itself in init, because a
// reactor module's main never runs:
//
//	package main
//
//	import wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"
//
//	type reading struct {
//		TempC float64 `json:"tempc" wasmfaas:"required"`
//	}
//
//	func init() {
//		wasmfaas.HandleJSON(func(ctx *wasmfaas.Context, ev *wasmfaas.Event, r reading) error {
//			ctx.Logf(wasmfaas.LevelInfo, "%s is at %g°C", ev.Subject(), r.TempC)
//			return ctx.Subject(ev.Subject()).Set("tempc", r.TempC)
//		})
//	}
//
//	func main() {}
//
// Build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o handler.wasm .
//
// The module imports only the host functions the handler calls, so it must be
// granted only the capabilities it uses: the example above needs "props"
// (log, info and wasi are granted by default). Returning an error fails the
// call; Reject marks the event itself as wrong (status "rejected"), and a
// panic ends the call as a trap.
//
// Every value the SDK hands out (Event, Context, Subject) is valid only
// during the call it belongs to.
package wasmfaas
