/* badresult sets its result from a pointer outside its memory. */
#include "common.h"

int wf_handle(void) {
	if (!bad()) {
		return calm();
	}
	int32_t n = wf_raw_result_set(at(memory_end() + 0x100), 32, "text/plain", 10);
	return wf_error("error", "result_set returned %d instead of trapping", (int)n);
}
