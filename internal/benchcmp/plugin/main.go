// Command plugin is the Extism reference of the comparative benchmarks: a no-op
// export built with Extism's Go PDK and the standard Go toolchain.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o noop.wasm .
package main

import pdk "github.com/extism/go-pdk"

// noop does nothing and succeeds: Extism's cost per call.
//
//go:wasmexport noop
func noop() int32 { return 0 }

// input reads the call's input into Go memory, as a handler that looks at
// its event would.
//
//go:wasmexport input
func input() int32 {
	_ = pdk.Input()
	return 0
}

func main() {}
