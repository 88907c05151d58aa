//! The raw host functions of abi/README.md §4, exactly as the ABI declares
//! them, and the only `unsafe` code of the SDK.
//!
//! The `extern` block is public so that a guest can reach the ABI directly
//! (a test of the host's bounds checks does); calling it is `unsafe` because
//! the host trusts nothing but also checks nothing on the guest's behalf
//! beyond "inside memory". Everything else in the crate goes through the safe
//! wrappers below, which take slices, so every region the host sees is a
//! live Rust slice: its pointer and length are in bounds by construction.
//!
//! Pointers and lengths are `i32` on the wire and read unsigned by the host;
//! on wasm32 `usize` and pointers are 32 bits, so they cross unchanged.
#![allow(unsafe_code)]
// Each function is documented in abi/README.md §4, under its own name.
#![allow(missing_docs)]

#[link(wasm_import_module = "wasmfaas_v1")]
extern "C" {
    // core
    pub fn event_attr(name_ptr: *const u8, name_len: usize, buf_ptr: *mut u8, buf_cap: usize) -> i32;
    pub fn event_data(buf_ptr: *mut u8, buf_cap: usize) -> i32;
    pub fn event_extensions(buf_ptr: *mut u8, buf_cap: usize) -> i32;
    pub fn result_set(body_ptr: *const u8, body_len: usize, ct_ptr: *const u8, ct_len: usize) -> i32;
    pub fn error_set(kind_ptr: *const u8, kind_len: usize, msg_ptr: *const u8, msg_len: usize) -> i32;
    pub fn result_status(code: i32) -> i32;
    pub fn result_header(name_ptr: *const u8, name_len: usize, val_ptr: *const u8, val_len: usize) -> i32;
    // log
    pub fn log_write(level: i32, msg_ptr: *const u8, msg_len: usize) -> i32;
    // info
    pub fn info_set(key_ptr: *const u8, key_len: usize, json_ptr: *const u8, json_len: usize) -> i32;
    pub fn info_get(name_ptr: *const u8, name_len: usize, buf_ptr: *mut u8, buf_cap: usize) -> i32;
    // config
    pub fn config_get(key_ptr: *const u8, key_len: usize, buf_ptr: *mut u8, buf_cap: usize) -> i32;
    // emit
    pub fn emit_event(attrs_ptr: *const u8, attrs_len: usize, data_ptr: *const u8, data_len: usize) -> i32;
    // schedule
    pub fn schedule_event(
        key_ptr: *const u8,
        key_len: usize,
        attrs_ptr: *const u8,
        attrs_len: usize,
        data_ptr: *const u8,
        data_len: usize,
        delay_ms: i64,
    ) -> i32;
    pub fn schedule_event_at(
        key_ptr: *const u8,
        key_len: usize,
        attrs_ptr: *const u8,
        attrs_len: usize,
        data_ptr: *const u8,
        data_len: usize,
        unix_ms: i64,
    ) -> i32;
    pub fn schedule_cancel(key_ptr: *const u8, key_len: usize) -> i32;
    // kv
    pub fn kv_get(key_ptr: *const u8, key_len: usize, buf_ptr: *mut u8, buf_cap: usize, rev_ptr: *mut u64) -> i32;
    pub fn kv_set(key_ptr: *const u8, key_len: usize, val_ptr: *const u8, val_len: usize) -> i64;
    pub fn kv_delete(key_ptr: *const u8, key_len: usize) -> i32;
    pub fn kv_keys(prefix_ptr: *const u8, prefix_len: usize, buf_ptr: *mut u8, buf_cap: usize) -> i32;
    // props
    pub fn props_get(
        subj_ptr: *const u8,
        subj_len: usize,
        name_ptr: *const u8,
        name_len: usize,
        buf_ptr: *mut u8,
        buf_cap: usize,
        rev_ptr: *mut u64,
    ) -> i32;
    pub fn props_set(
        subj_ptr: *const u8,
        subj_len: usize,
        name_ptr: *const u8,
        name_len: usize,
        val_ptr: *const u8,
        val_len: usize,
        expect: i64,
    ) -> i64;
    pub fn props_delete(subj_ptr: *const u8, subj_len: usize, name_ptr: *const u8, name_len: usize, expect: i64) -> i32;
    pub fn props_ext_get(
        subj_ptr: *const u8,
        subj_len: usize,
        name_ptr: *const u8,
        name_len: usize,
        buf_ptr: *mut u8,
        buf_cap: usize,
    ) -> i32;
    pub fn props_ext_set(
        subj_ptr: *const u8,
        subj_len: usize,
        name_ptr: *const u8,
        name_len: usize,
        val_ptr: *const u8,
        val_len: usize,
    ) -> i32;
    pub fn props_ext_delete(subj_ptr: *const u8, subj_len: usize, name_ptr: *const u8, name_len: usize) -> i32;
    // http
    pub fn http_request(
        method_ptr: *const u8,
        method_len: usize,
        url_ptr: *const u8,
        url_len: usize,
        headers_ptr: *const u8,
        headers_len: usize,
        body_ptr: *const u8,
        body_len: usize,
    ) -> i32;
    pub fn http_response_body(buf_ptr: *mut u8, buf_cap: usize) -> i32;
    pub fn http_response_header(name_ptr: *const u8, name_len: usize, buf_ptr: *mut u8, buf_cap: usize) -> i32;
    pub fn http_response_headers(buf_ptr: *mut u8, buf_cap: usize) -> i32;
    pub fn http_error(buf_ptr: *mut u8, buf_cap: usize) -> i32;
}

// __wasm_call_ctors is synthesized by wasm-ld: it runs the static
// constructors of the module (wasi-libc's and std's). Calling it from our
// own `_initialize` makes the module a reactor in the sense of
// abi/README.md §2: without a reference to it, wasm-ld wraps every export in
// a "command export" that runs the constructors and destructors around each
// call.
extern "C" {
    fn __wasm_call_ctors();
}

// The safe wrappers: one per host function, slices in, the raw return value
// out. A slice's pointer and length always describe memory the guest owns,
// so the host's bounds check can never fail on these. http_response_header
// has none: the SDK reads every header of a response at once
// (http_response_headers), so `Response::header` needs no host call.

/// Runs the module's static constructors; called once per instance from the
/// `_initialize` export that [`handler!`](crate::handler) defines.
pub(crate) fn initialize() {
    unsafe { __wasm_call_ctors() }
}

pub(crate) fn event_attr_into(name: &str, buf: &mut [u8]) -> i32 {
    unsafe { event_attr(name.as_ptr(), name.len(), buf.as_mut_ptr(), buf.len()) }
}

pub(crate) fn event_data_into(buf: &mut [u8]) -> i32 {
    unsafe { event_data(buf.as_mut_ptr(), buf.len()) }
}

pub(crate) fn event_extensions_into(buf: &mut [u8]) -> i32 {
    unsafe { event_extensions(buf.as_mut_ptr(), buf.len()) }
}

pub(crate) fn set_result(body: &[u8], content_type: &str) -> i32 {
    unsafe { result_set(body.as_ptr(), body.len(), content_type.as_ptr(), content_type.len()) }
}

pub(crate) fn set_error(kind: &str, msg: &str) -> i32 {
    unsafe { error_set(kind.as_ptr(), kind.len(), msg.as_ptr(), msg.len()) }
}

pub(crate) fn set_status(code: i32) -> i32 {
    unsafe { result_status(code) }
}

pub(crate) fn add_header(name: &str, value: &str) -> i32 {
    unsafe { result_header(name.as_ptr(), name.len(), value.as_ptr(), value.len()) }
}

pub(crate) fn write_log(level: i32, msg: &str) -> i32 {
    unsafe { log_write(level, msg.as_ptr(), msg.len()) }
}

pub(crate) fn set_info(key: &str, json: &[u8]) -> i32 {
    unsafe { info_set(key.as_ptr(), key.len(), json.as_ptr(), json.len()) }
}

pub(crate) fn info_get_into(name: &str, buf: &mut [u8]) -> i32 {
    unsafe { info_get(name.as_ptr(), name.len(), buf.as_mut_ptr(), buf.len()) }
}

pub(crate) fn config_get_into(key: &str, buf: &mut [u8]) -> i32 {
    unsafe { config_get(key.as_ptr(), key.len(), buf.as_mut_ptr(), buf.len()) }
}

pub(crate) fn emit(attrs: &[u8], data: &[u8]) -> i32 {
    unsafe { emit_event(attrs.as_ptr(), attrs.len(), data.as_ptr(), data.len()) }
}

pub(crate) fn schedule_in(key: &str, attrs: &[u8], data: &[u8], delay_ms: i64) -> i32 {
    unsafe { schedule_event(key.as_ptr(), key.len(), attrs.as_ptr(), attrs.len(), data.as_ptr(), data.len(), delay_ms) }
}

pub(crate) fn schedule_at(key: &str, attrs: &[u8], data: &[u8], unix_ms: i64) -> i32 {
    unsafe {
        schedule_event_at(key.as_ptr(), key.len(), attrs.as_ptr(), attrs.len(), data.as_ptr(), data.len(), unix_ms)
    }
}

pub(crate) fn cancel_schedule(key: &str) -> i32 {
    unsafe { schedule_cancel(key.as_ptr(), key.len()) }
}

pub(crate) fn kv_get_into(key: &str, buf: &mut [u8], rev: &mut u64) -> i32 {
    unsafe { kv_get(key.as_ptr(), key.len(), buf.as_mut_ptr(), buf.len(), rev) }
}

pub(crate) fn kv_put(key: &str, val: &[u8]) -> i64 {
    unsafe { kv_set(key.as_ptr(), key.len(), val.as_ptr(), val.len()) }
}

pub(crate) fn kv_remove(key: &str) -> i32 {
    unsafe { kv_delete(key.as_ptr(), key.len()) }
}

pub(crate) fn kv_keys_into(prefix: &str, buf: &mut [u8]) -> i32 {
    unsafe { kv_keys(prefix.as_ptr(), prefix.len(), buf.as_mut_ptr(), buf.len()) }
}

pub(crate) fn props_get_into(subject: &str, name: &str, buf: &mut [u8], rev: &mut u64) -> i32 {
    unsafe { props_get(subject.as_ptr(), subject.len(), name.as_ptr(), name.len(), buf.as_mut_ptr(), buf.len(), rev) }
}

pub(crate) fn props_put(subject: &str, name: &str, json: &[u8], expect: i64) -> i64 {
    unsafe { props_set(subject.as_ptr(), subject.len(), name.as_ptr(), name.len(), json.as_ptr(), json.len(), expect) }
}

pub(crate) fn props_remove(subject: &str, name: &str, expect: i64) -> i32 {
    unsafe { props_delete(subject.as_ptr(), subject.len(), name.as_ptr(), name.len(), expect) }
}

pub(crate) fn props_ext_get_into(subject: &str, name: &str, buf: &mut [u8]) -> i32 {
    unsafe { props_ext_get(subject.as_ptr(), subject.len(), name.as_ptr(), name.len(), buf.as_mut_ptr(), buf.len()) }
}

pub(crate) fn props_ext_put(subject: &str, name: &str, value: &str) -> i32 {
    unsafe {
        props_ext_set(subject.as_ptr(), subject.len(), name.as_ptr(), name.len(), value.as_ptr(), value.len())
    }
}

pub(crate) fn props_ext_remove(subject: &str, name: &str) -> i32 {
    unsafe { props_ext_delete(subject.as_ptr(), subject.len(), name.as_ptr(), name.len()) }
}

pub(crate) fn http_send(method: &str, url: &str, headers: &[u8], body: &[u8]) -> i32 {
    unsafe {
        http_request(
            method.as_ptr(),
            method.len(),
            url.as_ptr(),
            url.len(),
            headers.as_ptr(),
            headers.len(),
            body.as_ptr(),
            body.len(),
        )
    }
}

pub(crate) fn http_response_body_into(buf: &mut [u8]) -> i32 {
    unsafe { http_response_body(buf.as_mut_ptr(), buf.len()) }
}

pub(crate) fn http_response_headers_into(buf: &mut [u8]) -> i32 {
    unsafe { http_response_headers(buf.as_mut_ptr(), buf.len()) }
}

pub(crate) fn http_error_into(buf: &mut [u8]) -> i32 {
    unsafe { http_error(buf.as_mut_ptr(), buf.len()) }
}
