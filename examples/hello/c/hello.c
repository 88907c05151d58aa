/*
 * hello echoes the event's data back as the call's result, with the event's
 * content type: the C twin of examples/hello/go, sharing its testdata. It
 * needs no capability beyond the defaults. Served on an HTTP route with a
 * {name} parameter, it greets the name instead, setting the response's
 * status and a header.
 *
 * Build: make guests (or see guest-sdks/c/README.md).
 */
#include "wasmfaas.h"

static int greet(const char *name) {
	wf_log(WF_LEVEL_INFO, "greeting %s", name);
	int rc = wf_set_status(200);
	if (rc == WF_OK) {
		rc = wf_set_header("X-Hello-Name", name);
	}
	wf_buf body = {0};
	if (rc == WF_OK) {
		rc = wf_buf_appendf(&body, "hello, %s\n", name);
	}
	if (rc == WF_OK) {
		rc = wf_result("text/plain; charset=utf-8", body.ptr, body.len);
	}
	wf_buf_free(&body);
	return rc == WF_OK ? 0 : wf_fail("greet", rc);
}

int wf_handle(void) {
	wf_buf name = {0};
	if (wf_event_attr("paramname", &name) >= 0) {
		int rc = greet(name.ptr != NULL ? name.ptr : "");
		wf_buf_free(&name);
		return rc;
	}
	wf_buf_free(&name);
	wf_buf data = {0}, ct = {0};
	int n = wf_event_data(&data);
	if (n < 0) {
		return wf_fail("event data", n);
	}
	if (wf_event_attr("datacontenttype", &ct) <= 0) {
		wf_buf_reset(&ct);
		wf_buf_append_str(&ct, "application/octet-stream");
	}
	wf_log(WF_LEVEL_INFO, "echoing %zu bytes of %s", data.len, ct.ptr != NULL ? ct.ptr : "");
	int rc = wf_field_int("bytes", (int64_t)data.len);
	if (rc == WF_OK) {
		rc = wf_result(ct.ptr, data.ptr, data.len);
	}
	wf_buf_free(&data);
	wf_buf_free(&ct);
	return rc == WF_OK ? 0 : wf_fail("hello", rc);
}
