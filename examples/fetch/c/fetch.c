/*
 * fetch fetches the URL given in the event's data ({"url": "..."}) and sets
 * the response body, with the response's content type, as the call's
 * result; the status and size are domain fields: the C twin of
 * examples/fetch/go. A request the host refuses or that gets no response
 * fails the call with kind fetch_failed and the host's reason, which names
 * the host.
 *
 * Grants: http, with the URL's host on the function's allow-list.
 * Build: make guests (or see guest-sdks/c/README.md).
 */
#include "wasmfaas.h"

int wf_handle(void) {
	wf_buf data = {0}, url = {0}, body = {0}, ct = {0}, why = {0};
	const char *v = NULL;
	size_t vlen = 0;
	int ret = 0;
	int rc = wf_event_data(&data);
	if (rc < 0) {
		ret = wf_fail("event data", rc);
		goto done;
	}
	if (data.len == 0 || wf_json_field(data.ptr, data.len, "url", &v, &vlen) != WF_OK ||
	    wf_json_string(v, vlen, &url) <= 0) {
		ret = wf_reject("data: field \"url\" is required (a string)");
		goto done;
	}
	int status = wf_http_request("GET", url.ptr, NULL, 0, NULL, 0);
	if (status < 0) {
		if (wf_http_error(&why) < 0) {
			wf_buf_reset(&why);
			wf_buf_append_str(&why, wf_status_text(status));
		}
		ret = wf_error("fetch_failed", "fetch: http request: %s", why.ptr);
		goto done;
	}
	rc = wf_http_response_body(&body);
	if (rc < 0) {
		ret = wf_fail("read response body", rc);
		goto done;
	}
	if (wf_http_response_header("content-type", &ct) <= 0) {
		wf_buf_reset(&ct);
		wf_buf_append_str(&ct, "application/octet-stream");
	}
	wf_log(WF_LEVEL_INFO, "status %d, %zu bytes of %s", status, body.len, ct.ptr);
	rc = wf_field_int("status", status);
	if (rc == WF_OK) {
		rc = wf_field_int("bytes", (int64_t)body.len);
	}
	if (rc == WF_OK) {
		rc = wf_result(ct.ptr, body.ptr, body.len);
	}
	if (rc != WF_OK) {
		ret = wf_fail("fetch", rc);
	}
done:
	wf_buf_free(&data);
	wf_buf_free(&url);
	wf_buf_free(&body);
	wf_buf_free(&ct);
	wf_buf_free(&why);
	return ret;
}
