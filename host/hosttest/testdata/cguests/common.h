/*
 * common.h: shared by the misbehaving C guests. Each guest misbehaves only
 * when the event's data is "bad", so the test can check that the next call
 * on the same function ("calm") is ok.
 */
#include "wasmfaas.h"

#include <string.h>

/* bad reports whether the event asks for the misbehaviour. */
static inline bool bad(void) {
	wf_buf data = {0};
	wf_event_data(&data);
	bool b = data.len == 3 && memcmp(data.ptr, "bad", 3) == 0;
	wf_buf_free(&data);
	return b;
}

/* calm is the well-behaved answer. */
static inline int calm(void) { return wf_result("text/plain", "calm", 4); }

/* memory_end is the first address past the guest's linear memory. */
static inline uintptr_t memory_end(void) { return (uintptr_t)__builtin_wasm_memory_size(0) * 65536; }

/* at turns an address into a pointer without pointer arithmetic, which
 * would be undefined behaviour outside any object. */
static inline void *at(uintptr_t addr) { return (void *)addr; }
