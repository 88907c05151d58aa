package hosttest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// sdkImport marks a Go guest as an ABI v1 reactor; a main package without
// it is built as a WASI command.
const sdkImport = `"github.com/wasmfaas/wasmfaas/guest-sdks/go"`

var buildMu sync.Mutex

// BuildGo builds the Go guest in dir with the standard toolchain and returns
// the path of its .wasm: a reactor (-buildmode=c-shared) when it imports the
// Go SDK, a WASI command otherwise. Builds are cached under
// DefaultCacheDir()/guests by a hash of the sources of dir's module and of
// every local replace target, so an unchanged guest is not rebuilt.
func BuildGo(ctx context.Context, dir string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	root, err := moduleRoot(abs)
	if err != nil {
		return "", err
	}
	reactor, err := importsSDK(abs)
	if err != nil {
		return "", err
	}
	key, err := sourceHash(root, abs, reactor)
	if err != nil {
		return "", err
	}
	out := filepath.Join(DefaultCacheDir(), "guests", filepath.Base(abs)+"-"+key[:16]+".wasm")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	tmp := out + ".tmp"
	args := []string{"build", "-trimpath", "-o", tmp}
	if reactor {
		args = append(args, "-buildmode=c-shared")
	}
	args = append(args, ".")
	cmd := exec.CommandContext(ctx, goBin(), args...)
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build go guest %s: %w\n%s", dir, err, stderr.String())
	}
	return out, os.Rename(tmp, out)
}

func goBin() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func moduleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "go.mod")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}

func importsSDK(dir string) (bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		return false, fmt.Errorf("no Go files in %s", dir)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return false, err
		}
		if bytes.Contains(b, []byte(sdkImport)) {
			return true, nil
		}
	}
	return false, nil
}

// sourceHash hashes what the build depends on: the Go version, the build
// mode, the package directory, and every .go/go.mod/go.sum file of the
// module and of its local replace targets.
func sourceHash(root, pkg string, reactor bool) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version(), reactor, pkg)
	roots := []string{root}
	reps, err := localReplaces(root)
	if err != nil {
		return "", err
	}
	roots = append(roots, reps...)
	for _, r := range roots {
		var files []string
		err := filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != r && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if !d.IsDir() && (strings.HasSuffix(p, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		sort.Strings(files)
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				return "", err
			}
			fmt.Fprintln(h, f)
			_, err = io.Copy(h, fh)
			fh.Close()
			if err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func localReplaces(root string) ([]string, error) {
	f, err := os.Open(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "replace ")
		_, target, ok := strings.Cut(line, "=>")
		if !ok {
			continue
		}
		fields := strings.Fields(target)
		if len(fields) == 0 {
			continue
		}
		if t := fields[0]; strings.HasPrefix(t, "./") || strings.HasPrefix(t, "../") || filepath.IsAbs(t) {
			if !filepath.IsAbs(t) {
				t = filepath.Join(root, t)
			}
			out = append(out, t)
		}
	}
	return out, sc.Err()
}
