package hosttest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// What the guest builders (BuildGo, BuildC, BuildRust,
// BuildAssemblyScript) share: where a build is cached and how its key is
// made.

// cachedGuest returns where the build of name with cache key key lives
// under DefaultCacheDir()/guests, and whether it is there already; the
// directory exists when it returns.
func cachedGuest(name, key string) (out string, hit bool, err error) {
	out = filepath.Join(DefaultCacheDir(), "guests", name+"-"+key[:16]+".wasm")
	if fileExists(out) {
		return out, true, nil
	}
	return out, false, os.MkdirAll(filepath.Dir(out), 0o755)
}

// findAbove returns the first directory at or above dir holding marker (a
// path relative to it), or why not.
func findAbove(dir, marker string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, marker)) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("no " + marker + " above " + dir)
		}
	}
}

// toolHash hashes what a build by tool depends on: the tool's version,
// the arguments and every source file, each by its path from root (so the
// cache survives moving the checkout).
func toolHash(ctx context.Context, tool, root string, args, srcs []string) (string, error) {
	version, err := exec.CommandContext(ctx, tool, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", tool, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%q\n", version, args)
	if err := hashFiles(h, root, srcs); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashFiles writes each file's path from root, length and contents to h.
func hashFiles(h io.Writer, root string, files []string) error {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, f)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", rel, len(b))
		h.Write(b)
	}
	return nil
}
