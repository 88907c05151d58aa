/*
 * httpresponse shapes an HTTP route's response by its {mode} path
 * parameter: a teapot with its own status and headers, a bad status code, a
 * header with a control character, a trap, a rejection, or a loop. Used by
 * the HTTP trigger tests.
 */
#include "wasmfaas.h"

#include <string.h>

int wf_handle(void) {
	wf_buf mode = {0};
	wf_event_attr("parammode", &mode);
	const char *m = mode.ptr != NULL ? mode.ptr : "";
	int rc = 0;
	if (strcmp(m, "teapot") == 0) {
		wf_set_status(418);
		wf_set_header("X-Tea", "earl grey");
		wf_set_header("Set-Cookie", "a=1");
		wf_set_header("Set-Cookie", "b=2");
		rc = wf_result("application/json", "{\"short\":true}", 14) == WF_OK ? 0 : 1;
	} else if (strcmp(m, "badstatus") == 0) {
		wf_set_status(42);
		rc = wf_result("text/plain", "never sent", 10) == WF_OK ? 0 : 1;
	} else if (strcmp(m, "badheader") == 0) {
		wf_set_header("X-Split", "a\r\nInjected: yes");
		rc = wf_result("text/plain", "never sent", 10) == WF_OK ? 0 : 1;
	} else if (strcmp(m, "trap") == 0) {
		__builtin_trap();
	} else if (strcmp(m, "reject") == 0) {
		rc = wf_reject("mode %s: the caller asked for it", m);
	} else if (strcmp(m, "loop") == 0) {
		for (volatile int i = 0;; i++) {
		}
	} else {
		rc = wf_result("text/plain", "plain", 5) == WF_OK ? 0 : 1;
	}
	wf_buf_free(&mode);
	return rc;
}
