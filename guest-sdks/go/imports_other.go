//go:build !wasip1

package wasmfaas

import "unsafe"

// Stubs of imports_wasm.go so that the pure-Go parts of the SDK build, vet and
// test on the developer's machine. Nothing reaches them outside wasm because
// only the wasm build exports wasmfaas_handle.

const onlyInWasm = "wasmfaas: host functions exist only in a wasip1 build run by wasmfaas"

func eventAttr(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 { panic(onlyInWasm) }
func eventData(unsafe.Pointer, uint32) int32                         { panic(onlyInWasm) }
func eventExtensions(unsafe.Pointer, uint32) int32                   { panic(onlyInWasm) }
func resultSet(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 { panic(onlyInWasm) }
func errorSet(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32  { panic(onlyInWasm) }
func resultStatus(int32) int32                                       { panic(onlyInWasm) }
func resultHeader(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 {
	panic(onlyInWasm)
}
func scheduleEvent(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32, int64) int32 {
	panic(onlyInWasm)
}
func scheduleEventAt(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32, int64) int32 {
	panic(onlyInWasm)
}
func scheduleCancel(unsafe.Pointer, uint32) int32                    { panic(onlyInWasm) }
func logWrite(int32, unsafe.Pointer, uint32) int32                   { panic(onlyInWasm) }
func infoSet(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32   { panic(onlyInWasm) }
func infoGet(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32   { panic(onlyInWasm) }
func configGet(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 { panic(onlyInWasm) }
func emitEvent(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 { panic(onlyInWasm) }
func kvGet(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer) int32 {
	panic(onlyInWasm)
}
func kvSet(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int64 { panic(onlyInWasm) }
func kvDelete(unsafe.Pointer, uint32) int32                      { panic(onlyInWasm) }
func kvKeys(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 {
	panic(onlyInWasm)
}
func propsGet(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer) int32 {
	panic(onlyInWasm)
}
func propsSet(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32, int64) int64 {
	panic(onlyInWasm)
}
func propsDelete(unsafe.Pointer, uint32, unsafe.Pointer, uint32, int64) int32 { panic(onlyInWasm) }
func propsExtGet(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 {
	panic(onlyInWasm)
}
func propsExtSet(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 {
	panic(onlyInWasm)
}
func propsExtDelete(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 { panic(onlyInWasm) }
func httpRequest(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 {
	panic(onlyInWasm)
}
func httpResponseBody(unsafe.Pointer, uint32) int32 { panic(onlyInWasm) }
func httpResponseHeader(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 {
	panic(onlyInWasm)
}
func httpResponseHeaders(unsafe.Pointer, uint32) int32 { panic(onlyInWasm) }
func httpError(unsafe.Pointer, uint32) int32           { panic(onlyInWasm) }
