/*
 * counter atomically increments the property "count" of the event's subject
 * and returns the new value as {"count": n}: the C twin of
 * examples/counter/go, sharing its testdata. Concurrent calls about the same
 * subject never lose an increment: wf_prop_update is a compare-and-set loop.
 *
 * Grants: props.
 */
#include "wasmfaas.h"

#include <string.h>

/* count is wf_prop_update's userdata: what the last run computed. */
struct count {
	int64_t n;
	wf_buf bad; /* the stored value, when it is not an integer */
};

/* increment may run several times; only the last run's count was written. */
static int increment(const char *old, size_t old_len, wf_buf *out, void *userdata) {
	struct count *c = userdata;
	c->n = 0;
	const char *type = old != NULL ? wf_json_type(old, old_len) : "null";
	if ((type == NULL || strcmp(type, "null") != 0) && wf_json_int(old, old_len, &c->n) != WF_OK) {
		wf_buf_reset(&c->bad);
		wf_buf_append(&c->bad, old, old_len);
		return 1;
	}
	c->n++;
	return wf_buf_appendf(out, "%lld", (long long)c->n);
}

int wf_handle(void) {
	wf_buf subject = {0};
	if (wf_event_attr("subject", &subject) <= 0) {
		wf_buf_free(&subject);
		return wf_reject("event has no subject: counter counts per subject");
	}
	struct count c = {0};
	int64_t rev = wf_prop_update(subject.ptr, "count", increment, &c);
	int rc = 0;
	if (rev == WF_ABORTED) {
		rc = wf_error(WF_KIND_ERROR, "property count of \"%s\" is %s, not an integer", subject.ptr, c.bad.ptr);
	} else if (rev < 0) {
		rc = wf_fail("update \"count\"", rev);
	} else {
		wf_buf result = {0};
		wf_buf_appendf(&result, "{\"count\":%lld}", (long long)c.n);
		rc = wf_result_json(result.ptr, result.len) == WF_OK ? 0 : 1;
		wf_buf_free(&result);
	}
	wf_buf_free(&subject);
	wf_buf_free(&c.bad);
	return rc;
}
