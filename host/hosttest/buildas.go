package hosttest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// ASSDKDir is the AssemblyScript SDK's directory, relative to the
// repository root: its assembly/ holds the SDK's sources and its
// node_modules the compiler pinned by its package-lock.json, which
// scripts/setup.sh installs with npm ci.
const ASSDKDir = "guest-sdks/assemblyscript"

// ASAbort is the SDK's abort function, as asc's --use abort=... names it
// when asc runs in the repository root: an abort (a failed assertion, an
// index out of range, a throw) writes its message to stderr and traps, so
// the call's trap message starts with it.
const ASAbort = ASSDKDir + "/assembly/abort/abort"

// ASFlags are the flags of every AssemblyScript guest BuildAssemblyScript
// builds: optimized for speed, with the incremental garbage collector
// (AssemblyScript's default runtime: a pooled instance runs many calls, and
// a handler's garbage must not pile up until memory runs out) and the SDK's
// abort. No flag exports the runtime: the host never allocates in guest
// memory.
var ASFlags = []string{"-O3", "--runtime", "incremental", "--use", "abort=" + ASAbort}

// BuildAssemblyScript builds the AssemblyScript guest in dir (a directory
// whose index.ts is the entry file, or one .ts file) with the asc of the
// repository's guest-sdks/assemblyscript (found by walking up from dir) and
// returns the path of its .wasm. Builds are cached under
// DefaultCacheDir()/guests by a hash of the compiler's version, the flags,
// the guest's sources and the SDK's, so an unchanged guest is not rebuilt.
func BuildAssemblyScript(ctx context.Context, dir string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	entry, srcs, name, err := asSources(abs)
	if err != nil {
		return "", err
	}
	root, err := findAbove(abs, filepath.Join(ASSDKDir, "package.json"))
	if err != nil {
		return "", err
	}
	sdk := filepath.Join(root, ASSDKDir)
	asc := filepath.Join(sdk, "node_modules", ".bin", "asc")
	if !fileExists(asc) {
		return "", fmt.Errorf("build assemblyscript guest %s: no compiler at %s: run scripts/setup.sh (make setup), which runs npm ci in %s", dir, asc, sdk)
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", fmt.Errorf("build assemblyscript guest %s: node not found: install Node.js and npm, then run scripts/setup.sh", dir)
	}
	sdkSrcs, err := filepath.Glob(filepath.Join(sdk, "assembly", "*.ts"))
	if err != nil {
		return "", err
	}
	sort.Strings(sdkSrcs)
	srcs = append(srcs, sdkSrcs...)
	srcs = append(srcs, filepath.Join(sdk, "package-lock.json"))
	rel, err := filepath.Rel(root, entry)
	if err != nil {
		return "", err
	}
	args := append([]string{rel}, ASFlags...)
	key, err := toolHash(ctx, asc, root, args, srcs)
	if err != nil {
		return "", err
	}
	out, hit, err := cachedGuest(name, key)
	if hit || err != nil {
		return out, err
	}
	tmp := out + ".tmp"
	args = append(args, "-o", tmp)
	cmd := exec.CommandContext(ctx, asc, args...)
	cmd.Dir = root
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build assemblyscript guest %s: %w\n(cd %s && %s %s)\n%s", dir, err, root, asc, strings.Join(args, " "), output.String())
	}
	return out, os.Rename(tmp, out)
}

// asSources returns a guest's entry file, the files its build depends on
// (every .ts file beside the entry) and its build's name: "hello-assemblyscript"
// for examples/hello/assemblyscript, "overflow" for testdata/asguests/overflow.ts.
func asSources(abs string) (entry string, srcs []string, name string, err error) {
	st, err := os.Stat(abs)
	if err != nil {
		return "", nil, "", err
	}
	dir := abs
	if st.IsDir() {
		entry = filepath.Join(abs, "index.ts")
		name = filepath.Base(abs)
		if name == "assemblyscript" {
			name = filepath.Base(filepath.Dir(abs)) + "-assemblyscript"
		}
	} else {
		if !strings.HasSuffix(abs, ".ts") {
			return "", nil, "", fmt.Errorf("build assemblyscript guest %s: not a directory or a .ts file", abs)
		}
		entry = abs
		dir = filepath.Dir(abs)
		name = strings.TrimSuffix(filepath.Base(abs), ".ts")
	}
	if !fileExists(entry) {
		return "", nil, "", fmt.Errorf("build assemblyscript guest %s: no entry file %s", abs, entry)
	}
	srcs, err = filepath.Glob(filepath.Join(dir, "*.ts"))
	if err != nil {
		return "", nil, "", err
	}
	sort.Strings(srcs)
	return entry, srcs, name, nil
}
