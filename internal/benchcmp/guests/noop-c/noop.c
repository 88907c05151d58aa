/*
 * noop does nothing and succeeds: the C twin of
 * host/hosttest/testdata/guests/noop, for BenchmarkCompare's noop-c rows and
 * TestDensity's C row. Built with guest-sdks/c (wasmfaas.h, wasmfaas.c).
 */
#include "wasmfaas.h"

int wf_handle(void) { return 0; }
