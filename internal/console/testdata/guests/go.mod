module github.com/wasmfaas/wasmfaas/internal/console/testdata/guests

go 1.26

require github.com/wasmfaas/wasmfaas/guest-sdks/go v0.0.0

replace github.com/wasmfaas/wasmfaas/guest-sdks/go => ../../../../guest-sdks/go
