package hosttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/store/mem"
)

// Case is one test case of a directory: NAME.event.json, NAME.expect.json
// and, optionally, NAME.state.json.
type Case struct {
	Name                  string
	EventPath, ExpectPath string
	StatePath             string // empty when the case has none
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Case Case
	Info host.ExecutionInfo
	// State is the in-memory store after the call (empty when the suite's
	// HostOptions supplied another store), to compare state across builds.
	State mem.Snapshot
	Diffs []string // empty when the case passed
	Err   error    // the case could not run (bad files, module refused)
}

// Passed reports whether the case ran and matched.
func (r CaseResult) Passed() bool { return r.Err == nil && len(r.Diffs) == 0 }

// Cases lists the cases of dir, sorted by name. An event without an
// expectation is an error, so a forgotten file never passes silently.
func Cases(dir string) ([]Case, error) {
	events, err := filepath.Glob(filepath.Join(dir, "*.event.json"))
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("no *.event.json cases in %s", dir)
	}
	sort.Strings(events)
	var cases []Case
	for _, ev := range events {
		name := strings.TrimSuffix(filepath.Base(ev), ".event.json")
		c := Case{Name: name, EventPath: ev, ExpectPath: filepath.Join(dir, name+".expect.json")}
		if _, err := os.Stat(c.ExpectPath); err != nil {
			return nil, fmt.Errorf("case %s: %s is missing", name, filepath.Base(c.ExpectPath))
		}
		if sp := filepath.Join(dir, name+".state.json"); fileExists(sp) {
			c.StatePath = sp
		}
		cases = append(cases, c)
	}
	return cases, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Suite runs cases against one module. Each case gets a fresh host and
// store, so cases never see each other's state.
type Suite struct {
	// Wasm is the module under test.
	Wasm []byte
	// Function is the function's name (its KV namespace); default "test".
	Function string
	// Options apply to every case's function (grants, config, limits).
	Options []FunctionOption
	// State is seeded before every case, under the case's own state file.
	State State
	// HostOptions configure each case's host.
	HostOptions Options
}

// SuiteFile is the optional suite.json of a cases directory: what the
// function under test is granted and configured with, so the directory
// alone says how to run it.
//
//	{"grants": ["props", "emit"], "config": {"unit": "C"}, "function": "temperature"}
//
// allowed_hosts is the http capability's allow-list, as on deploy.
type SuiteFile struct {
	Grants       []string          `json:"grants,omitempty"`
	Config       map[string]string `json:"config,omitempty"`
	Function     string            `json:"function,omitempty"`
	AllowedHosts []string          `json:"allowed_hosts,omitempty"`
}

// SuiteFileName is the name of a cases directory's SuiteFile.
const SuiteFileName = "suite.json"

// ReadSuiteFile reads dir's suite.json; a directory without one gets the zero value.
func ReadSuiteFile(dir string) (SuiteFile, error) {
	var sf SuiteFile
	b, err := os.ReadFile(filepath.Join(dir, SuiteFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return sf, nil
	}
	if err != nil {
		return sf, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sf); err != nil {
		return sf, fmt.Errorf("parse %s: %w", filepath.Join(dir, SuiteFileName), err)
	}
	return sf, nil
}

// WithDir returns s with dir's suite.json applied under s's own options
// (which win).
func (s Suite) WithDir(dir string) (Suite, error) {
	sf, err := ReadSuiteFile(dir)
	if err != nil {
		return s, err
	}
	var opts []FunctionOption
	if len(sf.Grants) > 0 {
		g, err := abi.ParseGrants(strings.Join(sf.Grants, ","))
		if err != nil {
			return s, fmt.Errorf("%s: %w", SuiteFileName, err)
		}
		opts = append(opts, Grant(g.List()...))
	}
	for k, v := range sf.Config {
		opts = append(opts, Config(k, v))
	}
	if len(sf.AllowedHosts) > 0 {
		opts = append(opts, AllowHosts(sf.AllowedHosts...))
	}
	s.Options = append(opts, s.Options...)
	if s.Function == "" {
		s.Function = sf.Function
	}
	return s, nil
}

// Run runs every case of dir, applying dir's suite.json first.
func (s Suite) Run(ctx context.Context, dir string) ([]CaseResult, error) {
	cases, err := Cases(dir)
	if err != nil {
		return nil, err
	}
	if s, err = s.WithDir(dir); err != nil {
		return nil, err
	}
	out := make([]CaseResult, 0, len(cases))
	for _, c := range cases {
		out = append(out, s.RunCase(ctx, c))
	}
	return out, nil
}

// RunCase runs one case.
func (s Suite) RunCase(ctx context.Context, c Case) CaseResult {
	r := CaseResult{Case: c}
	ev, err := ReadEvent(c.EventPath)
	if err != nil {
		r.Err = err
		return r
	}
	expect, err := os.ReadFile(c.ExpectPath)
	if err != nil {
		r.Err = fmt.Errorf("read expectation: %w", err)
		return r
	}
	state := s.State
	if c.StatePath != "" {
		cs, err := ReadState(c.StatePath)
		if err != nil {
			r.Err = err
			return r
		}
		state = state.Merge(cs)
	}
	info, snap, err := s.invoke(ctx, ev, state)
	if err != nil {
		r.Err = err
		return r
	}
	r.Info, r.State = info, snap
	got, err := json.Marshal(info)
	if err != nil {
		r.Err = err
		return r
	}
	r.Diffs, r.Err = Match(expect, got)
	return r
}

// Invoke runs the suite's module once on ev with state seeded, on a fresh
// host; it is what `wasmfaas test --event` does.
func (s Suite) Invoke(ctx context.Context, ev cloudevents.Event, state State) (host.ExecutionInfo, error) {
	info, _, err := s.invoke(ctx, ev, state)
	return info, err
}

// invoke is Invoke that also returns the in-memory store's contents after
// the call.
func (s Suite) invoke(ctx context.Context, ev cloudevents.Event, state State) (host.ExecutionInfo, mem.Snapshot, error) {
	h, err := New(s.HostOptions)
	if err != nil {
		return host.ExecutionInfo{}, mem.Snapshot{}, err
	}
	defer h.Close()
	name := s.Function
	if name == "" {
		name = "test"
	}
	opts := append([]FunctionOption(nil), s.Options...)
	for k, v := range state.Config {
		opts = append(opts, Config(k, v))
	}
	fn, err := h.Deploy(ctx, name, s.Wasm, opts...)
	if err != nil {
		return host.ExecutionInfo{}, mem.Snapshot{}, err
	}
	defer fn.Close(ctx)
	if err := h.Seed(ctx, name, state); err != nil {
		return host.ExecutionInfo{}, mem.Snapshot{}, err
	}
	info := h.Send(ctx, fn, ev)
	var snap mem.Snapshot
	if h.Store != nil {
		snap = h.Store.Dump()
	}
	return info, snap, nil
}
