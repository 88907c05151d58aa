/* overflow hands the host a 16-byte buffer at the very end of its memory
 * but claims a capacity of 64: a host that trusted the capacity would write
 * past the buffer (and past memory). */
#include "common.h"

int wf_handle(void) {
	if (!bad()) {
		return calm();
	}
	void *buf = at(memory_end() - 16);
	int32_t n = wf_raw_event_data(buf, 64);
	return wf_error("error", "event_data returned %d instead of trapping", (int)n);
}
