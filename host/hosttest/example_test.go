package hosttest_test

import (
	"context"
	"fmt"
	"os"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// Unit-test a Go handler against the real host, in process: build it, grant
// what it needs, seed state, send an event, assert on the ExecutionInfo.
func Example() {
	ctx := context.Background()
	path, err := hosttest.BuildGo(ctx, "../../examples/temperature/go")
	if err != nil {
		fmt.Println(err)
		return
	}
	wasm, _ := os.ReadFile(path)

	h, _ := hosttest.New(hosttest.Options{})
	defer h.Close()
	fn, err := h.Deploy(ctx, "temperature", wasm, hosttest.Grant(abi.CapProps, abi.CapEmit))
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = h.SetProperty(ctx, "device|00000A", "temp_max", 30)

	info := h.Send(ctx, fn, hosttest.NewEvent("com.example.temperature.reading", "device|00000A", map[string]any{"tempc": 32}))
	status, _ := h.Property(ctx, "device|00000A", "temp_status")
	fmt.Println(info.Status, string(info.Fields["status_changed"]), string(status), len(info.Emitted))
	// Output: ok true "WARM" 1
}

// A directory of language-neutral cases runs the same way `wasmfaas test` does.
func ExampleSuite_Run() {
	ctx := context.Background()
	path, err := hosttest.BuildGo(ctx, "../../examples/hello/go")
	if err != nil {
		fmt.Println(err)
		return
	}
	wasm, _ := os.ReadFile(path)
	results, err := hosttest.Suite{Wasm: wasm}.Run(ctx, "../../examples/hello/testdata")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Println(r.Case.Name, r.Passed())
	}
	// Output:
	// empty true
	// json true
	// route true
	// text true
}
