// Command wasmfaas is the function host's CLI: it reads flags, wires the
// packages and exits. The commands live in this package; business logic
// lives in host, modules, router and store.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "wasmfaas:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a code after the command has printed its
// own report (a failing test run is not an error message).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit code %d", e.code) }
