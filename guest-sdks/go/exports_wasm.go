//go:build wasip1

package wasmfaas

// wasmfaasABIv1 marks the module as speaking ABI v1; the host never calls it.
//
//go:wasmexport wasmfaas_abi_v1
func wasmfaasABIv1() {}

// wasmfaasHandle is the reactor entry point the host calls once per event.
//
//go:wasmexport wasmfaas_handle
func wasmfaasHandle() int32 { return run() }
