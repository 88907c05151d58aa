/*
 * wasi-upper is a plain WASI command in C, the twin of examples/wasi-upper/go
 * (same testdata): wasmfaas runs any module with _start in command mode,
 * passing the triggering event as a structured CloudEvent on stdin and taking
 * stdout as the result. It writes the event's data upper-cased: a JSON string
 * is upper-cased and written as JSON, other JSON is written unchanged, and
 * data_base64 that is UTF-8 text is decoded and upper-cased.
 *
 * It uses no SDK, only libc: a small bounds-checked JSON scanner finds the
 * top-level members "type", "data" and "data_base64". Member names match
 * exactly (encoding/json would also accept "Type").
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

/* buf is a growable byte buffer. */
typedef struct {
	char *p;
	size_t len, cap;
} buf;

static bool put(buf *b, const void *data, size_t n) {
	if (n > SIZE_MAX / 4 - b->len) {
		return false;
	}
	if (b->len + n > b->cap) {
		size_t cap = 2 * (b->len + n) + 64;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			return false;
		}
		b->p = p, b->cap = cap;
	}
	if (n > 0) {
		memcpy(b->p + b->len, data, n);
	}
	b->len += n;
	return true;
}

/* maxDepth bounds the nesting skip_value follows. */
enum { maxDepth = 64 };

static const char *ws(const char *p, const char *end) {
	while (p < end && strchr(" \t\r\n", *p) != NULL && *p != 0) {
		p++;
	}
	return p;
}

/* utf8 decodes one rune at p (n > 0 bytes) or returns 0 when invalid. */
static size_t utf8(const unsigned char *p, size_t n, uint32_t *r) {
	size_t w = p[0] < 0x80 ? 1 : p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3 : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	if (w == 0 || w > n) {
		return 0;
	}
	*r = w == 1 ? p[0] : p[0] & (0x7F >> w);
	for (size_t i = 1; i < w; i++) {
		if ((p[i] & 0xC0) != 0x80) {
			return 0;
		}
		*r = (*r << 6) | (p[i] & 0x3F);
	}
	return *r < min[w] || *r > 0x10FFFF || (*r >= 0xD800 && *r <= 0xDFFF) ? 0 : w;
}

static bool put_rune(buf *b, uint32_t r) {
	unsigned char s[4];
	size_t n = r < 0x80 ? 1 : r < 0x800 ? 2 : r < 0x10000 ? 3 : 4;
	static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
	for (size_t i = n - 1; i > 0; i--, r >>= 6) {
		s[i] = (unsigned char)(0x80 | (r & 0x3F));
	}
	s[0] = (unsigned char)(n == 1 ? r : lead[n] | r);
	return put(b, s, n);
}

static int hex(char c) {
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static long hex4(const char *p, const char *end) {
	long v = 0;
	for (int i = 0; i < 4; i++) {
		if (p + i >= end || hex(p[i]) < 0) {
			return -1;
		}
		v = v * 16 + hex(p[i]);
	}
	return v;
}

/* string scans the JSON string at p ('"'), decoding it into out unless
 * NULL; it returns its end or NULL. Invalid UTF-8 becomes U+FFFD. */
static const char *string(const char *p, const char *end, buf *out) {
	for (p++; p < end;) {
		unsigned char c = (unsigned char)*p;
		uint32_t r = 0xFFFD;
		if (c == '"') {
			return p + 1;
		} else if (c < 0x20) {
			return NULL;
		} else if (c != '\\') {
			size_t w = utf8((const unsigned char *)p, (size_t)(end - p), &r);
			p += w > 0 ? w : 1;
			r = w > 0 ? r : 0xFFFD;
		} else if (p + 1 < end && p[1] == 'u') {
			long u = hex4(p + 2, end);
			if (u < 0) {
				return NULL;
			}
			p += 6, r = (uint32_t)u;
			long lo = r >= 0xD800 && r < 0xDC00 && p + 1 < end && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2, end) : -1;
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				r = 0x10000 + ((r - 0xD800) << 10) + ((uint32_t)lo - 0xDC00), p += 6;
			}
			r = r >= 0xD800 && r <= 0xDFFF ? 0xFFFD : r;
		} else {
			const char *esc = p + 1 < end ? strchr("\"\\/bfnrt", p[1]) : NULL;
			if (esc == NULL || p[1] == 0) {
				return NULL;
			}
			r = (uint32_t) "\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"];
			p += 2;
		}
		if (out != NULL && !put_rune(out, r)) {
			return NULL;
		}
	}
	return NULL;
}

static const char *word(const char *p, const char *end, const char *w) {
	size_t n = strlen(w);
	return (size_t)(end - p) >= n && memcmp(p, w, n) == 0 ? p + n : NULL;
}

static const char *digits(const char *p, const char *end) {
	const char *d = p;
	while (p < end && *p >= '0' && *p <= '9') {
		p++;
	}
	return p > d ? p : NULL;
}

static const char *number(const char *p, const char *end) {
	p += p < end && *p == '-';
	if (p < end && *p == '0') {
		p++;
	} else if ((p = digits(p, end)) == NULL) {
		return NULL;
	}
	if (p < end && *p == '.' && (p = digits(p + 1, end)) == NULL) {
		return NULL;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		p += p < end && (*p == '+' || *p == '-');
		p = digits(p, end);
	}
	return p;
}

/* value returns the end of the JSON value at p, or NULL. */
static const char *value(const char *p, const char *end, int depth) {
	if (p >= end || depth > maxDepth) {
		return NULL;
	}
	if (*p == '"') {
		return string(p, end, NULL);
	}
	if (*p == 't' || *p == 'f' || *p == 'n') {
		return *p == 't' ? word(p, end, "true") : *p == 'f' ? word(p, end, "false") : word(p, end, "null");
	}
	if (*p != '[' && *p != '{') {
		return number(p, end);
	}
	char close = *p == '[' ? ']' : '}';
	bool object = *p == '{';
	p = ws(p + 1, end);
	if (p < end && *p == close) {
		return p + 1;
	}
	for (;;) {
		if (object) {
			if (p >= end || *p != '"' || (p = string(p, end, NULL)) == NULL || (p = ws(p, end)) >= end || *p != ':') {
				return NULL;
			}
			p = ws(p + 1, end);
		}
		if ((p = value(p, end, depth + 1)) == NULL) {
			return NULL;
		}
		p = ws(p, end);
		if (p < end && *p == ',') {
			p = ws(p + 1, end);
		} else {
			return p < end && *p == close ? p + 1 : NULL;
		}
	}
}

/* event holds the raw values of the members this command reads. */
typedef struct {
	const char *type, *data, *data_base64;
	size_t type_len, data_len, data_base64_len;
} event;

/* parse checks that in is one JSON object and finds its members. */
static bool parse(const char *in, size_t n, event *ev) {
	const char *p = ws(in, in + n), *end = in + n;
	const char *v = value(p, end, 0);
	if (v == NULL || ws(v, end) != end || *p != '{') {
		return false;
	}
	buf name = {0};
	for (p = ws(p + 1, end); p < end && *p == '"';) {
		name.len = 0;
		if ((p = string(p, end, &name)) == NULL) {
			break; /* out of memory: the object was checked above */
		}
		p = ws(ws(p, end) + 1, end);
		const char *start = p;
		p = value(p, end, 1);
		size_t len = (size_t)(p - start);
		if (name.len == 4 && memcmp(name.p, "type", 4) == 0) {
			ev->type = start, ev->type_len = len;
		} else if (name.len == 4 && memcmp(name.p, "data", 4) == 0) {
			ev->data = start, ev->data_len = len;
		} else if (name.len == 11 && memcmp(name.p, "data_base64", 11) == 0) {
			ev->data_base64 = start, ev->data_base64_len = len;
		}
		p = ws(p, end);
		p = p < end && *p == ',' ? ws(p + 1, end) : p;
	}
	free(name.p);
	return true;
}

/* upper upper-cases valid UTF-8 text rune by rune (towupper, Unicode simple
 * case mapping, as Go's strings.ToUpper). */
static bool upper(const char *s, size_t n, buf *out) {
	for (size_t i = 0; i < n;) {
		uint32_t r = 0xFFFD;
		size_t w = utf8((const unsigned char *)s + i, n - i, &r);
		i += w > 0 ? w : 1;
		if (!put_rune(out, (uint32_t)towupper((wint_t)r))) {
			return false;
		}
	}
	return true;
}

static bool valid_utf8(const char *s, size_t n) {
	for (size_t i = 0, w; i < n; i += w) {
		uint32_t r;
		if ((w = utf8((const unsigned char *)s + i, n - i, &r)) == 0) {
			return false;
		}
	}
	return true;
}

/* quote writes s (valid UTF-8) as encoding/json does. */
static bool quote(const char *s, size_t n, buf *out) {
	bool ok = put(out, "\"", 1);
	for (size_t i = 0; ok && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[7];
		if (c == '"' || c == '\\') {
			e[0] = '\\', e[1] = (char)c, ok = put(out, e, 2);
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			snprintf(e, sizeof e, "\\u%04x", c);
			ok = put(out, e, 6);
		} else if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 && ((unsigned char)s[i + 2] & 0xFE) == 0xA8) {
			ok = put(out, (unsigned char)s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6), i += 2;
		} else {
			ok = put(out, &s[i], 1);
		}
	}
	return ok && put(out, "\"", 1);
}

/* base64 decodes standard, padded base64 (CR and LF ignored, as Go's) and
 * returns -1, or the offset of the first illegal byte. */
static long base64(const char *s, size_t n, buf *out) {
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t quad = 0;
	int q = 0, pad = 0;
	for (size_t i = 0; i < n; i++) {
		const char *k = s[i] != 0 ? strchr(abc, s[i]) : NULL;
		if (s[i] == '\r' || s[i] == '\n') {
			continue;
		}
		if (s[i] == '=' && q >= 2) {
			pad++; /* '=' may only end the input, in place of the last one or two sextets */
		} else if (k == NULL || pad > 0) {
			return (long)i;
		}
		quad = quad << 6 | (k != NULL ? (uint32_t)(k - abc) : 0);
		if (++q < 4) {
			continue;
		}
		unsigned char b[3] = {(unsigned char)(quad >> 16), (unsigned char)(quad >> 8), (unsigned char)quad};
		if (!put(out, b, (size_t)(3 - pad))) {
			return (long)i;
		}
		q = 0, quad = 0;
	}
	return q == 0 ? -1 : (long)n;
}

/* fail reports an error as the Go version does; exit code 1. */
static int fail(const char *msg) {
	fprintf(stderr, "wasi-upper: %s\n", msg);
	return 1;
}

int main(void) {
	buf in = {0}, out = {0}, type = {0}, text = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
		if (!put(&in, chunk, n)) {
			return fail("read stdin: out of memory");
		}
	}
	event ev = {0};
	if (!parse(in.p != NULL ? in.p : "", in.len, &ev)) {
		return fail("stdin is not a structured CloudEvent: invalid JSON");
	}
	if (ev.type == NULL || *ev.type != '"' || string(ev.type, ev.type + ev.type_len, &type) == NULL || type.len == 0) {
		return fail("stdin is not a CloudEvent: no type");
	}
	bool ok = true;
	if (ev.data_base64 != NULL && *ev.data_base64 == '"') {
		ok = string(ev.data_base64, ev.data_base64 + ev.data_base64_len, &text) != NULL;
		long bad = base64(text.p, text.len, &out);
		if (bad >= 0) {
			char msg[80];
			snprintf(msg, sizeof msg, "data_base64: illegal base64 data at input byte %ld", bad);
			return fail(msg);
		}
		if (valid_utf8(out.p, out.len)) {
			text.len = 0;
			ok = ok && put(&text, out.p, out.len);
			out.len = 0;
			ok = ok && upper(text.p, text.len, &out);
		}
	} else if (ev.data != NULL && *ev.data == '"') {
		ok = string(ev.data, ev.data + ev.data_len, &text) != NULL;
		buf up = {0};
		ok = ok && upper(text.p, text.len, &up) && quote(up.p, up.len, &out);
		free(up.p);
	} else if (ev.data != NULL && !(ev.data_len == 4 && memcmp(ev.data, "null", 4) == 0)) {
		ok = put(&out, ev.data, ev.data_len);
	}
	if (!ok) {
		return fail("out of memory");
	}
	put(&type, "", 1);
	fprintf(stderr, "wasi-upper: %s event, %zu bytes out\n", type.p, out.len);
	if (out.len > 0 && fwrite(out.p, 1, out.len, stdout) != out.len) {
		return fail("write stdout failed");
	}
	return 0;
}
