/*
 * wasmfaas.c - the C guest SDK for wasmfaas ABI v1; see wasmfaas.h and
 * abi/README.md, the spec it is written from.
 */
#include "wasmfaas.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reactor exports of abi/README.md section 2. */

__attribute__((export_name("wasmfaas_abi_v1"))) void wasmfaas_abi_v1(void) {}

__attribute__((export_name("wasmfaas_handle"))) int32_t wasmfaas_handle(void) { return wf_handle(); }

/* initialBufferCap is the first capacity of an empty wf_buf that receives
 * host data: most attributes and values fit, so most reads are one call. */
#define initialBufferCap 256

/* maxFillAttempts bounds the grow-and-retry loop of fill: data that keeps
 * growing between two calls (a KV value rewritten concurrently) ends it. */
#define maxFillAttempts 16

/* ---------------------------------------------------------------------- */
/* Buffers                                                                  */
/* ---------------------------------------------------------------------- */

void wf_buf_free(wf_buf *b) {
	free(b->ptr);
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
}

int wf_buf_reserve(wf_buf *b, size_t cap) {
	if (b->ptr != NULL && cap <= b->cap) {
		return WF_OK;
	}
	if (cap >= SIZE_MAX / 2) {
		return WF_NO_MEMORY;
	}
	if (b->ptr != NULL && cap < 2 * b->cap) {
		cap = 2 * b->cap;
	}
	char *p = realloc(b->ptr, cap + 1);
	if (p == NULL) {
		return WF_NO_MEMORY;
	}
	p[b->len] = 0; /* a fresh buffer has len 0 */
	b->ptr = p;
	b->cap = cap;
	return WF_OK;
}

void wf_buf_reset(wf_buf *b) {
	b->len = 0;
	if (b->ptr != NULL) {
		b->ptr[0] = 0;
	}
}

int wf_buf_append(wf_buf *b, const void *data, size_t len) {
	if (len > SIZE_MAX / 2 - b->len) {
		return WF_NO_MEMORY;
	}
	int rc = wf_buf_reserve(b, b->len + len);
	if (rc != WF_OK) {
		return rc;
	}
	if (len > 0) {
		memcpy(b->ptr + b->len, data, len);
	}
	b->len += len;
	b->ptr[b->len] = 0;
	return WF_OK;
}

int wf_buf_append_str(wf_buf *b, const char *s) { return wf_buf_append(b, s, strlen(s)); }

int wf_buf_vappendf(wf_buf *b, const char *fmt, va_list ap) {
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		return WF_INVALID;
	}
	int rc = wf_buf_reserve(b, b->len + (size_t)n);
	if (rc != WF_OK) {
		return rc;
	}
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return WF_OK;
}

int wf_buf_appendf(wf_buf *b, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	int rc = wf_buf_vappendf(b, fmt, ap);
	va_end(ap);
	return rc;
}

const char *wf_status_text(int64_t status) {
	switch (status) {
	case WF_OK:
		return "ok";
	case WF_NOT_FOUND:
		return "not found";
	case WF_CONFLICT:
		return "conflict";
	case WF_INVALID:
		return "invalid argument";
	case WF_TOO_LARGE:
		return "too large";
	case WF_LIMIT:
		return "limit reached";
	case WF_UNAVAILABLE:
		return "unavailable";
	case WF_INTERNAL:
		return "host internal error";
	case WF_DENIED:
		return "denied";
	case WF_TIMEOUT:
		return "timed out";
	case WF_NO_MEMORY:
		return "out of guest memory";
	case WF_ABORTED:
		return "update aborted";
	}
	return status >= 0 ? "ok" : "unknown status code";
}

/* ---------------------------------------------------------------------- */
/* Reading host data: the guest allocates, grows and retries (ABI §3).     */
/* ---------------------------------------------------------------------- */

/* args holds the arguments of one host function that fills a buffer. */
typedef struct args {
	const char *a, *b;
	size_t alen, blen;
	uint64_t *rev;
} args;

typedef int32_t (*filler)(const args *x, void *buf, size_t cap);

/* fill calls f until its data fits out, growing out to the length the host
 * returns. On success out holds exactly the data (NUL-terminated); on a
 * status it is empty. */
static int fill(wf_buf *out, filler f, const args *x) {
	wf_buf_reset(out);
	int rc = wf_buf_reserve(out, out->cap > 0 ? out->cap : initialBufferCap);
	for (int i = 0; rc == WF_OK && i < maxFillAttempts; i++) {
		int32_t n = f(x, out->ptr, out->cap);
		if (n < 0) {
			return n;
		}
		if ((size_t)n <= out->cap) {
			out->len = (size_t)n;
			out->ptr[n] = 0;
			return n;
		}
		rc = wf_buf_reserve(out, (size_t)n);
	}
	return rc == WF_OK ? WF_INTERNAL : rc;
}

static int32_t fill_event_attr(const args *x, void *buf, size_t cap) { return wf_raw_event_attr(x->a, x->alen, buf, cap); }
static int32_t fill_event_data(const args *x, void *buf, size_t cap) { (void)x; return wf_raw_event_data(buf, cap); }
static int32_t fill_event_extensions(const args *x, void *buf, size_t cap) { (void)x; return wf_raw_event_extensions(buf, cap); }
static int32_t fill_info_get(const args *x, void *buf, size_t cap) { return wf_raw_info_get(x->a, x->alen, buf, cap); }
static int32_t fill_config_get(const args *x, void *buf, size_t cap) { return wf_raw_config_get(x->a, x->alen, buf, cap); }
static int32_t fill_kv_get(const args *x, void *buf, size_t cap) { return wf_raw_kv_get(x->a, x->alen, buf, cap, x->rev); }
static int32_t fill_kv_keys(const args *x, void *buf, size_t cap) { return wf_raw_kv_keys(x->a, x->alen, buf, cap); }
static int32_t fill_props_get(const args *x, void *buf, size_t cap) { return wf_raw_props_get(x->a, x->alen, x->b, x->blen, buf, cap, x->rev); }
static int32_t fill_props_ext_get(const args *x, void *buf, size_t cap) { return wf_raw_props_ext_get(x->a, x->alen, x->b, x->blen, buf, cap); }

static int32_t fill_http_body(const args *x, void *buf, size_t cap) { (void)x; return wf_raw_http_response_body(buf, cap); }
static int32_t fill_http_header(const args *x, void *buf, size_t cap) { return wf_raw_http_response_header(x->a, x->alen, buf, cap); }
static int32_t fill_http_headers(const args *x, void *buf, size_t cap) { (void)x; return wf_raw_http_response_headers(buf, cap); }
static int32_t fill_http_error(const args *x, void *buf, size_t cap) { (void)x; return wf_raw_http_error(buf, cap); }

static args args1(const char *a) { return (args){.a = a, .alen = strlen(a)}; }
static args args2(const char *a, const char *b) { return (args){.a = a, .alen = strlen(a), .b = b, .blen = strlen(b)}; }

/* ---------------------------------------------------------------------- */
/* Event                                                                    */
/* ---------------------------------------------------------------------- */

int wf_event_attr(const char *name, wf_buf *out) {
	args x = args1(name);
	return fill(out, fill_event_attr, &x);
}

int wf_event_data(wf_buf *out) { return fill(out, fill_event_data, NULL); }

int wf_event_extensions(wf_buf *out) { return fill(out, fill_event_extensions, NULL); }

int wf_call_info(const char *name, wf_buf *out) {
	args x = args1(name);
	return fill(out, fill_info_get, &x);
}

/* ---------------------------------------------------------------------- */
/* Outcome                                                                  */
/* ---------------------------------------------------------------------- */

int wf_result(const char *content_type, const void *body, size_t len) {
	if (content_type == NULL) {
		content_type = "";
	}
	return wf_raw_result_set(body, len, content_type, strlen(content_type));
}

int wf_result_json(const char *json, size_t len) { return wf_result("application/json", json, len); }

static void set_error(const char *kind, const char *fmt, va_list ap) {
	wf_buf msg = {0};
	if (wf_buf_vappendf(&msg, fmt, ap) == WF_OK) {
		wf_raw_error_set(kind, strlen(kind), msg.ptr, msg.len);
	} else {
		wf_raw_error_set(kind, strlen(kind), fmt, strlen(fmt));
	}
	wf_buf_free(&msg);
}

int wf_error(const char *kind, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	set_error(kind, fmt, ap);
	va_end(ap);
	return 1;
}

int wf_reject(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	set_error(WF_KIND_INVALID_INPUT, fmt, ap);
	va_end(ap);
	return 1;
}

int wf_fail(const char *op, int64_t status) {
	if (status == WF_NO_MEMORY) {
		return wf_error("out_of_memory", "%s: %s", op, wf_status_text(status));
	}
	return wf_error(WF_KIND_ERROR, "%s: %s", op, wf_status_text(status));
}

/* ---------------------------------------------------------------------- */
/* Log, fields, config                                                      */
/* ---------------------------------------------------------------------- */

int wf_log(int level, const char *fmt, ...) {
	wf_buf msg = {0};
	va_list ap;
	va_start(ap, fmt);
	int rc = wf_buf_vappendf(&msg, fmt, ap);
	va_end(ap);
	if (rc == WF_OK) {
		rc = wf_raw_log_write(level, msg.ptr, msg.len);
	}
	wf_buf_free(&msg);
	return rc;
}

int wf_field_json(const char *key, const char *json, size_t len) { return wf_raw_info_set(key, strlen(key), json, len); }

static int field_buf(const char *key, wf_buf *b, int rc) {
	if (rc == WF_OK) {
		rc = wf_field_json(key, b->ptr, b->len);
	}
	wf_buf_free(b);
	return rc;
}

int wf_field_int(const char *key, int64_t v) {
	wf_buf b = {0};
	return field_buf(key, &b, wf_buf_appendf(&b, "%lld", (long long)v));
}

int wf_field_number(const char *key, double v) {
	wf_buf b = {0};
	return field_buf(key, &b, wf_json_append_number(&b, v));
}

int wf_field_bool(const char *key, bool v) { return wf_field_json(key, v ? "true" : "false", v ? 4 : 5); }

int wf_field_string(const char *key, const char *s) {
	wf_buf b = {0};
	return field_buf(key, &b, wf_json_quote(&b, s, strlen(s)));
}

int wf_config(const char *key, wf_buf *out) {
	args x = args1(key);
	return fill(out, fill_config_get, &x);
}

/* ---------------------------------------------------------------------- */
/* Emit                                                                     */
/* ---------------------------------------------------------------------- */

/* attrs_block builds an attrs block: name NUL value NUL pairs; C strings
 * cannot hold a NUL, so no pair can shift the next. */
static int attrs_block(wf_buf *block, const wf_attr *attrs, size_t n_attrs) {
	int rc = wf_buf_reserve(block, 0);
	for (size_t i = 0; rc == WF_OK && i < n_attrs; i++) {
		if (attrs[i].name == NULL || attrs[i].value == NULL) {
			continue;
		}
		rc = wf_buf_append(block, attrs[i].name, strlen(attrs[i].name) + 1);
		if (rc == WF_OK) {
			rc = wf_buf_append(block, attrs[i].value, strlen(attrs[i].value) + 1);
		}
	}
	return rc;
}

static int schedule(const char *key, int64_t when, bool at, const wf_attr *attrs, size_t n_attrs, const void *data, size_t len) {
	wf_buf block = {0};
	int rc = attrs_block(&block, attrs, n_attrs);
	if (rc == WF_OK) {
		rc = at ? wf_raw_schedule_event_at(key, strlen(key), block.ptr, block.len, data, len, when)
		        : wf_raw_schedule_event(key, strlen(key), block.ptr, block.len, data, len, when);
	}
	wf_buf_free(&block);
	return rc;
}

int wf_schedule_in(const char *key, int64_t delay_ms, const wf_attr *attrs, size_t n_attrs, const void *data, size_t len) {
	return schedule(key, delay_ms, false, attrs, n_attrs, data, len);
}

int wf_schedule_at(const char *key, int64_t unix_ms, const wf_attr *attrs, size_t n_attrs, const void *data, size_t len) {
	return schedule(key, unix_ms, true, attrs, n_attrs, data, len);
}

int wf_schedule_cancel(const char *key) { return wf_raw_schedule_cancel(key, strlen(key)); }

int wf_set_status(int code) { return wf_raw_result_status(code); }

int wf_set_header(const char *name, const char *value) {
	return wf_raw_result_header(name, strlen(name), value, strlen(value));
}

int wf_emit(const wf_attr *attrs, size_t n_attrs, const void *data, size_t len) {
	wf_buf block = {0};
	int rc = attrs_block(&block, attrs, n_attrs);
	if (rc == WF_OK) {
		rc = wf_raw_emit_event(block.ptr, block.len, data, len);
	}
	wf_buf_free(&block);
	return rc;
}

int wf_emit_json(const char *type, const char *subject, const char *json, size_t len) {
	wf_attr attrs[] = {
	    {"type", type},
	    {"subject", subject != NULL && subject[0] != 0 ? subject : NULL},
	    {"datacontenttype", "application/json"},
	};
	return wf_emit(attrs, sizeof attrs / sizeof attrs[0], json, len);
}

/* ---------------------------------------------------------------------- */
/* HTTP                                                                     */
/* ---------------------------------------------------------------------- */

int wf_http_request(const char *method, const char *url, const wf_header *headers, size_t n_headers, const void *body, size_t body_len) {
	/* The headers block is name NUL value NUL pairs, as wf_emit's attrs. */
	wf_buf block = {0};
	int rc = wf_buf_reserve(&block, 0);
	for (size_t i = 0; rc == WF_OK && i < n_headers; i++) {
		if (headers[i].name == NULL || headers[i].value == NULL) {
			continue;
		}
		rc = wf_buf_append(&block, headers[i].name, strlen(headers[i].name) + 1);
		if (rc == WF_OK) {
			rc = wf_buf_append(&block, headers[i].value, strlen(headers[i].value) + 1);
		}
	}
	if (rc == WF_OK) {
		if (method == NULL) {
			method = "";
		}
		if (url == NULL) {
			url = "";
		}
		rc = wf_raw_http_request(method, strlen(method), url, strlen(url), block.ptr, block.len, body, body != NULL ? body_len : 0);
	}
	wf_buf_free(&block);
	return rc;
}

int wf_http_response_body(wf_buf *out) { return fill(out, fill_http_body, NULL); }

int wf_http_response_header(const char *name, wf_buf *out) {
	args x = args1(name);
	return fill(out, fill_http_header, &x);
}

int wf_http_response_headers(wf_buf *out) { return fill(out, fill_http_headers, NULL); }

int wf_http_error(wf_buf *out) { return fill(out, fill_http_error, NULL); }

/* ---------------------------------------------------------------------- */
/* KV                                                                       */
/* ---------------------------------------------------------------------- */

int wf_kv_get(const char *key, wf_buf *out, uint64_t *rev) {
	/* The host writes the revision on every call that finds the key, also
	 * when the value did not fit; a local slot keeps *rev untouched on a
	 * status. */
	uint64_t r = 0;
	args x = args1(key);
	x.rev = &r;
	int n = fill(out, fill_kv_get, &x);
	if (n >= 0 && rev != NULL) {
		*rev = r;
	}
	return n;
}

int64_t wf_kv_set(const char *key, const void *val, size_t len) { return wf_raw_kv_set(key, strlen(key), val, len); }

int wf_kv_delete(const char *key) { return wf_raw_kv_delete(key, strlen(key)); }

int wf_kv_keys(const char *prefix, wf_buf *out) {
	args x = args1(prefix != NULL ? prefix : "");
	return fill(out, fill_kv_keys, &x);
}

const char *wf_next_name(const wf_buf *list, size_t *pos) {
	if (list->ptr == NULL || *pos >= list->len) {
		return NULL;
	}
	const char *name = list->ptr + *pos;
	/* list->ptr[list->len] is 0, so strlen stops inside the buffer even if
	 * the last name lacks its NUL. */
	*pos += strlen(name) + 1;
	return name;
}

/* ---------------------------------------------------------------------- */
/* Subject properties                                                       */
/* ---------------------------------------------------------------------- */

int wf_prop_get(const char *subject, const char *name, wf_buf *out, uint64_t *rev) {
	uint64_t r = 0;
	args x = args2(subject, name);
	x.rev = &r;
	int n = fill(out, fill_props_get, &x);
	if (n >= 0 && rev != NULL) {
		*rev = r;
	}
	return n;
}

int64_t wf_prop_set_if(const char *subject, const char *name, const char *json, size_t len, int64_t expect) {
	return wf_raw_props_set(subject, strlen(subject), name, strlen(name), json, len, expect);
}

int64_t wf_prop_set(const char *subject, const char *name, const char *json, size_t len) {
	return wf_prop_set_if(subject, name, json, len, WF_REV_ANY);
}

int wf_prop_delete_if(const char *subject, const char *name, int64_t expect) {
	return wf_raw_props_delete(subject, strlen(subject), name, strlen(name), expect);
}

int wf_prop_delete(const char *subject, const char *name) { return wf_prop_delete_if(subject, name, WF_REV_ANY); }

int64_t wf_prop_update(const char *subject, const char *name, wf_update_fn fn, void *userdata) {
	wf_buf old = {0}, next = {0};
	int64_t rc = WF_CONFLICT;
	for (int i = 0; i < WF_MAX_UPDATE_ATTEMPTS; i++) {
		uint64_t rev = 0;
		int n = wf_prop_get(subject, name, &old, &rev);
		int64_t expect = (int64_t)rev;
		if (n == WF_NOT_FOUND) {
			expect = WF_REV_ABSENT;
		} else if (n < 0) {
			rc = n;
			break;
		}
		wf_buf_reset(&next);
		if (fn(n >= 0 ? old.ptr : NULL, n >= 0 ? old.len : 0, &next, userdata) != 0) {
			rc = WF_ABORTED;
			break;
		}
		rc = wf_prop_set_if(subject, name, next.ptr != NULL ? next.ptr : "", next.len, expect);
		if (rc != WF_CONFLICT) {
			break;
		}
	}
	wf_buf_free(&old);
	wf_buf_free(&next);
	return rc;
}

int wf_ext_get(const char *subject, const char *name, wf_buf *out) {
	args x = args2(subject, name);
	return fill(out, fill_props_ext_get, &x);
}

int wf_ext_set(const char *subject, const char *name, const char *value) {
	return wf_raw_props_ext_set(subject, strlen(subject), name, strlen(name), value, strlen(value));
}

int wf_ext_delete(const char *subject, const char *name) {
	return wf_raw_props_ext_delete(subject, strlen(subject), name, strlen(name));
}

/* ---------------------------------------------------------------------- */
/* JSON helpers                                                             */
/* ---------------------------------------------------------------------- */

/* maxJSONDepth bounds the nesting skip_value follows, so hostile data
 * cannot exhaust the guest's stack. */
#define maxJSONDepth 64

static const char *skip_ws(const char *p, const char *end) {
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
		p++;
	}
	return p;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* skip_number returns the end of the JSON number at p, or NULL. */
static const char *skip_number(const char *p, const char *end) {
	if (p < end && *p == '-') {
		p++;
	}
	if (p >= end || !is_digit(*p)) {
		return NULL;
	}
	if (*p == '0') {
		p++;
	} else {
		while (p < end && is_digit(*p)) {
			p++;
		}
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !is_digit(*p)) {
			return NULL;
		}
		while (p < end && is_digit(*p)) {
			p++;
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-')) {
			p++;
		}
		if (p >= end || !is_digit(*p)) {
			return NULL;
		}
		while (p < end && is_digit(*p)) {
			p++;
		}
	}
	return p;
}

static int hex_value(char c) {
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* read_hex4 reads 4 hex digits at p (p+4 <= end checked by the caller). */
static int32_t read_hex4(const char *p) {
	int32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hex_value(p[i]);
		if (h < 0) {
			return -1;
		}
		v = v * 16 + h;
	}
	return v;
}

/* utf8_decode decodes one rune at p as Go's utf8.DecodeRune does; it
 * returns the rune's width, or 0 for an invalid sequence (one byte then
 * stands for U+FFFD). */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *r) {
	if (n == 0) {
		return 0;
	}
	unsigned char c = p[0];
	if (c < 0x80) {
		*r = c;
		return 1;
	}
	size_t w;
	uint32_t min;
	if (c >= 0xC2 && c <= 0xDF) {
		w = 2, min = 0x80, *r = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		w = 3, min = 0x800, *r = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		w = 4, min = 0x10000, *r = c & 0x07;
	} else {
		return 0;
	}
	if (n < w) {
		return 0;
	}
	for (size_t i = 1; i < w; i++) {
		if ((p[i] & 0xC0) != 0x80) {
			return 0;
		}
		*r = (*r << 6) | (p[i] & 0x3F);
	}
	if (*r < min || *r > 0x10FFFF || (*r >= 0xD800 && *r <= 0xDFFF)) {
		return 0;
	}
	return w;
}

static int append_utf8(wf_buf *b, uint32_t r) {
	char s[4];
	size_t n;
	if (r < 0x80) {
		s[0] = (char)r, n = 1;
	} else if (r < 0x800) {
		s[0] = (char)(0xC0 | (r >> 6)), s[1] = (char)(0x80 | (r & 0x3F)), n = 2;
	} else if (r < 0x10000) {
		s[0] = (char)(0xE0 | (r >> 12)), s[1] = (char)(0x80 | ((r >> 6) & 0x3F)), s[2] = (char)(0x80 | (r & 0x3F)), n = 3;
	} else {
		s[0] = (char)(0xF0 | (r >> 18)), s[1] = (char)(0x80 | ((r >> 12) & 0x3F)), s[2] = (char)(0x80 | ((r >> 6) & 0x3F)),
		s[3] = (char)(0x80 | (r & 0x3F)), n = 4;
	}
	return wf_buf_append(b, s, n);
}

/* scan_string decodes the JSON string at p (which is '"') into out (unless
 * NULL) and returns the end of the string, or NULL when malformed. */
static const char *scan_string(const char *p, const char *end, wf_buf *out) {
	p++;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			return p + 1;
		}
		if (c < 0x20) {
			return NULL;
		}
		if (c != '\\') {
			uint32_t r = 0xFFFD;
			size_t w = utf8_decode((const unsigned char *)p, (size_t)(end - p), &r);
			if (w == 0) {
				r = 0xFFFD, w = 1;
			}
			if (out != NULL && append_utf8(out, r) != WF_OK) {
				return NULL;
			}
			p += w;
			continue;
		}
		if (end - p < 2) {
			return NULL;
		}
		char e = p[1];
		p += 2;
		uint32_t r;
		switch (e) {
		case '"': r = '"'; break;
		case '\\': r = '\\'; break;
		case '/': r = '/'; break;
		case 'b': r = '\b'; break;
		case 'f': r = '\f'; break;
		case 'n': r = '\n'; break;
		case 'r': r = '\r'; break;
		case 't': r = '\t'; break;
		case 'u': {
			if (end - p < 4) {
				return NULL;
			}
			int32_t u = read_hex4(p);
			if (u < 0) {
				return NULL;
			}
			p += 4;
			r = (uint32_t)u;
			if (r >= 0xD800 && r <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
				int32_t lo = read_hex4(p + 2);
				if (lo >= 0xDC00 && lo <= 0xDFFF) {
					r = 0x10000 + ((r - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
					p += 6;
				}
			}
			if (r >= 0xD800 && r <= 0xDFFF) {
				r = 0xFFFD; /* a lone surrogate, as encoding/json decodes it */
			}
			break;
		}
		default:
			return NULL;
		}
		if (out != NULL && append_utf8(out, r) != WF_OK) {
			return NULL;
		}
	}
	return NULL;
}

static bool match_word(const char *p, const char *end, const char *w) {
	size_t n = strlen(w);
	return (size_t)(end - p) >= n && memcmp(p, w, n) == 0;
}

/* skip_value returns the end of the JSON value at p (no leading
 * whitespace), or NULL when it is malformed or nested too deep. */
static const char *skip_value(const char *p, const char *end, int depth) {
	if (p >= end || depth > maxJSONDepth) {
		return NULL;
	}
	switch (*p) {
	case '"':
		return scan_string(p, end, NULL);
	case 't':
		return match_word(p, end, "true") ? p + 4 : NULL;
	case 'f':
		return match_word(p, end, "false") ? p + 5 : NULL;
	case 'n':
		return match_word(p, end, "null") ? p + 4 : NULL;
	case '[':
	case '{': {
		char close = *p == '[' ? ']' : '}';
		bool object = *p == '{';
		p = skip_ws(p + 1, end);
		if (p < end && *p == close) {
			return p + 1;
		}
		for (;;) {
			if (object) {
				if (p >= end || *p != '"' || (p = scan_string(p, end, NULL)) == NULL) {
					return NULL;
				}
				p = skip_ws(p, end);
				if (p >= end || *p != ':') {
					return NULL;
				}
				p = skip_ws(p + 1, end);
			}
			if ((p = skip_value(p, end, depth + 1)) == NULL) {
				return NULL;
			}
			p = skip_ws(p, end);
			if (p < end && *p == ',') {
				p = skip_ws(p + 1, end);
				continue;
			}
			return p < end && *p == close ? p + 1 : NULL;
		}
	}
	default:
		return skip_number(p, end);
	}
}

/* whole reports whether [p, end) is exactly one JSON value with optional
 * surrounding whitespace, and trims it to the value. */
static bool whole(const char **p, const char **end) {
	const char *s = skip_ws(*p, *end);
	const char *e = skip_value(s, *end, 0);
	if (e == NULL || skip_ws(e, *end) != *end) {
		return false;
	}
	*p = s, *end = e;
	return true;
}

const char *wf_json_type(const char *json, size_t len) {
	const char *p = json, *end = json + len;
	if (json == NULL || !whole(&p, &end)) {
		return NULL;
	}
	switch (*p) {
	case '{': return "object";
	case '[': return "array";
	case '"': return "string";
	case 't':
	case 'f': return "bool";
	case 'n': return "null";
	}
	return "number";
}

int wf_json_number(const char *json, size_t len, double *out) {
	const char *p = json, *end = json + len;
	if (json == NULL || !whole(&p, &end) || skip_number(p, end) != end) {
		return WF_INVALID;
	}
	wf_buf tmp = {0};
	int rc = wf_buf_append(&tmp, p, (size_t)(end - p)); /* strtod needs a NUL */
	if (rc == WF_OK) {
		double v = strtod(tmp.ptr, NULL);
		if (isinf(v)) {
			rc = WF_INVALID; /* encoding/json refuses out-of-range numbers too */
		} else {
			*out = v;
		}
	}
	wf_buf_free(&tmp);
	return rc;
}

int wf_json_int(const char *json, size_t len, int64_t *out) {
	const char *p = json, *end = json + len;
	if (json == NULL || !whole(&p, &end) || skip_number(p, end) != end) {
		return WF_INVALID;
	}
	bool neg = *p == '-';
	if (neg) {
		p++;
	}
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; p < end; p++) {
		if (!is_digit(*p)) {
			return WF_INVALID; /* a fraction or an exponent */
		}
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (limit - d) / 10) {
			return WF_INVALID;
		}
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return WF_OK;
}

/* shortest writes into e the fewest digits of v in "%.*e" form that read
 * back as v, as strconv.FormatFloat(v, 'e', -1, 64) finds them ("%.*e" is
 * correctly rounded in wasi-libc), and returns v's decimal exponent. */
static int shortest(double v, char e[40]) {
	for (int prec = 0; prec < 17; prec++) {
		snprintf(e, 40, "%.*e", prec, v);
		if (strtod(e, NULL) == v) {
			break;
		}
	}
	const char *x = strchr(e, 'e');
	return x != NULL ? atoi(x + 1) : 0;
}

/* append_plain appends the e-form number e without an exponent ("-4.75e+01"
 * becomes "-47.5", "1e-05" becomes "0.00001"). */
static int append_plain(wf_buf *b, const char *e, int exp) {
	char digits[24];
	size_t nd = 0;
	const char *p = e;
	bool neg = *p == '-';
	if (neg) {
		p++;
	}
	for (; *p != 'e' && *p != 0; p++) {
		if (is_digit(*p) && nd < sizeof digits) {
			digits[nd++] = *p;
		}
	}
	char out[400]; /* |exp| < 325 */
	size_t o = 0;
	if (neg) {
		out[o++] = '-';
	}
	if (exp < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = -1; i > exp && o < sizeof out - 1; i--) {
			out[o++] = '0';
		}
		for (size_t i = 0; i < nd && o < sizeof out - 1; i++) {
			out[o++] = digits[i];
		}
	} else {
		for (int i = 0; (i <= exp || (size_t)i < nd) && o < sizeof out - 2; i++) {
			if (i == exp + 1) {
				out[o++] = '.';
			}
			out[o++] = (size_t)i < nd ? digits[i] : '0';
		}
	}
	return wf_buf_append(b, out, o);
}

int wf_json_append_number(wf_buf *b, double v) {
	if (isnan(v) || isinf(v)) {
		return WF_INVALID;
	}
	char e[40];
	int exp = shortest(v, e);
	double a = fabs(v);
	if (a != 0 && (a < 1e-6 || a >= 1e21)) {
		/* encoding/json's exponent form, "1e-07" written "1e-7". */
		size_t n = strlen(e);
		if (n >= 4 && e[n - 4] == 'e' && e[n - 3] == '-' && e[n - 2] == '0') {
			e[n - 2] = e[n - 1];
			e[n - 1] = 0;
		}
		return wf_buf_append_str(b, e);
	}
	return append_plain(b, e, exp);
}

int wf_buf_append_float(wf_buf *b, double v) {
	if (isnan(v)) {
		return wf_buf_append_str(b, "NaN");
	}
	if (isinf(v)) {
		return wf_buf_append_str(b, v > 0 ? "+Inf" : "-Inf");
	}
	char e[40];
	int exp = shortest(v, e);
	if (exp < -4 || exp >= 6) { /* fmt's threshold for a shortest %g */
		return wf_buf_append_str(b, e);
	}
	return append_plain(b, e, exp);
}

int wf_json_quote(wf_buf *b, const char *s, size_t len) {
	static const char hex[] = "0123456789abcdef";
	int rc = wf_buf_append(b, "\"", 1);
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; rc == WF_OK && i < len;) {
		unsigned char c = p[i];
		if (c < 0x80) {
			char esc[6] = {'\\', 0};
			size_t n = 2;
			switch (c) {
			case '"': esc[1] = '"'; break;
			case '\\': esc[1] = '\\'; break;
			case '\b': esc[1] = 'b'; break;
			case '\f': esc[1] = 'f'; break;
			case '\n': esc[1] = 'n'; break;
			case '\r': esc[1] = 'r'; break;
			case '\t': esc[1] = 't'; break;
			default:
				if (c >= 0x20 && c != '<' && c != '>' && c != '&') {
					esc[0] = (char)c, n = 1;
				} else { /* control characters, and HTML-significant ones as encoding/json escapes them */
					esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15], n = 6;
				}
			}
			rc = wf_buf_append(b, esc, n);
			i++;
			continue;
		}
		uint32_t r = 0;
		size_t w = utf8_decode(p + i, len - i, &r);
		if (w == 0) {
			rc = wf_buf_append_str(b, "\\ufffd");
			i++;
		} else if (r == 0x2028 || r == 0x2029) {
			rc = wf_buf_append_str(b, r == 0x2028 ? "\\u2028" : "\\u2029");
			i += w;
		} else {
			rc = wf_buf_append(b, p + i, w);
			i += w;
		}
	}
	return rc == WF_OK ? wf_buf_append(b, "\"", 1) : rc;
}

int wf_json_string(const char *json, size_t len, wf_buf *out) {
	const char *p = json, *end = json + len;
	wf_buf_reset(out);
	if (json == NULL || !whole(&p, &end) || *p != '"') {
		return WF_INVALID;
	}
	int rc = wf_buf_reserve(out, 0);
	if (rc != WF_OK) {
		return rc;
	}
	if (scan_string(p, end, out) == NULL) {
		return WF_NO_MEMORY; /* the string was checked by whole */
	}
	return out->len > INT32_MAX ? WF_TOO_LARGE : (int)out->len;
}

bool wf_json_string_eq(const char *json, size_t len, const char *s) {
	wf_buf v = {0};
	bool eq = wf_json_string(json, len, &v) >= 0 && v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
	wf_buf_free(&v);
	return eq;
}

int wf_json_field(const char *json, size_t len, const char *key, const char **val, size_t *val_len) {
	const char *p = json, *end = json + len;
	if (json == NULL || !whole(&p, &end) || *p != '{') {
		return WF_INVALID;
	}
	/* The object is well formed: walk its members; the last one named key
	 * wins, as in encoding/json. */
	int rc = WF_NOT_FOUND;
	size_t klen = strlen(key);
	wf_buf name = {0};
	p = skip_ws(p + 1, end);
	while (p < end && *p == '"') {
		wf_buf_reset(&name);
		if (wf_buf_reserve(&name, 0) != WF_OK || (p = scan_string(p, end, &name)) == NULL) {
			rc = WF_NO_MEMORY;
			break;
		}
		p = skip_ws(skip_ws(p, end) + 1, end); /* past ':' */
		const char *v = p;
		p = skip_value(p, end, 1);
		if (p == NULL) {
			rc = WF_INVALID;
			break;
		}
		if (name.len == klen && memcmp(name.ptr, key, klen) == 0) {
			*val = v;
			*val_len = (size_t)(p - v);
			rc = WF_OK;
		}
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p = skip_ws(p + 1, end);
		}
	}
	wf_buf_free(&name);
	return rc;
}
