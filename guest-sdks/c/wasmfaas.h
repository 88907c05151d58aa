/*
 * wasmfaas.h - the C guest SDK for wasmfaas ABI v1 (abi/README.md).
 *
 * A handler defines
 *
 *     int wf_handle(void);
 *
 * and links wasmfaas.c, which exports wasmfaas_handle and wasmfaas_abi_v1.
 * wf_handle returns 0 for success; anything else fails the call (with the
 * kind and message of the last wf_error / wf_reject, or "handler returned N").
 *
 * The file has two parts: the raw host functions exactly as abi/README.md
 * section 4 declares them (the only place that names the import module), and
 * the friendly API on top, with the Go SDK's concepts and names in C style.
 *
 * Memory: every function that returns data fills a wf_buf, a growable,
 * malloc'd byte buffer that is always NUL-terminated (so text can be used as
 * a C string) while its length counts only the data, which may itself hold
 * NUL bytes. A zero wf_buf is empty and ready; free it with wf_buf_free.
 * Passing the same wf_buf again reuses its memory.
 *
 * Return values follow the ABI: a negative int is a status code (WF_NOT_FOUND,
 * ...), zero or more is success (a length, an index or a revision). The SDK
 * adds one code of its own, WF_NO_MEMORY, when malloc fails.
 */
#ifndef WASMFAAS_H
#define WASMFAAS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Raw ABI: the host functions of abi/README.md section 4.                  */
/* Pointers and lengths are i32 on wasm32; the host reads them unsigned.   */
/* ---------------------------------------------------------------------- */

#define WF_IMPORT(name) __attribute__((import_module("wasmfaas_v1"), import_name(name)))

/* core */
WF_IMPORT("event_attr") int32_t wf_raw_event_attr(const char *name, size_t name_len, void *buf, size_t buf_cap);
WF_IMPORT("event_data") int32_t wf_raw_event_data(void *buf, size_t buf_cap);
WF_IMPORT("event_extensions") int32_t wf_raw_event_extensions(void *buf, size_t buf_cap);
WF_IMPORT("result_set") int32_t wf_raw_result_set(const void *body, size_t body_len, const char *ct, size_t ct_len);
WF_IMPORT("error_set") int32_t wf_raw_error_set(const char *kind, size_t kind_len, const char *msg, size_t msg_len);
WF_IMPORT("result_status") int32_t wf_raw_result_status(int32_t code);
WF_IMPORT("result_header") int32_t wf_raw_result_header(const char *name, size_t name_len, const char *val, size_t val_len);
/* log */
WF_IMPORT("log_write") int32_t wf_raw_log_write(int32_t level, const char *msg, size_t msg_len);
/* info */
WF_IMPORT("info_set") int32_t wf_raw_info_set(const char *key, size_t key_len, const char *json, size_t json_len);
WF_IMPORT("info_get") int32_t wf_raw_info_get(const char *name, size_t name_len, void *buf, size_t buf_cap);
/* config */
WF_IMPORT("config_get") int32_t wf_raw_config_get(const char *key, size_t key_len, void *buf, size_t buf_cap);
/* emit */
WF_IMPORT("emit_event") int32_t wf_raw_emit_event(const char *attrs, size_t attrs_len, const void *data, size_t data_len);
/* schedule */
WF_IMPORT("schedule_event") int32_t wf_raw_schedule_event(const char *key, size_t key_len, const char *attrs, size_t attrs_len, const void *data, size_t data_len, int64_t delay_ms);
WF_IMPORT("schedule_event_at") int32_t wf_raw_schedule_event_at(const char *key, size_t key_len, const char *attrs, size_t attrs_len, const void *data, size_t data_len, int64_t unix_ms);
WF_IMPORT("schedule_cancel") int32_t wf_raw_schedule_cancel(const char *key, size_t key_len);
/* kv */
WF_IMPORT("kv_get") int32_t wf_raw_kv_get(const char *key, size_t key_len, void *buf, size_t buf_cap, uint64_t *rev);
WF_IMPORT("kv_set") int64_t wf_raw_kv_set(const char *key, size_t key_len, const void *val, size_t val_len);
WF_IMPORT("kv_delete") int32_t wf_raw_kv_delete(const char *key, size_t key_len);
WF_IMPORT("kv_keys") int32_t wf_raw_kv_keys(const char *prefix, size_t prefix_len, void *buf, size_t buf_cap);
/* props */
WF_IMPORT("props_get") int32_t wf_raw_props_get(const char *subj, size_t subj_len, const char *name, size_t name_len, void *buf, size_t buf_cap, uint64_t *rev);
WF_IMPORT("props_set") int64_t wf_raw_props_set(const char *subj, size_t subj_len, const char *name, size_t name_len, const char *val, size_t val_len, int64_t expect);
WF_IMPORT("props_delete") int32_t wf_raw_props_delete(const char *subj, size_t subj_len, const char *name, size_t name_len, int64_t expect);
WF_IMPORT("props_ext_get") int32_t wf_raw_props_ext_get(const char *subj, size_t subj_len, const char *name, size_t name_len, void *buf, size_t buf_cap);
WF_IMPORT("props_ext_set") int32_t wf_raw_props_ext_set(const char *subj, size_t subj_len, const char *name, size_t name_len, const char *val, size_t val_len);
WF_IMPORT("props_ext_delete") int32_t wf_raw_props_ext_delete(const char *subj, size_t subj_len, const char *name, size_t name_len);
/* http */
WF_IMPORT("http_request") int32_t wf_raw_http_request(const char *method, size_t method_len, const char *url, size_t url_len, const char *headers, size_t headers_len, const void *body, size_t body_len);
WF_IMPORT("http_response_body") int32_t wf_raw_http_response_body(void *buf, size_t buf_cap);
WF_IMPORT("http_response_header") int32_t wf_raw_http_response_header(const char *name, size_t name_len, void *buf, size_t buf_cap);
WF_IMPORT("http_response_headers") int32_t wf_raw_http_response_headers(void *buf, size_t buf_cap);
WF_IMPORT("http_error") int32_t wf_raw_http_error(void *buf, size_t buf_cap);

#undef WF_IMPORT

/* Status codes (abi/README.md section 3). */
#define WF_OK 0
#define WF_NOT_FOUND (-1)
#define WF_CONFLICT (-2)
#define WF_INVALID (-3)
#define WF_TOO_LARGE (-4)
#define WF_LIMIT (-5)
#define WF_UNAVAILABLE (-6)
#define WF_INTERNAL (-7)
#define WF_DENIED (-8)
#define WF_TIMEOUT (-9)
/* WF_NO_MEMORY is the SDK's own: the guest could not allocate a buffer. */
#define WF_NO_MEMORY (-100)
/* WF_ABORTED is the SDK's own: a wf_prop_update function declined to write. */
#define WF_ABORTED (-101)

/* Expected revisions for compare-and-set (abi/README.md section 3). */
#define WF_REV_ANY ((int64_t)-1)
#define WF_REV_ABSENT ((int64_t)0)

/* Log levels (slog's). */
#define WF_LEVEL_DEBUG (-4)
#define WF_LEVEL_INFO 0
#define WF_LEVEL_WARN 4
#define WF_LEVEL_ERROR 8

/* Error kinds. WF_KIND_INVALID_INPUT makes the call "rejected". */
#define WF_KIND_ERROR "error"
#define WF_KIND_INVALID_INPUT "invalid_input"

/* WF_MAX_UPDATE_ATTEMPTS bounds wf_prop_update's compare-and-set loop. */
#define WF_MAX_UPDATE_ATTEMPTS 1000

#define WF_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* ---------------------------------------------------------------------- */
/* Buffers                                                                  */
/* ---------------------------------------------------------------------- */

/* wf_buf is a growable byte buffer; ptr[len] is always 0 once ptr != NULL. */
typedef struct wf_buf {
	char *ptr;
	size_t len;
	size_t cap; /* bytes usable for data, not counting the trailing NUL */
} wf_buf;

void wf_buf_free(wf_buf *b);
/* wf_buf_reserve makes room for cap bytes of data; WF_OK or WF_NO_MEMORY. */
int wf_buf_reserve(wf_buf *b, size_t cap);
int wf_buf_append(wf_buf *b, const void *data, size_t len);
int wf_buf_append_str(wf_buf *b, const char *s);
int wf_buf_appendf(wf_buf *b, const char *fmt, ...) WF_PRINTF(2, 3);
int wf_buf_vappendf(wf_buf *b, const char *fmt, va_list ap) WF_PRINTF(2, 0);
/* wf_buf_append_float appends v as Go's fmt "%g" does (shortest digits that
 * read back as v: 47.5, 1e+06), unlike C's "%g", which keeps 6 digits. */
int wf_buf_append_float(wf_buf *b, double v);
/* wf_buf_reset empties b and keeps its memory. */
void wf_buf_reset(wf_buf *b);

/* wf_status_text names a status code ("not found", ...). */
const char *wf_status_text(int64_t status);

/* ---------------------------------------------------------------------- */
/* The handler                                                              */
/* ---------------------------------------------------------------------- */

/* wf_handle is defined by the guest: 0 is success. */
int wf_handle(void);

/* ---------------------------------------------------------------------- */
/* Event                                                                    */
/* ---------------------------------------------------------------------- */

/* wf_event_attr copies an attribute ("type", "subject", "datacontenttype",
 * an extension name, ...) into out. Returns its length or WF_NOT_FOUND. */
int wf_event_attr(const char *name, wf_buf *out);
/* wf_event_data copies the event's data, raw bytes. Returns its length. */
int wf_event_data(wf_buf *out);
/* wf_event_extensions copies the extension names, each followed by NUL. */
int wf_event_extensions(wf_buf *out);
/* wf_call_info copies a fact about the call: "call_id", "function",
 * "module_digest", "attempt", "deadline". */
int wf_call_info(const char *name, wf_buf *out);

/* ---------------------------------------------------------------------- */
/* Outcome                                                                  */
/* ---------------------------------------------------------------------- */

/* wf_result sets the call's result; an empty content type (NULL or "")
 * means application/octet-stream. */
int wf_result(const char *content_type, const void *body, size_t len);
/* wf_result_json sets a JSON result (application/json). */
int wf_result_json(const char *json, size_t len);
/* wf_set_status sets the HTTP status (100-599) of the call's response, for
 * a function serving an HTTP route (default 200); wf_set_header adds a
 * response header. A bad code, name or value fails the call, kind
 * invalid_response. */
int wf_set_status(int code);
int wf_set_header(const char *name, const char *value);

/* wf_error fails the call with kind and a printf-style message, and returns
 * 1 so that a handler can `return wf_error(...)`. */
int wf_error(const char *kind, const char *fmt, ...) WF_PRINTF(2, 3);
/* wf_reject is wf_error(WF_KIND_INVALID_INPUT, ...): the event was wrong. */
int wf_reject(const char *fmt, ...) WF_PRINTF(1, 2);
/* wf_fail fails the call for a host function's negative status, with the
 * message "<op>: <status text>" (kind "error"), and returns 1. */
int wf_fail(const char *op, int64_t status);

/* ---------------------------------------------------------------------- */
/* Log, fields, config                                                      */
/* ---------------------------------------------------------------------- */

/* wf_log appends a printf-style log line to the call's ExecutionInfo. */
int wf_log(int level, const char *fmt, ...) WF_PRINTF(2, 3);
/* wf_field_json adds a domain field with a JSON value. */
int wf_field_json(const char *key, const char *json, size_t len);
int wf_field_int(const char *key, int64_t v);
int wf_field_number(const char *key, double v);
int wf_field_bool(const char *key, bool v);
int wf_field_string(const char *key, const char *s);
/* wf_config copies the function's config entry key; WF_NOT_FOUND if unset. */
int wf_config(const char *key, wf_buf *out);

/* ---------------------------------------------------------------------- */
/* Emit                                                                     */
/* ---------------------------------------------------------------------- */

/* wf_attr is one attribute of an emitted event. */
typedef struct wf_attr {
	const char *name;
	const char *value;
} wf_attr;

/* wf_emit emits an event with attrs (at least {"type", ...}; subject,
 * source, datacontenttype, dataschema and extensions are optional; an
 * attribute whose value is NULL is left out) and raw data. Returns the emit
 * index or a status. Emitted events are published only if the call ends ok;
 * a malformed event (an empty type, say) fails the call, kind invalid_emit. */
int wf_emit(const wf_attr *attrs, size_t n_attrs, const void *data, size_t len);
/* wf_emit_json emits an event of type about subject (NULL for none) with
 * JSON data (datacontenttype application/json). */
int wf_emit_json(const char *type, const char *subject, const char *json, size_t len);

/* ---------------------------------------------------------------------- */
/* Schedule: events later, replaceable by key (capability "schedule")      */
/* ---------------------------------------------------------------------- */

/* wf_schedule_in schedules an event (attrs and data as for wf_emit) to be
 * delivered delay_ms milliseconds after the call ends, under key: scheduling
 * again under the same key replaces the pending event. wf_schedule_at
 * schedules it at unix_ms (milliseconds since the Unix epoch; the past fires
 * at once). Both return the schedule index or a status; like emitted
 * events, schedules take effect only if the call ends ok. */
int wf_schedule_in(const char *key, int64_t delay_ms, const wf_attr *attrs, size_t n_attrs, const void *data, size_t len);
int wf_schedule_at(const char *key, int64_t unix_ms, const wf_attr *attrs, size_t n_attrs, const void *data, size_t len);
/* wf_schedule_cancel cancels the pending event under key, if any. */
int wf_schedule_cancel(const char *key);

/* ---------------------------------------------------------------------- */
/* KV: the function's own key/value namespace (capability "kv")            */
/* ---------------------------------------------------------------------- */

/* wf_kv_get copies the value of key into out and its revision into *rev
 * (unless rev is NULL). Returns the length or WF_NOT_FOUND. */
int wf_kv_get(const char *key, wf_buf *out, uint64_t *rev);
/* wf_kv_set stores a value; returns the new revision (> 0) or a status. */
int64_t wf_kv_set(const char *key, const void *val, size_t len);
int wf_kv_delete(const char *key);
/* wf_kv_keys copies the keys starting with prefix, sorted, each followed by
 * NUL; iterate with wf_next_name. */
int wf_kv_keys(const char *prefix, wf_buf *out);
/* wf_next_name walks a run of NUL-terminated names: start with *pos = 0;
 * returns the next name or NULL at the end. */
const char *wf_next_name(const wf_buf *list, size_t *pos);

/* ---------------------------------------------------------------------- */
/* Subject properties (capability "props"). Values are JSON.               */
/* ---------------------------------------------------------------------- */

/* wf_prop_get copies a property's JSON value into out and its revision into
 * *rev (unless NULL). Returns the length or WF_NOT_FOUND. */
int wf_prop_get(const char *subject, const char *name, wf_buf *out, uint64_t *rev);
/* wf_prop_set sets a property unconditionally; returns the new revision. */
int64_t wf_prop_set(const char *subject, const char *name, const char *json, size_t len);
/* wf_prop_set_if sets it if its revision is expect (WF_REV_ANY,
 * WF_REV_ABSENT or a revision); returns the new revision or WF_CONFLICT. */
int64_t wf_prop_set_if(const char *subject, const char *name, const char *json, size_t len, int64_t expect);
int wf_prop_delete(const char *subject, const char *name);
int wf_prop_delete_if(const char *subject, const char *name, int64_t expect);

/* wf_update_fn computes a property's new JSON value into out (empty on
 * entry) from old (NULL, 0 when the property does not exist). Return 0 to
 * write out, anything else to stop: wf_prop_update then returns WF_ABORTED.
 * It may run several times; only the last run's value is written. */
typedef int (*wf_update_fn)(const char *old, size_t old_len, wf_buf *out, void *userdata);

/* wf_prop_update atomically updates a property with fn: read, compute,
 * compare-and-set against the revision read, again on conflict, at most
 * WF_MAX_UPDATE_ATTEMPTS times (then WF_CONFLICT). Returns the new revision,
 * WF_ABORTED or a status. */
int64_t wf_prop_update(const char *subject, const char *name, wf_update_fn fn, void *userdata);

/* Extended properties: subject metadata (strings) copied as extensions onto
 * events about the subject. */
int wf_ext_get(const char *subject, const char *name, wf_buf *out);
int wf_ext_set(const char *subject, const char *name, const char *value);
int wf_ext_delete(const char *subject, const char *name);

/* ---------------------------------------------------------------------- */
/* Outbound HTTP (capability "http"): only hosts on the function's          */
/* allow-list; the host checks every address, redirects included.          */
/* ---------------------------------------------------------------------- */

/* wf_header is one request header; a name may repeat. */
typedef struct wf_header {
	const char *name;
	const char *value;
} wf_header;

/* wf_http_request sends a request and waits for the whole response. method
 * NULL or "" is GET; url is an absolute http:// or https:// URL; headers
 * whose value is NULL are left out; body may be NULL, 0. Returns the HTTP
 * status (100-599) or WF_INVALID, WF_DENIED (host or address not allowed),
 * WF_TIMEOUT, WF_TOO_LARGE, WF_LIMIT or WF_UNAVAILABLE; wf_http_error then
 * says why, naming the host. None of them fails the call by itself. */
int wf_http_request(const char *method, const char *url, const wf_header *headers, size_t n_headers, const void *body, size_t body_len);
/* wf_http_response_body copies the last response's body. Returns its length
 * or WF_NOT_FOUND when the last request got no response. */
int wf_http_response_body(wf_buf *out);
/* wf_http_response_header copies the last response's header name
 * (case-insensitive), several values joined with ", ". WF_NOT_FOUND when
 * absent. */
int wf_http_response_header(const char *name, wf_buf *out);
/* wf_http_response_headers copies every header of the last response as
 * name NUL value NUL pairs (names in lower case, sorted); walk them with
 * wf_next_name, two names at a time. */
int wf_http_response_headers(wf_buf *out);
/* wf_http_error copies why the last request failed. WF_NOT_FOUND when it
 * got a response. */
int wf_http_error(wf_buf *out);

/* ---------------------------------------------------------------------- */
/* JSON helpers for property values and fields (no full parser).           */
/* ---------------------------------------------------------------------- */

/* wf_json_number reads a JSON number (surrounding whitespace allowed) into
 * *out. Returns WF_OK or WF_INVALID (not a number, or out of range). */
int wf_json_number(const char *json, size_t len, double *out);
/* wf_json_int is wf_json_number for integers that fit int64 exactly
 * ("3", not "3.5" or "1e3"). */
int wf_json_int(const char *json, size_t len, int64_t *out);
/* wf_json_append_number appends v as encoding/json writes a float64
 * (10, 47.5, 1e+21); NaN and infinities are WF_INVALID. */
int wf_json_append_number(wf_buf *b, double v);
/* wf_json_quote appends s as a JSON string, escaped as encoding/json does
 * (invalid UTF-8 becomes U+FFFD). */
int wf_json_quote(wf_buf *b, const char *s, size_t len);
/* wf_json_string decodes a JSON string value into out (UTF-8). Returns its
 * length or WF_INVALID when json is not one JSON string. */
int wf_json_string(const char *json, size_t len, wf_buf *out);
/* wf_json_string_eq reports whether json is a JSON string equal to s. */
bool wf_json_string_eq(const char *json, size_t len, const char *s);
/* wf_json_type names the kind of the JSON value json starts with: "object",
 * "array", "string", "number", "bool", "null", or NULL when invalid. */
const char *wf_json_type(const char *json, size_t len);
/* wf_json_field finds the member key of a JSON object and points *val at
 * its raw value. Returns WF_OK, WF_NOT_FOUND, or WF_INVALID when json is
 * not a well-formed object. */
int wf_json_field(const char *json, size_t len, const char *key, const char **val, size_t *val_len);

#ifdef __cplusplus
}
#endif

#endif /* WASMFAAS_H */
