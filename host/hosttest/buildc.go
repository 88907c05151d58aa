package hosttest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// CCompiler is the C compiler BuildC runs: clang 14, which targets
// wasm32-wasi with Debian's wasi-libc. scripts/setup.sh installs it.
const CCompiler = "clang-14"

// DefaultWASISysroot is where scripts/setup.sh links the WASI sysroot;
// $WASI_SYSROOT overrides it.
const DefaultWASISysroot = "/usr/share/wasi-sysroot"

// CFlags are the flags of every C guest BuildC builds. UBSan in trap mode
// needs no runtime: undefined behaviour becomes an `unreachable`, which the
// host reports as a trap, so a test sees it instead of a wrong answer.
var CFlags = []string{
	"--target=wasm32-wasi", "-O2", "-Wall", "-Wextra", "-Werror",
	"-fsanitize=undefined", "-fsanitize-trap=undefined",
}

// cSDKInclude marks a C guest as an ABI v1 reactor; any other C guest is
// built as a WASI command.
var cSDKInclude = regexp.MustCompile(`(?m)^\s*#\s*include\s*["<]wasmfaas\.h[">]`)

// BuildC builds the C guest in dir (a directory of .c files, or one .c file
// with the .h files beside it) with clang and returns the path of its .wasm:
// a reactor linked with the repository's guest-sdks/c (found by walking up
// from dir) when a source includes "wasmfaas.h", a WASI command otherwise. Builds are cached under
// DefaultCacheDir()/guests by a hash of the compiler version, the flags, the
// guest's sources and the SDK's, so an unchanged guest is not rebuilt.
func BuildC(ctx context.Context, dir string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	srcs, name, err := cSources(abs)
	if err != nil {
		return "", err
	}
	reactor := false
	for _, s := range srcs {
		b, err := os.ReadFile(s)
		if err != nil {
			return "", err
		}
		reactor = reactor || cSDKInclude.Match(b)
	}
	cc, err := exec.LookPath(CCompiler)
	if err != nil {
		return "", fmt.Errorf("build c guest %s: %s not found: run scripts/setup.sh (make setup) to install the C toolchain", dir, CCompiler)
	}
	sysroot := os.Getenv("WASI_SYSROOT")
	if sysroot == "" {
		sysroot = DefaultWASISysroot
	}
	if !fileExists(filepath.Join(sysroot, "include", "stdio.h")) {
		return "", fmt.Errorf("build c guest %s: no WASI sysroot at %s: run scripts/setup.sh (make setup)", dir, sysroot)
	}
	args := append([]string{"--sysroot=" + sysroot}, CFlags...)
	if reactor {
		sdk, err := findCSDK(abs)
		if err != nil {
			return "", err
		}
		args = append(args, "-mexec-model=reactor", "-I", sdk)
		srcs = append(srcs, filepath.Join(sdk, "wasmfaas.h"), filepath.Join(sdk, "wasmfaas.c"))
	}
	key, err := toolHash(ctx, cc, "/", args, srcs)
	if err != nil {
		return "", err
	}
	out, hit, err := cachedGuest(name, key)
	if hit || err != nil {
		return out, err
	}
	tmp := out + ".tmp"
	args = append(args, "-o", tmp)
	for _, s := range srcs {
		if strings.HasSuffix(s, ".c") {
			args = append(args, s)
		}
	}
	cmd := exec.CommandContext(ctx, cc, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build c guest %s: %w\n%s %s\n%s", dir, err, cc, strings.Join(args, " "), stderr.String())
	}
	return out, os.Rename(tmp, out)
}

// cSources lists the .c and .h files of a guest and names its
// build: "hello-c" for examples/hello/c, "oob" for testdata/cguests/oob.c.
func cSources(abs string) ([]string, string, error) {
	st, err := os.Stat(abs)
	if err != nil {
		return nil, "", err
	}
	if !st.IsDir() {
		if !strings.HasSuffix(abs, ".c") {
			return nil, "", fmt.Errorf("build c guest %s: not a directory or a .c file", abs)
		}
		// One file of a directory of guests: the directory's headers are
		// its own too.
		hs, err := filepath.Glob(filepath.Join(filepath.Dir(abs), "*.h"))
		if err != nil {
			return nil, "", err
		}
		return append([]string{abs}, hs...), strings.TrimSuffix(filepath.Base(abs), ".c"), nil
	}
	var srcs []string
	for _, pat := range []string{"*.c", "*.h"} {
		m, err := filepath.Glob(filepath.Join(abs, pat))
		if err != nil {
			return nil, "", err
		}
		srcs = append(srcs, m...)
	}
	sort.Strings(srcs)
	if !containsC(srcs) {
		return nil, "", fmt.Errorf("no C files in %s", abs)
	}
	name := filepath.Base(abs)
	if name == "c" {
		name = filepath.Base(filepath.Dir(abs)) + "-c"
	}
	return srcs, name, nil
}

func containsC(srcs []string) bool {
	for _, s := range srcs {
		if strings.HasSuffix(s, ".c") {
			return true
		}
	}
	return false
}

// findCSDK walks up from dir to the repository's guest-sdks/c.
func findCSDK(dir string) (string, error) {
	root, err := findAbove(dir, filepath.Join("guest-sdks", "c", "wasmfaas.h"))
	return filepath.Join(root, "guest-sdks", "c"), err
}
