package benchcmp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/internal/wasmgen"
)

// Paths from this package's directory.
const (
	hostGuests  = "../../host/hosttest/testdata/guests/"
	localGuests = "guests/"
	pluginDir   = "plugin"
)

// buildC builds a C guest (a directory of .c files, or one file) with
// guest-sdks/c and returns the path of its .wasm. It is a variable so the
// noop-c rows of BenchmarkCompare and the C row of TestDensity are skipped,
// not failed, where it is nil (e.g. to compare against a checkout from
// before hosttest.BuildC). BuildC needs clang-14 and a WASI sysroot
// (scripts/setup.sh).
var buildC = hosttest.BuildC

// buildRust builds a Rust guest (a cargo package) with guest-sdks/rust and
// returns the path of its .wasm; like buildC, the noop-rust row is skipped
// where it is nil. BuildRust needs Debian's cargo and rustc with the
// wasm32-wasi standard library (scripts/setup.sh).
var buildRust = hosttest.BuildRust

// rustNoopGuest is the Rust no-op guest (guests/noop-rust).
const rustNoopGuest = localGuests + "noop-rust"

// cNoopGuest is the C no-op guest (guests/noop-c/noop.c); cKVGetGuest
// reads one KV key (guests/kvget-c/kvget.c).
const (
	cNoopGuest  = localGuests + "noop-c"
	cKVGetGuest = localGuests + "kvget-c"
)

// asNoopGuest is the AssemblyScript no-op guest
// (guests/noop-assemblyscript/index.ts), built with guest-sdks/assemblyscript:
// hosttest.BuildAssemblyScript needs its npm ci (scripts/setup.sh).
const asNoopGuest = localGuests + "noop-assemblyscript"

// eventData is the 256 bytes every benchmark sends: the host's event data
// and Extism's call input.
var eventData = bytes.Repeat([]byte("x"), 256)

// benchEvent is a valid event with exactly eventData, made once: the
// benchmarks measure the host, not building events.
func benchEvent() cloudevents.Event {
	return hosttest.NewEvent("com.example.bench", "bench", eventData)
}

// once memoizes a fixture for the whole process, so the -count runs and the
// benchmark framework's calibration runs build and deploy nothing twice.
type once[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (o *once[T]) get(tb testing.TB, f func() (T, error)) T {
	tb.Helper()
	o.once.Do(func() { o.v, o.err = f() })
	if o.err != nil {
		tb.Fatal(o.err)
	}
	return o.v
}

// closers run when the test binary exits (TestMain).
var (
	closersMu sync.Mutex
	closers   []func()
)

func atExit(f func()) {
	closersMu.Lock()
	closers = append(closers, f)
	closersMu.Unlock()
}

func TestMain(m *testing.M) {
	code := m.Run()
	closersMu.Lock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	closersMu.Unlock()
	os.Exit(code)
}

// readGo builds a Go guest with hosttest.BuildGo and returns its bytes.
func readGo(dir string) ([]byte, error) {
	p, err := hosttest.BuildGo(context.Background(), dir)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// readAS builds an AssemblyScript guest with hosttest.BuildAssemblyScript
// and returns its bytes.
func readAS(dir string) ([]byte, error) {
	p, err := hosttest.BuildAssemblyScript(context.Background(), dir)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// readC builds a C guest with buildC and returns its bytes.
func readC(dir string) ([]byte, error) {
	p, err := buildC(context.Background(), dir)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// readRust builds a Rust guest with buildRust and returns its bytes.
func readRust(dir string) ([]byte, error) {
	p, err := buildRust(context.Background(), dir)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// floorModule exports noop() -> i32, returning 0: the same module as the
// host's own BenchmarkFloor.
func floorModule() []byte {
	var m wasmgen.Module
	m.Export("noop", m.Func(m.Type(nil, []byte{wasmgen.I32}), nil, wasmgen.I32Const(0)))
	return m.Bytes()
}

var pluginMu sync.Mutex

// buildPlugin builds the Extism plugin in plugin/ with the standard Go
// toolchain (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared) and
// returns its bytes. The .wasm is cached under hosttest.DefaultCacheDir()
// by a hash of the Go version and the plugin's sources; it is never
// committed.
func buildPlugin(ctx context.Context) ([]byte, error) {
	pluginMu.Lock()
	defer pluginMu.Unlock()
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version())
	for _, f := range []string{"go.mod", "go.sum", "main.go"} {
		b, err := os.ReadFile(filepath.Join(pluginDir, f))
		if err != nil {
			return nil, err
		}
		fmt.Fprintln(h, f, len(b))
		h.Write(b)
	}
	out := filepath.Join(hosttest.DefaultCacheDir(), "benchcmp", "extism-noop-"+hex.EncodeToString(h.Sum(nil))[:16]+".wasm")
	if b, err := os.ReadFile(out); err == nil {
		return b, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, goBin(), "build", "-trimpath", "-buildmode=c-shared", "-o", tmp, ".")
	cmd.Dir = pluginDir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build extism plugin: %w\n%s", err, stderr.String())
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}

func goBin() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
