//go:build !race

package host

// raceSlack: none without the race detector (see race_test.go).
const raceSlack = 0
