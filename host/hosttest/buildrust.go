package hosttest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// The Rust toolchain BuildRust runs: Debian's cargo and rustc 1.63 with the
// wasm32-wasi standard library, which scripts/setup.sh installs. They are
// called by path, and cargo is given RUSTC explicitly, because a rustup
// toolchain earlier on PATH usually has no wasm32-wasi standard library.
const (
	RustCargo    = "/usr/bin/cargo"
	RustCompiler = "/usr/bin/rustc"
	RustTarget   = "wasm32-wasi"
)

// rustArgs are cargo's arguments for every Rust guest. The profile
// (panic = "abort", opt-level, lto, strip) is the package's own, in its
// Cargo.toml, so that `cargo build` by hand builds the same module.
var rustArgs = []string{"build", "--release", "--offline", "--target", RustTarget, "--message-format=json-render-diagnostics"}

// BuildRust builds the cargo package in dir for wasm32-wasi and returns the
// path of its .wasm: a reactor when the package is a cdylib using the
// repository's guest-sdks/rust (found by walking up from dir), a WASI
// command when it is a bin. Cargo runs offline (path dependencies only)
// with its target directory under the repository's build/cargo. Builds are
// cached under DefaultCacheDir()/guests by a hash of the toolchain's
// versions, the arguments, the package's sources and the SDK's, so an
// unchanged guest is not rebuilt.
func BuildRust(ctx context.Context, dir string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if !fileExists(filepath.Join(abs, "Cargo.toml")) {
		return "", fmt.Errorf("build rust guest %s: no Cargo.toml", dir)
	}
	version, err := rustToolchain(ctx)
	if err != nil {
		return "", fmt.Errorf("build rust guest %s: %w", dir, err)
	}
	sdk, err := findRustSDK(abs)
	if err != nil {
		return "", err
	}
	root := filepath.Dir(filepath.Dir(sdk)) // <repo>/guest-sdks/rust
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%q\n%s\n", version, rustArgs, abs)
	for _, d := range []string{abs, sdk} {
		if err := hashRustSources(h, d); err != nil {
			return "", err
		}
	}
	key := hex.EncodeToString(h.Sum(nil))
	name := filepath.Base(abs)
	if name == "rust" {
		name = filepath.Base(filepath.Dir(abs)) + "-rust"
	}
	out, hit, err := cachedGuest(name, key)
	if hit || err != nil {
		return out, err
	}
	cmd := exec.CommandContext(ctx, RustCargo, rustArgs...)
	cmd.Dir = abs
	cmd.Env = append(os.Environ(),
		"RUSTC="+RustCompiler,
		"CARGO_TARGET_DIR="+filepath.Join(root, "build", "cargo"),
		"CARGO_NET_OFFLINE=true",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build rust guest %s: %w\nRUSTC=%s %s %s\n%s", dir, err, RustCompiler, RustCargo, strings.Join(rustArgs, " "), stderr.String())
	}
	wasm, err := cargoArtifact(&stdout, filepath.Join(abs, "Cargo.toml"))
	if err != nil {
		return "", fmt.Errorf("build rust guest %s: %w", dir, err)
	}
	b, err := os.ReadFile(wasm)
	if err != nil {
		return "", err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return "", err
	}
	return out, os.Rename(tmp, out)
}

// rustToolchain checks that Debian's cargo and rustc and rustc's wasm32-wasi
// standard library are installed and returns their versions.
func rustToolchain(ctx context.Context) (string, error) {
	const hint = "run scripts/setup.sh (make setup) to install Debian's rustc, cargo and libstd-rust-dev-wasm32"
	for _, p := range []string{RustCargo, RustCompiler} {
		if !fileExists(p) {
			return "", fmt.Errorf("%s not found: %s", p, hint)
		}
	}
	rustc, err := exec.CommandContext(ctx, RustCompiler, "-vV").Output()
	if err != nil {
		return "", fmt.Errorf("%s -vV: %w", RustCompiler, err)
	}
	cargo, err := exec.CommandContext(ctx, RustCargo, "-V").Output()
	if err != nil {
		return "", fmt.Errorf("%s -V: %w", RustCargo, err)
	}
	sysroot, err := exec.CommandContext(ctx, RustCompiler, "--print", "sysroot").Output()
	if err != nil {
		return "", fmt.Errorf("%s --print sysroot: %w", RustCompiler, err)
	}
	std, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(sysroot)), "lib", "rustlib", RustTarget, "lib", "libstd-*.rlib"))
	if len(std) == 0 {
		return "", fmt.Errorf("%s has no %s standard library: %s", RustCompiler, RustTarget, hint)
	}
	return string(rustc) + string(cargo), nil
}

// findRustSDK walks up from dir to the repository's guest-sdks/rust.
func findRustSDK(dir string) (string, error) {
	root, err := findAbove(dir, filepath.Join("guest-sdks", "rust", "Cargo.toml"))
	return filepath.Join(root, "guest-sdks", "rust"), err
}

// hashRustSources hashes what cargo reads from a package: its manifest,
// lock file, cargo config and every .rs file, skipping target directories.
func hashRustSources(h io.Writer, dir string) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && (d.Name() == "target" || (strings.HasPrefix(d.Name(), ".") && d.Name() != ".cargo")) {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(p, ".rs"), d.Name() == "Cargo.toml", d.Name() == "Cargo.lock",
			d.Name() == "config.toml" && filepath.Base(filepath.Dir(p)) == ".cargo":
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return nil
}

// cargoArtifact finds, in cargo's JSON messages, the one .wasm built for the
// package whose manifest is manifest: a cdylib's or a bin's.
func cargoArtifact(stdout io.Reader, manifest string) (string, error) {
	var found []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		var msg struct {
			Reason       string   `json:"reason"`
			ManifestPath string   `json:"manifest_path"`
			Filenames    []string `json:"filenames"`
		}
		if json.Unmarshal(sc.Bytes(), &msg) != nil || msg.Reason != "compiler-artifact" || msg.ManifestPath != manifest {
			continue
		}
		for _, f := range msg.Filenames {
			if strings.HasSuffix(f, ".wasm") {
				found = append(found, f)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read cargo's output: %w", err)
	}
	switch len(found) {
	case 0:
		return "", errors.New("cargo built no .wasm: the package needs a [lib] crate-type = [\"cdylib\"] (a handler) or a bin (a WASI command)")
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("cargo built %d .wasm files (%s); a guest package builds exactly one", len(found), strings.Join(found, ", "))
}
