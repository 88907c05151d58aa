package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/internal/jsembed"
	"github.com/wasmfaas/wasmfaas/store"
)

// Store backends of `wasmfaas test --store`.
const (
	storeMem       = "mem"
	storeJetStream = "jetstream"
)

func newTestCmd() *cobra.Command {
	var (
		eventPath string
		grants    []string
		config    []string
		statePath string
		name      string
		isolation string
		quiet     bool
		backend   string
	)
	cmd := &cobra.Command{
		Use:   "test MODULE.wasm [CASES_DIR]",
		Short: "Run a module on an event, or on a directory of test cases, in the in-process host",
		Long: `Run a module in the in-process host with an in-memory store, or with
--store jetstream on the JetStream store of an embedded NATS server (a fresh
one in a temporary directory for each case).

With --event, print the ExecutionInfo as JSON; exit 0 only if the status is ok.

Grants and config come from --grant/--config and from the suite.json
({"grants": [...], "config": {...}, "allowed_hosts": [...]}) of the cases
directory, or of the event file's directory.

With a directory, run every NAME.event.json against NAME.expect.json (a
partial ExecutionInfo: only the fields written are compared), seeding
NAME.state.json first when present; print one line per case and a final
"N passed, N failed" line; exit 0 only if every case passed.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			wasm, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("read module: %w", err)
			}
			var hopts hosttest.Options
			switch backend {
			case storeMem:
			case storeJetStream:
				hopts.OpenStore = func() (store.Store, func() error, error) { return jsembed.Open("wasmfaas-test") }
			default:
				return fmt.Errorf("--store %q: want %s or %s", backend, storeMem, storeJetStream)
			}
			suite := hosttest.Suite{Wasm: wasm, Function: name, HostOptions: hopts}
			extra, err := abi.ParseGrants(strings.Join(grants, ","))
			if err != nil {
				return err
			}
			suite.Options = append(suite.Options, hosttest.Grant(extra.List()...))
			if isolation != "" {
				suite.Options = append(suite.Options, hosttest.WithIsolation(host.Isolation(isolation)))
			}
			for _, kv := range config {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--config %q: want key=value", kv)
				}
				suite.Options = append(suite.Options, hosttest.Config(k, v))
			}
			if statePath != "" {
				if suite.State, err = hosttest.ReadState(statePath); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			switch {
			case len(args) == 2 && eventPath != "":
				return fmt.Errorf("give either --event or a cases directory, not both")
			case len(args) == 2:
				return runCases(cmd, suite, args[1], quiet)
			case eventPath == "":
				return fmt.Errorf("give --event EVENT.json or a cases directory")
			}
			ev, err := hosttest.ReadEvent(eventPath)
			if err != nil {
				return err
			}
			// An event taken from a cases directory runs as that directory's cases do.
			if suite, err = suite.WithDir(filepath.Dir(eventPath)); err != nil {
				return err
			}
			info, err := suite.Invoke(cmd.Context(), ev, suite.State)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			if err := enc.Encode(info); err != nil {
				return err
			}
			if info.Status != host.StatusOK {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&eventPath, "event", "", "structured-mode CloudEvent JSON file to send")
	f.StringSliceVar(&grants, "grant", nil, "capabilities to grant besides log,info,wasi and the cases directory's suite.json (kv, props, emit, config)")
	f.StringArrayVar(&config, "config", nil, "function config entry key=value (repeatable)")
	f.StringVar(&statePath, "state", "", "state fixture JSON seeded before each call")
	f.StringVar(&name, "name", "test", "function name (its KV namespace)")
	f.StringVar(&isolation, "isolation", "", "pooled or fresh")
	f.StringVar(&backend, "store", storeMem, "store backend: mem, or jetstream (an embedded NATS server per case)")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only failures and the summary")
	return cmd
}

func runCases(cmd *cobra.Command, suite hosttest.Suite, dir string, quiet bool) error {
	results, err := suite.Run(cmd.Context(), dir)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	passed, failed := 0, 0
	for _, r := range results {
		if r.Passed() {
			passed++
			if !quiet {
				fmt.Fprintf(out, "PASS %s (%s)\n", r.Case.Name, r.Info.Duration().Round(1000))
			}
			continue
		}
		failed++
		fmt.Fprintf(out, "FAIL %s\n", r.Case.Name)
		printFailure(out, r)
	}
	fmt.Fprintf(out, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return &exitError{code: 1}
	}
	return nil
}

func printFailure(out io.Writer, r hosttest.CaseResult) {
	if r.Err != nil {
		fmt.Fprintf(out, "    error: %v\n", r.Err)
		return
	}
	for _, d := range r.Diffs {
		fmt.Fprintf(out, "    %s\n", d)
	}
	if r.Info.Error != nil {
		fmt.Fprintf(out, "    (call ended %s: %s: %s)\n", r.Info.Status, r.Info.Error.Kind, r.Info.Error.Message)
	}
}
