//go:build race

package app_test

// clusterEvents is TestClusterFaults' load: under the race detector, whose
// slowdown (5-10x) would make 10,000 events take minutes on 2 cores, a
// smaller one with the same faults at the same points.
const clusterEvents = 3_000
