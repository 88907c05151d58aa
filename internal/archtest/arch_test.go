package archtest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const mod = "github.com/wasmfaas/wasmfaas"

// deps returns every package pattern depends on, test files excluded.
func deps(t *testing.T, pattern string) []string {
	t.Helper()
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps", pattern)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	return strings.Fields(string(out))
}

// TestArrows: each row's packages must not depend on the listed ones.
func TestArrows(t *testing.T) {
	for _, tc := range []struct {
		pattern   string
		forbidden []string
	}{
		{"./abi/...", []string{"github.com/tetratelabs/wazero", mod + "/host", mod + "/store", "github.com/nats-io"}},
		{"./host", []string{mod + "/router", mod + "/store/jetstream", mod + "/internal/functions", mod + "/internal/server", "github.com/nats-io"}},
		{"./host/hosttest", []string{"github.com/nats-io/nats-server", mod + "/store/jetstream", mod + "/internal/natsserver"}},
		{"./store", []string{mod + "/store/jetstream", mod + "/store/mem", mod + "/host", mod + "/router"}},
		{"./store/jetstream", []string{mod + "/host", mod + "/router", "github.com/nats-io/nats-server"}},
		{"./modules", []string{mod + "/host", "github.com/tetratelabs/wazero"}},
		{"./router/...", []string{mod + "/store/jetstream", mod + "/store/mem", mod + "/internal/functions", mod + "/internal/server", mod + "/internal/app", "github.com/nats-io/nats-server"}},
		{"./internal/functions", []string{mod + "/internal/server", mod + "/internal/app", mod + "/store/jetstream", "github.com/nats-io/nats-server"}},
		{"./internal/server", []string{mod + "/internal/app", mod + "/internal/natsserver", mod + "/store/jetstream", "github.com/nats-io/nats-server"}},
		{"./internal/layout", []string{mod + "/store", mod + "/router", mod + "/host"}},
		// The console is files and the headers that serve them: it reaches
		// the host only through the JSON API, from the browser.
		{"./internal/console", []string{mod + "/internal/app", mod + "/internal/server", mod + "/internal/functions",
			mod + "/store", mod + "/router", mod + "/host", mod + "/modules", "github.com/nats-io", "github.com/tetratelabs/wazero"}},
	} {
		got := deps(t, tc.pattern)
		for _, d := range got {
			for _, f := range tc.forbidden {
				assert.False(t, d == f || strings.HasPrefix(d, f+"/"), "%s depends on %s", tc.pattern, d)
			}
		}
	}
}

// imports returns each package's direct imports, test files excluded.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	require.NoError(t, err)
	m := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	return m
}

// TestDirectImports: what a package uses itself. The router and the call
// path know no wazero and no HTTP server (the HTTP binding is
// router/ingress); only cmd/wasmfaas uses the CLI and config libraries.
func TestDirectImports(t *testing.T) {
	all := imports(t)
	rules := map[string][]string{
		mod + "/router":             {"github.com/tetratelabs/wazero", "net/http"},
		mod + "/router/ingress":     {"github.com/tetratelabs/wazero"},
		mod + "/internal/functions": {"github.com/tetratelabs/wazero", "net/http"},
		mod + "/host":               {"net/http"},
		mod + "/store":              {"github.com/tetratelabs/wazero", "net/http"},
		mod + "/internal/server":    {"github.com/tetratelabs/wazero", "github.com/nats-io/nats.go"},
	}
	for pkg, imps := range all {
		for _, imp := range imps {
			if pkg != mod+"/cmd/wasmfaas" {
				assert.False(t, strings.HasPrefix(imp, "github.com/spf13/cobra") || strings.HasPrefix(imp, "github.com/knadh/koanf"),
					"%s imports %s", pkg, imp)
			}
			for _, f := range rules[pkg] {
				assert.False(t, imp == f || strings.HasPrefix(imp, f+"/"), "%s imports %s", pkg, imp)
			}
		}
	}
	for pkg := range rules {
		assert.Contains(t, all, pkg, "rule for a package that does not exist")
	}
}

// TestServerIsAMapping: no non-test file of the HTTP layer grows past 600
// lines; logic that needs more belongs in the core.
func TestServerIsAMapping(t *testing.T) {
	files, err := filepath.Glob("../server/*.go")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.LessOrEqual(t, bytes.Count(b, []byte("\n")), 600, f)
	}
}
