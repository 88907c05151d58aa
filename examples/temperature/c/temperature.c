/*
 * temperature is a KRules-style rule, the C twin of examples/temperature/go
 * (same testdata): it records a device's reading as the property "tempc" of
 * the event's subject, classifies it against the subject's thresholds, and
 * when the class changes it updates "temp_status" and emits
 * com.example.temperature.status.changed.
 *
 * The event data is {"tempc": <number>}. Thresholds are the subject's
 * properties "temp_min" and "temp_max" (defaults 20 and 30): tempc <= temp_min
 * is COLD, tempc >= temp_max is WARM, 45 and above is CRITICAL, and anything
 * between is NORMAL.
 *
 * Grants: props, emit.
 */
#include "wasmfaas.h"

#include <string.h>

#define STATUS_CHANGED_TYPE "com.example.temperature.status.changed"

static const double defaultMin = 20.0, defaultMax = 30.0, critical = 45.0;

/* maxStatusAttempts bounds the compare-and-set loop on temp_status. */
enum { maxStatusAttempts = 100 };

static bool blank(const wf_buf *b) { return strspn(b->ptr, " \t\r\n") == b->len; }

static bool is(const char *type, const char *want) { return type != NULL && strcmp(type, want) == 0; }

/* read_tempc decodes {"tempc": <number>} and rejects the event with the Go
 * SDK's messages; it returns 0 or the handler's result. */
static int read_tempc(const wf_buf *data, double *tempc) {
	if (blank(data)) {
		return wf_reject("data: invalid JSON: no data");
	}
	const char *type = wf_json_type(data->ptr, data->len);
	if (type == NULL) {
		return wf_reject("data: invalid JSON");
	}
	if (!is(type, "object") && !is(type, "null")) {
		return wf_reject("data: must be an object, got %s", type);
	}
	const char *v = NULL;
	size_t n = 0;
	if (!is(type, "object") || wf_json_field(data->ptr, data->len, "tempc", &v, &n) != WF_OK ||
	    is(wf_json_type(v, n), "null")) {
		return wf_reject("data: field \"tempc\" is required");
	}
	if (wf_json_number(v, n, tempc) != WF_OK) {
		return wf_reject("data: field \"tempc\" must be a number, got %s", wf_json_type(v, n));
	}
	if (*tempc < -273.15) {
		/* Readings no thermometer can produce are rejected, not recorded. */
		wf_buf msg = {0};
		wf_buf_append_float(&msg, *tempc);
		int rc = wf_reject("data: tempc %s is below absolute zero", msg.ptr);
		wf_buf_free(&msg);
		return rc;
	}
	return 0;
}

/* classify maps a temperature to a status; CRITICAL wins over WARM. */
static const char *classify(double tempc, double lo, double hi) {
	if (tempc >= critical) {
		return "CRITICAL";
	}
	if (tempc >= hi) {
		return "WARM";
	}
	if (tempc <= lo) {
		return "COLD";
	}
	return "NORMAL";
}

/* threshold reads a numeric property into *v, or def when the subject lacks
 * it; it returns 0 or the handler's failure. */
static int threshold(const char *subject, const char *prop, double def, double *v) {
	wf_buf raw = {0};
	int n = wf_prop_get(subject, prop, &raw, NULL);
	int rc = 0;
	*v = def;
	if (n >= 0 && wf_json_number(raw.ptr, raw.len, v) != WF_OK) {
		rc = wf_error(WF_KIND_ERROR, "get property \"%s\" of \"%s\": decode: %s is not a number", prop, subject, raw.ptr);
	} else if (n < 0 && n != WF_NOT_FOUND) {
		rc = wf_error(WF_KIND_ERROR, "get property \"%s\" of \"%s\": %s", prop, subject, wf_status_text(n));
	}
	wf_buf_free(&raw);
	return rc;
}

/* set_status sets temp_status to status unless it already is, leaving the
 * previous JSON value in old (empty when absent) and whether it wrote in
 * *changed. The write is a compare-and-set against the revision read, so two
 * concurrent readings cannot both report the same transition. */
static int set_status(const char *subject, const char *status, wf_buf *old, bool *changed) {
	wf_buf want = {0};
	int rc = wf_json_quote(&want, status, strlen(status));
	*changed = false;
	for (int i = 0; rc == WF_OK && i < maxStatusAttempts; i++) {
		uint64_t rev = 0;
		int n = wf_prop_get(subject, "temp_status", old, &rev);
		int64_t expect = (int64_t)rev;
		if (n == WF_NOT_FOUND) {
			expect = WF_REV_ABSENT;
		} else if (n < 0) {
			rc = n;
			break;
		}
		if (n >= 0 && wf_json_string_eq(old->ptr, old->len, status)) {
			break;
		}
		int64_t set = wf_prop_set_if(subject, "temp_status", want.ptr, want.len, expect);
		if (set == WF_CONFLICT) {
			rc = set;
			continue;
		}
		rc = set < 0 ? (int)set : WF_OK;
		*changed = set >= 0;
		break;
	}
	wf_buf_free(&want);
	if (rc == WF_CONFLICT) {
		return wf_error(WF_KIND_ERROR, "set temp_status: gave up after %d conflicts", maxStatusAttempts);
	}
	return rc == WF_OK ? 0 : wf_fail("set temp_status", rc);
}

/* report logs and emits a status change and sets the call's result. */
static int report(const char *subject, const char *status, const wf_buf *old, bool changed, double tempc) {
	int rc = wf_field_bool("status_changed", changed);
	if (rc == WF_OK) {
		rc = wf_field_string("temp_status", status);
	}
	if (rc != WF_OK) {
		return wf_fail("field", rc);
	}
	wf_buf b = {0};
	if (changed) {
		const char *from = old->len > 0 ? old->ptr : NULL;
		wf_buf_appendf(&b, "%s: temp_status %s -> \"%s\" at ", subject, from != NULL ? from : "none", status);
		wf_buf_append_float(&b, tempc);
		wf_buf_append_str(&b, "°C");
		wf_log(WF_LEVEL_INFO, "%s", b.ptr);
		wf_buf_reset(&b);
		wf_buf_appendf(&b, "{\"from\":%s,\"to\":\"%s\"}", from != NULL ? from : "null", status);
		int idx = wf_emit_json(STATUS_CHANGED_TYPE, subject, b.ptr, b.len);
		if (idx < 0) {
			wf_buf_free(&b);
			return wf_fail("emit \"" STATUS_CHANGED_TYPE "\"", idx);
		}
		wf_buf_reset(&b);
	}
	wf_buf_appendf(&b, "{\"temp_status\":\"%s\",\"changed\":%s}", status, changed ? "true" : "false");
	rc = wf_result_json(b.ptr, b.len);
	wf_buf_free(&b);
	return rc == WF_OK ? 0 : wf_fail("result", rc);
}

static int handle(const char *subject, const wf_buf *data) {
	double tempc = 0, lo = 0, hi = 0;
	int rc = read_tempc(data, &tempc);
	if (rc != 0) {
		return rc;
	}
	if (subject[0] == 0) {
		return wf_reject("event has no subject: temperature readings are about a device");
	}
	wf_buf v = {0};
	wf_json_append_number(&v, tempc);
	int64_t set = wf_prop_set(subject, "tempc", v.ptr, v.len);
	wf_buf_free(&v);
	if (set < 0) {
		return wf_error(WF_KIND_ERROR, "set property \"tempc\" of \"%s\": %s", subject, wf_status_text(set));
	}
	if ((rc = threshold(subject, "temp_min", defaultMin, &lo)) != 0 ||
	    (rc = threshold(subject, "temp_max", defaultMax, &hi)) != 0) {
		return rc;
	}
	const char *status = classify(tempc, lo, hi);
	wf_buf old = {0};
	bool changed = false;
	rc = set_status(subject, status, &old, &changed);
	if (rc == 0) {
		rc = report(subject, status, &old, changed, tempc);
	}
	wf_buf_free(&old);
	return rc;
}

int wf_handle(void) {
	wf_buf subject = {0}, data = {0};
	int rc = wf_event_attr("subject", &subject);
	if (rc == WF_NOT_FOUND) {
		rc = wf_buf_reserve(&subject, 0);
	}
	if (rc >= 0) {
		rc = wf_event_data(&data);
	}
	rc = rc < 0 ? wf_fail("read event", rc) : handle(subject.ptr, &data);
	wf_buf_free(&subject);
	wf_buf_free(&data);
	return rc;
}
