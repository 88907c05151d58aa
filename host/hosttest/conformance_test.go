package hosttest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// language is one guest language: its name, which is also the directory of
// an example's version in it (examples/hello/c), and how to build that
// directory into a .wasm.
type language struct {
	name  string
	build func(ctx context.Context, dir string) (string, error)
}

// languages are the guest languages every example is written in. Adding a
// language is adding a line here; every example must then have it.
var languages = []language{
	{"go", hosttest.BuildGo},
	{"c", hosttest.BuildC},
	{"rust", hosttest.BuildRust},
	{"assemblyscript", hosttest.BuildAssemblyScript},
}

// excused lists, per example, the languages it is deliberately not written
// in, with the reason. Every other language must have a version that builds
// and passes; an excused one must not have a version (so the excuse cannot
// go stale). The Makefile's SKIP_<lang> lists say the same.
var excused = map[string]map[string]string{
	"wasi-upper": {"assemblyscript": "a WASI command example (event on stdin, result on stdout); AssemblyScript guests are ABI v1 reactors"},
}

// TestConformanceExcuses checks that every excuse names an example that
// exists, a language of languages and a reason, and that the excused
// version really is absent.
func TestConformanceExcuses(t *testing.T) {
	known := map[string]bool{}
	for _, l := range languages {
		known[l.name] = true
	}
	for ex, langs := range excused {
		require.DirExists(t, filepath.Join(repoRoot, "examples", ex, "testdata"), "excused example %s", ex)
		for lang, why := range langs {
			assert.True(t, known[lang], "example %s is excused from unknown language %s", ex, lang)
			assert.NotEmpty(t, why, "example %s is excused from %s without a reason", ex, lang)
			assert.NoDirExists(t, filepath.Join(repoRoot, "examples", ex, lang), "example %s has a %s version but is excused from it: drop the excuse", ex, lang)
		}
	}
}

// TestConformance runs every testdata case of every example through every
// language's build (but the excused ones) and asserts that each passes its expect file and that all
// languages produce the same ExecutionInfo (ignoring ids, timings and
// memory) and the same final store.
func TestConformance(t *testing.T) {
	examples, err := filepath.Glob(filepath.Join(repoRoot, "examples", "*", "testdata"))
	require.NoError(t, err)
	require.NotEmpty(t, examples)
	for _, td := range examples {
		ex := filepath.Dir(td)
		t.Run(filepath.Base(ex), func(t *testing.T) {
			cases, err := hosttest.Cases(td)
			require.NoError(t, err)
			var langs []language
			for _, lang := range languages {
				if why, ok := excused[filepath.Base(ex)][lang.name]; ok {
					t.Logf("example %s has no %s version: %s", filepath.Base(ex), lang.name, why)
					require.NoDirExists(t, filepath.Join(ex, lang.name), "example %s is excused from %s but has a version", filepath.Base(ex), lang.name)
					continue
				}
				langs = append(langs, lang)
			}
			suites := make([]hosttest.Suite, len(langs))
			for i, lang := range langs {
				path, err := lang.build(t.Context(), filepath.Join(ex, lang.name))
				require.NoError(t, err, "example %s has no %s version that builds", filepath.Base(ex), lang.name)
				wasm, err := os.ReadFile(path)
				require.NoError(t, err)
				suites[i], err = hosttest.Suite{Wasm: wasm}.WithDir(td)
				require.NoError(t, err)
			}
			for _, c := range cases {
				t.Run(c.Name, func(t *testing.T) {
					// One subtest per language, so `go test -v` lists every
					// language of every case; the first is the reference.
					var want conformance
					for i, lang := range langs {
						t.Run(lang.name, func(t *testing.T) {
							r := suites[i].RunCase(t.Context(), c)
							require.NoError(t, r.Err, lang.name)
							assert.Empty(t, r.Diffs, "%s: case %s does not match its expect file (error: %+v)", lang.name, c.Name, r.Info.Error)
							got := normalize(t, r)
							if i == 0 {
								want = got
								return
							}
							require.NotEmpty(t, want.Info, "the reference language %s failed this case", langs[0].name)
							assert.JSONEq(t, want.Info, got.Info, "ExecutionInfo of %s differs from %s's", lang.name, langs[0].name)
							assert.JSONEq(t, want.State, got.State, "store after %s differs from %s's", lang.name, langs[0].name)
						})
					}
				})
			}
		})
	}
}

// conformance is what must be equal across languages, as normalized JSON.
type conformance struct{ Info, State string }

// normalize drops what legitimately differs between builds and runs (call
// id, module digest, timings, memory, the ids and times of emitted and
// scheduled events)
// and re-encodes every JSON value, so that numbers compare by value and
// JSON texts (result bodies, property values) by content.
func normalize(t *testing.T, r hosttest.CaseResult) conformance {
	t.Helper()
	b, err := json.Marshal(r.Info)
	require.NoError(t, err)
	var info map[string]any
	require.NoError(t, json.Unmarshal(b, &info))
	for _, k := range []string{"call_id", "module_digest", "start", "duration_ns", "memory_bytes"} {
		delete(info, k)
	}
	if emitted, ok := info["emitted"].([]any); ok {
		for _, e := range emitted {
			if m, ok := e.(map[string]any); ok {
				delete(m, "id")
				delete(m, "time")
			}
		}
	}
	if scheduled, ok := info["scheduled"].([]any); ok {
		for _, s := range scheduled {
			if m, ok := s.(map[string]any); ok {
				delete(m, "at")
				if e, ok := m["event"].(map[string]any); ok {
					delete(e, "id")
					delete(e, "time")
				}
			}
		}
	}
	state := map[string]any{"kv": r.State.KV, "extended": r.State.Extended}
	props := map[string]map[string]any{}
	for subj, ps := range r.State.Properties {
		props[subj] = map[string]any{}
		for name, v := range ps {
			var x any
			require.NoError(t, json.Unmarshal(v, &x), "property %s of %s", name, subj)
			props[subj][name] = x
		}
	}
	state["properties"] = props
	ib, err := json.Marshal(info)
	require.NoError(t, err)
	sb, err := json.Marshal(state)
	require.NoError(t, err)
	return conformance{Info: string(ib), State: string(sb)}
}
