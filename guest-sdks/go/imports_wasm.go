//go:build wasip1

package wasmfaas

import "unsafe"

// The raw host functions of abi/README.md §4, one declaration each, nothing
// else. Pointers are unsafe.Pointer so the compiler keeps the memory they
// point to alive for the duration of the call; lengths are uint32 because the
// host reads them unsigned. The linker drops every import the program never
// calls, so a handler imports only the capabilities it really uses.

// core

//go:wasmimport wasmfaas_v1 event_attr
func eventAttr(namePtr unsafe.Pointer, nameLen uint32, bufPtr unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wasmfaas_v1 event_data
func eventData(bufPtr unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wasmfaas_v1 event_extensions
func eventExtensions(bufPtr unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wasmfaas_v1 result_set
func resultSet(bodyPtr unsafe.Pointer, bodyLen uint32, ctPtr unsafe.Pointer, ctLen uint32) int32

//go:wasmimport wasmfaas_v1 error_set
func errorSet(kindPtr unsafe.Pointer, kindLen uint32, msgPtr unsafe.Pointer, msgLen uint32) int32

//go:wasmimport wasmfaas_v1 result_status
func resultStatus(code int32) int32

//go:wasmimport wasmfaas_v1 result_header
func resultHeader(namePtr unsafe.Pointer, nameLen uint32, valPtr unsafe.Pointer, valLen uint32) int32

// log

//go:wasmimport wasmfaas_v1 log_write
func logWrite(level int32, msgPtr unsafe.Pointer, msgLen uint32) int32

// info

//go:wasmimport wasmfaas_v1 info_set
func infoSet(keyPtr unsafe.Pointer, keyLen uint32, jsonPtr unsafe.Pointer, jsonLen uint32) int32

//go:wasmimport wasmfaas_v1 info_get
func infoGet(namePtr unsafe.Pointer, nameLen uint32, bufPtr unsafe.Pointer, bufCap uint32) int32

// config

//go:wasmimport wasmfaas_v1 config_get
func configGet(keyPtr unsafe.Pointer, keyLen uint32, bufPtr unsafe.Pointer, bufCap uint32) int32

// emit

//go:wasmimport wasmfaas_v1 emit_event
func emitEvent(attrsPtr unsafe.Pointer, attrsLen uint32, dataPtr unsafe.Pointer, dataLen uint32) int32

// schedule

//go:wasmimport wasmfaas_v1 schedule_event
func scheduleEvent(keyPtr unsafe.Pointer, keyLen uint32, attrsPtr unsafe.Pointer, attrsLen uint32, dataPtr unsafe.Pointer, dataLen uint32, delayMs int64) int32

//go:wasmimport wasmfaas_v1 schedule_event_at
func scheduleEventAt(keyPtr unsafe.Pointer, keyLen uint32, attrsPtr unsafe.Pointer, attrsLen uint32, dataPtr unsafe.Pointer, dataLen uint32, unixMs int64) int32

//go:wasmimport wasmfaas_v1 schedule_cancel
func scheduleCancel(keyPtr unsafe.Pointer, keyLen uint32) int32

// kv

//go:wasmimport wasmfaas_v1 kv_get
func kvGet(keyPtr unsafe.Pointer, keyLen uint32, bufPtr unsafe.Pointer, bufCap uint32, revPtr unsafe.Pointer) int32

//go:wasmimport wasmfaas_v1 kv_set
func kvSet(keyPtr unsafe.Pointer, keyLen uint32, valPtr unsafe.Pointer, valLen uint32) int64

//go:wasmimport wasmfaas_v1 kv_delete
func kvDelete(keyPtr unsafe.Pointer, keyLen uint32) int32

//go:wasmimport wasmfaas_v1 kv_keys
func kvKeys(prefixPtr unsafe.Pointer, prefixLen uint32, bufPtr unsafe.Pointer, bufCap uint32) int32

// props

//go:wasmimport wasmfaas_v1 props_get
func propsGet(subjPtr unsafe.Pointer, subjLen uint32, namePtr unsafe.Pointer, nameLen uint32, bufPtr unsafe.Pointer, bufCap uint32, revPtr unsafe.Pointer) int32

//go:wasmimport wasmfaas_v1 props_set
func propsSet(subjPtr unsafe.Pointer, subjLen uint32, namePtr unsafe.Pointer, nameLen uint32, valPtr unsafe.Pointer, valLen uint32, expect int64) int64

//go:wasmimport wasmfaas_v1 props_delete
func propsDelete(subjPtr unsafe.Pointer, subjLen uint32, namePtr unsafe.Pointer, nameLen uint32, expect int64) int32

//go:wasmimport wasmfaas_v1 props_ext_get
func propsExtGet(subjPtr unsafe.Pointer, subjLen uint32, namePtr unsafe.Pointer, nameLen uint32, bufPtr unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wasmfaas_v1 props_ext_set
func propsExtSet(subjPtr unsafe.Pointer, subjLen uint32, namePtr unsafe.Pointer, nameLen uint32, valPtr unsafe.Pointer, valLen uint32) int32

//go:wasmimport wasmfaas_v1 props_ext_delete
func propsExtDelete(subjPtr unsafe.Pointer, subjLen uint32, namePtr unsafe.Pointer, nameLen uint32) int32

// http

//go:wasmimport wasmfaas_v1 http_request
func httpRequest(methodPtr unsafe.Pointer, methodLen uint32, urlPtr unsafe.Pointer, urlLen uint32, headersPtr unsafe.Pointer, headersLen uint32, bodyPtr unsafe.Pointer, bodyLen uint32) int32

//go:wasmimport wasmfaas_v1 http_response_body
func httpResponseBody(bufPtr unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wasmfaas_v1 http_response_header
func httpResponseHeader(namePtr unsafe.Pointer, nameLen uint32, bufPtr unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wasmfaas_v1 http_response_headers
func httpResponseHeaders(bufPtr unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wasmfaas_v1 http_error
func httpError(bufPtr unsafe.Pointer, bufCap uint32) int32
