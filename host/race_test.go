//go:build race

package host

// raceSlack is added to timing margins under the race detector, which
// slows every memory access of the Go side (the watchdog, the collector's
// stop-the-world, the test) several times; the guest's own code is not
// instrumented, so what a margin measures is still the host's.
const raceSlack = 40_000_000 // 40 ms, in nanoseconds
