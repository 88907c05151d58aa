/* jsoncheck exposes the SDK's JSON helpers for comparison with Go: the
 * event's type picks the helper, its data is the input, the result is the
 * output. */
#include "wasmfaas.h"

#include <string.h>

int wf_handle(void) {
	wf_buf type = {0}, data = {0}, out = {0};
	wf_event_attr("type", &type);
	wf_event_data(&data);
	int rc = WF_OK;
	double v = 0;
	if (strcmp(type.ptr, "number") == 0 || strcmp(type.ptr, "g") == 0) {
		rc = wf_json_number(data.ptr, data.len, &v);
		if (rc == WF_OK) {
			rc = strcmp(type.ptr, "g") == 0 ? wf_buf_append_float(&out, v) : wf_json_append_number(&out, v);
		}
	} else if (strcmp(type.ptr, "quote") == 0) {
		rc = wf_json_quote(&out, data.ptr, data.len);
	} else if (strcmp(type.ptr, "string") == 0) {
		rc = wf_json_string(data.ptr, data.len, &out);
	} else if (strcmp(type.ptr, "type") == 0) {
		const char *t = wf_json_type(data.ptr, data.len);
		rc = wf_buf_append_str(&out, t != NULL ? t : "invalid");
	}
	if (rc >= 0) {
		rc = wf_result("application/octet-stream", out.ptr, out.len);
	}
	wf_buf_free(&type);
	wf_buf_free(&data);
	wf_buf_free(&out);
	return rc == WF_OK ? 0 : wf_error("invalid", "%s", wf_status_text(rc));
}
