//go:build !race

package app_test

// clusterEvents is TestClusterFaults' load.
const clusterEvents = 10_000
