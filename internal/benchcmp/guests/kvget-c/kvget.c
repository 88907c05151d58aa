/*
 * kvget reads one KV key: the C twin of
 * host/hosttest/testdata/guests/kvget, for BenchmarkCompare's kvget-c row.
 * Next to the Go row it separates what the host costs per KV get from what
 * the Go SDK does around it. The buffer is kept between calls, as a handler
 * that reads a value on every call would keep it.
 */
#include "wasmfaas.h"

static wf_buf value;

int wf_handle(void) { return wf_kv_get("k", &value, NULL) < 0 ? 1 : 0; }
