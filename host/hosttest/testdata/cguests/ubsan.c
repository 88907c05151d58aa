/* ubsan overflows a signed int, which is undefined behaviour: built with
 * -fsanitize=undefined -fsanitize-trap=undefined it traps instead of
 * computing a wrong answer. */
#include "common.h"

#include <limits.h>

int wf_handle(void) {
	if (!bad()) {
		return calm();
	}
	volatile int one = 1; /* not constant-folded */
	int x = INT_MAX;
	x += one;
	return wf_error("error", "overflow went unnoticed: %d", x);
}
