// Command benchtable reads `go test -bench` output (any -count) on stdin and
// prints a markdown table of medians with ratios to the floor and to
// Extism's no-op call, then the host-overhead targets, met or missed.
//
//	go test -run '^$' -bench . -benchmem -count 5 . | go run ./cmd/benchtable
package main

import (
	"fmt"
	"os"
)

func main() {
	rep, err := parse(os.Stdin, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if len(rep.rows) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark results on stdin")
		os.Exit(1)
	}
	rep.write(os.Stdout)
}
