/*
 * reminder notices subjects that fall silent: the C twin of
 * examples/reminder/go, sharing its testdata. Every com.example.reading
 * marks its subject "reporting" and schedules a com.example.check for the
 * subject after check_after_ms milliseconds (config, default 10000), under
 * the subject as the key: a newer reading replaces the pending check, so a
 * check arrives only once a subject has sent nothing for that long. The
 * check marks the subject "silent".
 *
 * Grants: props, schedule, config.
 */
#include "wasmfaas.h"

#include <stdlib.h>
#include <string.h>

#define READING "com.example.reading"
#define CHECK "com.example.check"

static int reading(const char *subject) {
	long long after = 10000;
	wf_buf cfg = {0};
	if (wf_config("check_after_ms", &cfg) >= 0) {
		char *end = NULL;
		after = strtoll(cfg.ptr, &end, 10);
		if (cfg.len == 0 || end == NULL || *end != 0 || after < 0) {
			int rc = wf_error("config", "check_after_ms \"%s\" is not a number of milliseconds", cfg.ptr);
			wf_buf_free(&cfg);
			return rc;
		}
	}
	wf_buf_free(&cfg);
	int64_t rev = wf_prop_set(subject, "status", "\"reporting\"", 11);
	if (rev < 0) {
		return wf_fail("set \"status\"", rev);
	}
	wf_buf data = {0};
	wf_buf_appendf(&data, "{\"after_ms\":%lld}", after);
	wf_attr attrs[] = {{"type", CHECK}, {"subject", subject}, {"datacontenttype", "application/json"}};
	int s = wf_schedule_in(subject, after, attrs, sizeof attrs / sizeof attrs[0], data.ptr, data.len);
	wf_buf_free(&data);
	if (s < 0) {
		return wf_fail("schedule", s);
	}
	wf_buf result = {0};
	wf_buf_appendf(&result, "{\"check_after_ms\":%lld,\"status\":\"reporting\"}", after);
	int rc = wf_result_json(result.ptr, result.len) == WF_OK ? 0 : 1;
	wf_buf_free(&result);
	return rc;
}

static int check(const char *subject) {
	int64_t rev = wf_prop_set(subject, "status", "\"silent\"", 8);
	if (rev < 0) {
		return wf_fail("set \"status\"", rev);
	}
	const char *result = "{\"status\":\"silent\"}";
	return wf_result_json(result, strlen(result)) == WF_OK ? 0 : 1;
}

int wf_handle(void) {
	wf_buf subject = {0}, type = {0};
	int rc;
	if (wf_event_attr("subject", &subject) <= 0) {
		rc = wf_reject("event has no subject: reminder watches subjects");
	} else if (wf_event_attr("type", &type) <= 0) {
		rc = wf_reject("event has no type");
	} else if (strcmp(type.ptr, READING) == 0) {
		rc = reading(subject.ptr);
	} else if (strcmp(type.ptr, CHECK) == 0) {
		rc = check(subject.ptr);
	} else {
		rc = wf_reject("reminder handles %s and %s, not %s", READING, CHECK, type.ptr);
	}
	wf_buf_free(&subject);
	wf_buf_free(&type);
	return rc;
}
