package wasmfaas

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// capabilityOf is the capability group of every wasmfaas_v1 function
// (abi/README.md §4), repeated here because the SDK depends on nothing.
var capabilityOf = map[string]string{
	"event_attr": "core", "event_data": "core", "event_extensions": "core",
	"result_set": "core", "error_set": "core", "result_status": "core", "result_header": "core",
	"log_write": "log",
	"info_set":  "info", "info_get": "info",
	"config_get":     "config",
	"emit_event":     "emit",
	"schedule_event": "schedule", "schedule_event_at": "schedule", "schedule_cancel": "schedule",
	"kv_get": "kv", "kv_set": "kv", "kv_delete": "kv", "kv_keys": "kv",
	"props_get": "props", "props_set": "props", "props_delete": "props",
	"props_ext_get": "props", "props_ext_set": "props", "props_ext_delete": "props",
	"http_request": "http", "http_response_body": "http", "http_response_header": "http",
	"http_response_headers": "http", "http_error": "http",
}

// TestExampleImports builds the Go examples and checks that each imports
// exactly the capabilities it uses: the host refuses a module that imports a
// capability its function was not granted, so an SDK change that makes hello
// import kv_* would break every deployment of it. It relies on the linker
// dropping host functions nobody calls, which is why Context is a struct.
func TestExampleImports(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm modules")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(examples, "go.mod")); err != nil {
		t.Skip("examples module not found next to the SDK")
	}
	tests := []struct {
		name string
		caps []string // capabilities beyond core, sorted
	}{
		{name: "hello", caps: []string{"info", "log"}},
		{name: "counter", caps: []string{"props"}},
		{name: "temperature", caps: []string{"emit", "info", "log", "props"}},
		{name: "reminder", caps: []string{"config", "props", "schedule"}},
		{name: "fetch", caps: []string{"http", "info", "log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), tt.name+".wasm")
			cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-o", out, "./"+tt.name+"/go")
			cmd.Dir = examples
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("build %s: %v\n%s", tt.name, err, b)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			m, err := parseWasm(b)
			if err != nil {
				t.Fatalf("parse %s: %v", out, err)
			}
			var caps []string
			for _, imp := range m.imports {
				mod, name, _ := strings.Cut(imp, ".")
				switch mod {
				case "wasi_snapshot_preview1":
				case "wasmfaas_v1":
					c, ok := capabilityOf[name]
					if !ok {
						t.Errorf("imports unknown host function %s", imp)
					}
					if c != "core" && !slices.Contains(caps, c) {
						caps = append(caps, c)
					}
				default:
					t.Errorf("imports %s from unexpected module %s", imp, mod)
				}
			}
			slices.Sort(caps)
			if !slices.Equal(caps, tt.caps) {
				t.Errorf("capabilities = %v, want %v; imports:\n%s", caps, tt.caps, strings.Join(m.imports, "\n"))
			}
			for _, e := range []string{"wasmfaas_abi_v1", "wasmfaas_handle", "memory", "_initialize"} {
				if !slices.Contains(m.exports, e) {
					t.Errorf("does not export %s; exports: %v", e, m.exports)
				}
			}
			if slices.Contains(m.exports, "_start") {
				t.Errorf("exports _start: a c-shared build should not")
			}
			t.Logf("imports: %s; initial memory: %d pages", strings.Join(m.imports, " "), m.memoryMin)
		})
	}
}
