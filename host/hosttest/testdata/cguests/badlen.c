/* badlen passes a negative length (-1, read as 0xFFFFFFFF) and a huge one
 * to host calls, depending on the event's subject. */
#include "common.h"

int wf_handle(void) {
	if (!bad()) {
		return calm();
	}
	wf_buf subject = {0};
	wf_event_attr("subject", &subject);
	int32_t n;
	if (subject.len > 0 && strcmp(subject.ptr, "huge") == 0) {
		n = wf_raw_log_write(WF_LEVEL_INFO, "x", 0x7FFFFFF0u);
	} else {
		n = wf_raw_event_attr("type", (size_t)-1, NULL, 0);
	}
	wf_buf_free(&subject);
	return wf_error("error", "host call returned %d instead of trapping", (int)n);
}
