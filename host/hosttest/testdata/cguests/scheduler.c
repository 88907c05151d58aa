/*
 * scheduler schedules what its event asks, for the schedule tests: data
 * "past" schedules a com.example.due at the Unix epoch's first second under
 * key "past"; "keys:N" schedules N events under keys k0..kN-1 in 60 s; a
 * com.example.due event is just recorded.
 */
#include "wasmfaas.h"

#include <stdlib.h>
#include <string.h>

int wf_handle(void) {
	wf_buf type = {0}, data = {0};
	wf_event_attr("type", &type);
	wf_event_data(&data);
	int rc = 0;
	wf_attr attrs[] = {{"type", "com.example.due"}, {"subject", "sched"}};
	if (type.ptr != NULL && strcmp(type.ptr, "com.example.due") == 0) {
		rc = wf_result("text/plain", "due", 3) == WF_OK ? 0 : 1;
	} else if (data.len == 4 && memcmp(data.ptr, "past", 4) == 0) {
		int s = wf_schedule_at("past", 1000, attrs, 2, "{}", 2);
		rc = s < 0 ? wf_fail("schedule", s) : 0;
	} else if (data.len > 5 && memcmp(data.ptr, "keys:", 5) == 0) {
		int n = atoi((const char *)data.ptr + 5);
		for (int i = 0; i < n && rc == 0; i++) {
			char key[16];
			key[0] = 'k';
			key[1] = (char)('0' + i);
			key[2] = 0;
			int s = wf_schedule_in(key, 60000, attrs, 2, "{}", 2);
			if (s < 0) {
				rc = wf_fail("schedule", s);
			}
		}
	}
	wf_buf_free(&type);
	wf_buf_free(&data);
	return rc;
}
