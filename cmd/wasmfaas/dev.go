package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/internal/functions"
)

// devPoll is how often `dev` looks for changed sources.
const devPoll = 200 * time.Millisecond

// devLang is a guest language dev can build: how it recognises a source
// folder and how it builds one (the builds of make guests, cached).
type devLang struct {
	name  string
	match func(dir string) bool
	build func(ctx context.Context, dir string) (string, error)
}

func hasFile(dir string, patterns ...string) bool {
	for _, p := range patterns {
		if m, _ := filepath.Glob(filepath.Join(dir, p)); len(m) > 0 {
			return true
		}
	}
	return false
}

var devLangs = []devLang{
	{"rust", func(d string) bool { return hasFile(d, "Cargo.toml") }, hosttest.BuildRust},
	{"assemblyscript", func(d string) bool { return hasFile(d, "*.ts") }, hosttest.BuildAssemblyScript},
	{"c", func(d string) bool { return hasFile(d, "*.c") }, hosttest.BuildC},
	{"go", func(d string) bool { return hasFile(d, "*.go") }, hosttest.BuildGo},
}

func newDevCmd() *cobra.Command {
	var name, dataDir string
	var grants, config []string
	cmd := &cobra.Command{
		Use:   "dev DIR",
		Short: "Watch a function's source folder: rebuild, redeploy and rerun its test cases on every change",
		Long: `Watch a function's source folder (Go, C, Rust or AssemblyScript, recognised by
its files), and on every change: build the .wasm with the same build as make
guests, deploy it to the server (--server; when none answers there, an
embedded one is started on http.addr with its state in --data-dir), and rerun
the testdata/ cases beside the folder (examples/NAME/testdata for
examples/NAME/go) in the in-process host, printing each result. A build that
fails prints the compiler's output and leaves the deployed revision serving.

The function is named after the example (--name overrides), granted and
configured as the cases' suite.json says, plus --grant and --config.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return fmt.Errorf("dev: %s is not a folder", args[0])
			}
			var lang *devLang
			for i := range devLangs {
				if devLangs[i].match(dir) {
					lang = &devLangs[i]
					break
				}
			}
			if lang == nil {
				return fmt.Errorf("dev: %s has no Go, C, Rust (Cargo.toml) or AssemblyScript (.ts) sources", args[0])
			}
			d := &devSession{dir: dir, lang: lang, out: cmd.OutOrStdout(), name: name, grants: splitList(grants)}
			if err := d.resolve(config); err != nil {
				return err
			}
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			d.client = c
			ctx := cmd.Context()
			if !d.serverUp() {
				cfg, _, err := loadConfig(cmd.Flags(), os.Environ(), serveScope)
				if err != nil {
					return err
				}
				if dataDir != "" {
					cfg.DataDir = dataDir
				}
				c.base = "http://" + cfg.HTTP.Addr
				fmt.Fprintf(d.out, "no server at %s: starting one on %s (state in %s)\n", d.client.base, cfg.HTTP.Addr, cfg.DataDir)
				sctx, stop := context.WithCancel(ctx)
				done := make(chan error, 1)
				go func() { done <- serve(sctx, cfg, io.Discard) }()
				defer func() { stop(); <-done }()
				if err := d.waitServer(ctx, done); err != nil {
					return err
				}
			}
			return d.watch(ctx)
		},
	}
	clientFlags(cmd)
	cmd.Flags().StringVar(&name, "name", "", "function name (default: the example's folder name)")
	cmd.Flags().StringVar(&dataDir, "data-dir", ".wasmfaas-dev", "state of the embedded server dev starts when none answers")
	cmd.Flags().StringSliceVar(&grants, "grant", nil, "capabilities to grant besides suite.json's")
	cmd.Flags().StringArrayVar(&config, "config", nil, "function config entry key=value (repeatable), besides suite.json's")
	return cmd
}

type devSession struct {
	dir    string
	lang   *devLang
	out    io.Writer
	client *client
	name   string
	grants []string
	config map[string]string
	hosts  []string // allowed_hosts from suite.json
	cases  string   // testdata folder, "" if none
	rev    uint64
}

// resolve finds the cases folder, the function's name, grants and config.
func (d *devSession) resolve(config []string) error {
	example := d.dir
	if filepath.Base(d.dir) == d.lang.name {
		example = filepath.Dir(d.dir)
	}
	for _, cand := range []string{filepath.Join(d.dir, "testdata"), filepath.Join(example, "testdata")} {
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			d.cases = cand
			break
		}
	}
	if d.name == "" {
		d.name = filepath.Base(example)
	}
	if err := functions.CheckName("function", d.name); err != nil {
		return fmt.Errorf("dev: %w (use --name)", err)
	}
	d.config = map[string]string{}
	if d.cases != "" {
		if b, err := os.ReadFile(filepath.Join(d.cases, "suite.json")); err == nil {
			var suite struct {
				Grants       []string          `json:"grants"`
				Config       map[string]string `json:"config"`
				AllowedHosts []string          `json:"allowed_hosts"`
			}
			if err := json.Unmarshal(b, &suite); err != nil {
				return fmt.Errorf("dev: %s: %w", filepath.Join(d.cases, "suite.json"), err)
			}
			d.grants = append(suite.Grants, d.grants...)
			d.hosts = suite.AllowedHosts
			for k, v := range suite.Config {
				d.config[k] = v
			}
		}
	}
	for _, kv := range config {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("--config %q: want key=value", kv)
		}
		d.config[k] = v
	}
	return nil
}

func (d *devSession) serverUp() bool {
	resp, _, err := d.client.do("GET", "/healthz", "", nil, nil)
	return err == nil && resp.StatusCode == http.StatusOK
}

func (d *devSession) waitServer(ctx context.Context, done <-chan error) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, _, err := d.client.do("GET", "/readyz", "", nil, nil)
		if err == nil && resp.StatusCode == http.StatusOK {
			return nil
		}
		select {
		case err := <-done:
			return fmt.Errorf("dev: the embedded server stopped: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// snapshot is the modification time and size of every source file under
// the folder and the cases (build output and dependencies excluded).
func (d *devSession) snapshot() string {
	var b strings.Builder
	for _, root := range []string{d.dir, d.cases} {
		if root == "" {
			continue
		}
		_ = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if e.IsDir() && path != root && (e.Name() == "target" || e.Name() == "node_modules" || strings.HasPrefix(e.Name(), ".")) {
				return filepath.SkipDir
			}
			if info, err := e.Info(); err == nil && !e.IsDir() {
				fmt.Fprintf(&b, "%s %d %d\n", path, info.ModTime().UnixNano(), info.Size())
			}
			return nil
		})
	}
	return b.String()
}

// watch builds, deploys and tests now and at every change until ctx ends.
func (d *devSession) watch(ctx context.Context) error {
	fmt.Fprintf(d.out, "watching %s (%s) as function %s; Ctrl-C stops\n", d.dir, d.lang.name, d.name)
	last := ""
	tick := time.NewTicker(devPoll)
	defer tick.Stop()
	for {
		if snap := d.snapshot(); snap != last {
			last = snap
			d.cycle(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// cycle is one build, deploy and test run; failures are printed, never
// fatal.
func (d *devSession) cycle(ctx context.Context) {
	start := time.Now()
	path, err := d.lang.build(ctx, d.dir)
	if err != nil {
		fmt.Fprintf(d.out, "build failed (the deployed revision keeps serving):\n%v\n", err)
		return
	}
	built := time.Now()
	wasm, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(d.out, "read %s: %v\n", path, err)
		return
	}
	// The server compiles the module as the cases run here: both take
	// most of a cycle for a Go guest, so they run at once.
	deployed := make(chan error, 1)
	go func() { deployed <- d.deploy(wasm) }()
	report := d.runCases(ctx, wasm)
	if err := <-deployed; err != nil {
		fmt.Fprintf(d.out, "deploy failed (the deployed revision keeps serving): %v\n", err)
	} else {
		fmt.Fprintf(d.out, "built in %s, deployed %s revision %d (%s)\n", humanDuration(built.Sub(start)), d.name, d.rev, humanSize(int64(len(wasm))))
	}
	if report != "" {
		fmt.Fprintf(d.out, "%s (%s after the build)\n", report, humanDuration(time.Since(built)))
	}
}

// runCases runs the cases on wasm in the in-process host, printing each
// failure, and returns the summary line ("" without cases).
func (d *devSession) runCases(ctx context.Context, wasm []byte) string {
	if d.cases == "" {
		return ""
	}
	suite := hosttest.Suite{Wasm: wasm, Function: d.name}
	suite, err := suite.WithDir(d.cases)
	if err != nil {
		return fmt.Sprintf("cases: %v", err)
	}
	results, err := suite.Run(ctx, d.cases)
	if err != nil {
		return fmt.Sprintf("cases: %v", err)
	}
	passed, failed := 0, 0
	for _, r := range results {
		if r.Passed() {
			passed++
			continue
		}
		failed++
		fmt.Fprintf(d.out, "FAIL %s\n", r.Case.Name)
		printFailure(d.out, r)
	}
	return fmt.Sprintf("cases: %d passed, %d failed", passed, failed)
}

func (d *devSession) deploy(wasm []byte) error {
	b, err := d.client.call("POST", "/v1/modules", "application/wasm", wasm)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	var mf struct{ Digest string }
	if err := json.Unmarshal(b, &mf); err != nil {
		return err
	}
	spec := functions.FunctionSpec{Module: mf.Digest, Grants: d.grants, Config: d.config, AllowedHosts: d.hosts}
	b, err = d.client.call("PUT", "/v1/functions/"+url.PathEscape(d.name), "application/json", jsonBody(spec))
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return ae
		}
		return err
	}
	var info functions.FunctionInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return err
	}
	d.rev = info.Revision
	return nil
}
