/* emptytype emits an event whose type is empty, then claims success: the
 * host's sticky failure must win over the handler's 0. */
#include "common.h"

int wf_handle(void) {
	if (!bad()) {
		return calm();
	}
	wf_attr attrs[] = {{"type", ""}, {"subject", "s"}};
	int rc = wf_emit(attrs, 2, "{}", 2);
	if (rc != WF_INVALID) {
		return wf_error("error", "emit_event returned %d, not INVALID", rc);
	}
	return calm();
}
