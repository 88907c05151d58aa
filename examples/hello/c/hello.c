/*
 * hello echoes the event's data back as the call's result, with the event's
 * content type: the C twin of examples/hello/go, sharing its testdata. It
 * needs no capability beyond the defaults.
 *
 * Build: make guests (or see guest-sdks/c/README.md).
 */
#include "wasmfaas.h"

int wf_handle(void) {
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
