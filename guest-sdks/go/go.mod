module github.com/wasmfaas/wasmfaas/guest-sdks/go

go 1.26
