// The raw host functions of abi/README.md §4 and the one WASI function the
// SDK uses, one declaration each and nothing else: every other file calls
// these. Pointers and lengths are i32 on the wire and read unsigned by the
// host; they are usize here. The compiler drops every import a module never
// calls, so a handler imports, and must be granted, only the capabilities it
// uses.

// core

// @ts-ignore: decorator
@external("wasmfaas_v1", "event_attr")
export declare function eventAttr(namePtr: usize, nameLen: usize, bufPtr: usize, bufCap: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "event_data")
export declare function eventData(bufPtr: usize, bufCap: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "event_extensions")
export declare function eventExtensions(bufPtr: usize, bufCap: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "result_set")
export declare function resultSet(bodyPtr: usize, bodyLen: usize, ctPtr: usize, ctLen: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "error_set")
export declare function errorSet(kindPtr: usize, kindLen: usize, msgPtr: usize, msgLen: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "result_status")
export declare function resultStatus(code: i32): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "result_header")
export declare function resultHeader(namePtr: usize, nameLen: usize, valPtr: usize, valLen: usize): i32;

// log

// @ts-ignore: decorator
@external("wasmfaas_v1", "log_write")
export declare function logWrite(level: i32, msgPtr: usize, msgLen: usize): i32;

// info

// @ts-ignore: decorator
@external("wasmfaas_v1", "info_set")
export declare function infoSet(keyPtr: usize, keyLen: usize, jsonPtr: usize, jsonLen: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "info_get")
export declare function infoGet(namePtr: usize, nameLen: usize, bufPtr: usize, bufCap: usize): i32;

// config

// @ts-ignore: decorator
@external("wasmfaas_v1", "config_get")
export declare function configGet(keyPtr: usize, keyLen: usize, bufPtr: usize, bufCap: usize): i32;

// emit

// @ts-ignore: decorator
@external("wasmfaas_v1", "emit_event")
export declare function emitEvent(attrsPtr: usize, attrsLen: usize, dataPtr: usize, dataLen: usize): i32;

// schedule

// @ts-ignore: decorator
@external("wasmfaas_v1", "schedule_event")
export declare function scheduleEvent(keyPtr: usize, keyLen: usize, attrsPtr: usize, attrsLen: usize, dataPtr: usize, dataLen: usize, delayMs: i64): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "schedule_event_at")
export declare function scheduleEventAt(keyPtr: usize, keyLen: usize, attrsPtr: usize, attrsLen: usize, dataPtr: usize, dataLen: usize, unixMs: i64): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "schedule_cancel")
export declare function scheduleCancel(keyPtr: usize, keyLen: usize): i32;

// kv

// @ts-ignore: decorator
@external("wasmfaas_v1", "kv_get")
export declare function kvGet(keyPtr: usize, keyLen: usize, bufPtr: usize, bufCap: usize, revPtr: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "kv_set")
export declare function kvSet(keyPtr: usize, keyLen: usize, valPtr: usize, valLen: usize): i64;

// @ts-ignore: decorator
@external("wasmfaas_v1", "kv_delete")
export declare function kvDelete(keyPtr: usize, keyLen: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "kv_keys")
export declare function kvKeys(prefixPtr: usize, prefixLen: usize, bufPtr: usize, bufCap: usize): i32;

// props

// @ts-ignore: decorator
@external("wasmfaas_v1", "props_get")
export declare function propsGet(subjPtr: usize, subjLen: usize, namePtr: usize, nameLen: usize, bufPtr: usize, bufCap: usize, revPtr: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "props_set")
export declare function propsSet(subjPtr: usize, subjLen: usize, namePtr: usize, nameLen: usize, valPtr: usize, valLen: usize, expect: i64): i64;

// @ts-ignore: decorator
@external("wasmfaas_v1", "props_delete")
export declare function propsDelete(subjPtr: usize, subjLen: usize, namePtr: usize, nameLen: usize, expect: i64): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "props_ext_get")
export declare function propsExtGet(subjPtr: usize, subjLen: usize, namePtr: usize, nameLen: usize, bufPtr: usize, bufCap: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "props_ext_set")
export declare function propsExtSet(subjPtr: usize, subjLen: usize, namePtr: usize, nameLen: usize, valPtr: usize, valLen: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "props_ext_delete")
export declare function propsExtDelete(subjPtr: usize, subjLen: usize, namePtr: usize, nameLen: usize): i32;

// http

// @ts-ignore: decorator
@external("wasmfaas_v1", "http_request")
export declare function httpRequest(methodPtr: usize, methodLen: usize, urlPtr: usize, urlLen: usize, headersPtr: usize, headersLen: usize, bodyPtr: usize, bodyLen: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "http_response_body")
export declare function httpResponseBody(bufPtr: usize, bufCap: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "http_response_header")
export declare function httpResponseHeader(namePtr: usize, nameLen: usize, bufPtr: usize, bufCap: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "http_response_headers")
export declare function httpResponseHeaders(bufPtr: usize, bufCap: usize): i32;

// @ts-ignore: decorator
@external("wasmfaas_v1", "http_error")
export declare function httpError(bufPtr: usize, bufCap: usize): i32;

// WASI (abi/README.md §6), for abort only: the host puts the first stderr
// lines of a call that traps at the start of its error message.

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_write")
export declare function fdWrite(fd: u32, iovs: usize, iovsLen: usize, nwritten: usize): u16;
