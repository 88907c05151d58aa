package hosttest_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/store/storetest"
)

// buildC builds a C guest (a directory or one .c file) under the repository.
func buildC(t testing.TB, path string) []byte {
	t.Helper()
	return buildWith(t, hosttest.BuildC, path)
}

// TestCExampleImports checks that the linker keeps only the host functions
// a C example uses, so that each needs no capability beyond its suite.json:
// hello must run with the defaults.
func TestCExampleImports(t *testing.T) {
	h := newHost(t)
	for _, tc := range []struct {
		name string
		mode abi.Mode
		caps []abi.Capability // beyond the defaults
	}{
		{"hello", abi.ModeReactor, nil},
		{"counter", abi.ModeReactor, []abi.Capability{abi.CapProps}},
		{"temperature", abi.ModeReactor, []abi.Capability{abi.CapEmit, abi.CapProps}},
		{"wasi-upper", abi.ModeCommand, nil},
		{"reminder", abi.ModeReactor, []abi.Capability{abi.CapConfig, abi.CapProps, abi.CapSchedule}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := h.Load(t.Context(), buildC(t, filepath.Join("examples", tc.name, "c")))
			require.NoError(t, err)
			t.Logf("%s imports %v", tc.name, m.Imports)
			assert.Equal(t, tc.mode, m.Mode)
			assert.ElementsMatch(t, tc.caps, extraCapabilities(m), "imports: %v", m.Imports)
		})
	}
}

// TestCBadInput: C guests that misuse the ABI end as trap or error with a
// clear message, and the next call on the same function is ok.
func TestCBadInput(t *testing.T) {
	runBadInput(t, func(t *testing.T, guest string) []byte {
		return buildC(t, filepath.Join("host", "hosttest", "testdata", "cguests", guest+".c"))
	}, append(abiMisuse(), badInputCase{
		name: "undefined behaviour under UBSan", guest: "ubsan",
		status: host.StatusTrap, message: []string{"unreachable"},
	}))
}

// TestCJSONHelpers compares the C SDK's JSON helpers with encoding/json and
// fmt on edge values, random floats and naughty strings, through one pooled
// instance built with UBSan.
func TestCJSONHelpers(t *testing.T) {
	h := newHost(t)
	fn, err := h.Deploy(t.Context(), "jsoncheck", buildC(t, "host/hosttest/testdata/cguests/jsoncheck.c"))
	require.NoError(t, err)
	call := func(typ string, data []byte) string {
		t.Helper()
		ev := cloudevents.NewEvent()
		ev.SetID("json")
		ev.SetSource("test")
		ev.SetType(typ)
		require.NoError(t, ev.SetData("application/octet-stream", data))
		info := h.Send(t.Context(), fn, ev)
		require.Equal(t, host.StatusOK, info.Status, "%s %q: %+v", typ, data, info.Error)
		return string(info.Result.Body)
	}

	floats := []float64{0, math.Copysign(0, -1), 1, 10, 47.5, -273.15, 0.1, 1e20, 1e21, 1e-6, 1e-7, 123456789.123,
		1e6, 999999, 1234567, 0.0001, 0.00001, 5e-324, math.MaxFloat64, math.Pi, -1e-300}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		floats = append(floats, r.NormFloat64()*math.Pow(10, float64(r.IntN(60)-30)))
	}
	for _, f := range floats {
		in := []byte(strconv.FormatFloat(f, 'g', -1, 64))
		want, err := json.Marshal(f)
		require.NoError(t, err)
		assert.Equal(t, string(want), call("number", in), "wf_json_append_number(%s)", in)
		assert.Equal(t, fmt.Sprintf("%g", f), call("g", in), "wf_buf_append_float(%s)", in)
	}

	strs, err := storetest.NaughtyStrings()
	require.NoError(t, err)
	strs = append(strs, "\xff", "a\xc0\x80b", "\xed\xa0\x80", "\u2028\u2029", "<&>", "\x00\x01\x1f\x7f", "\U0001F600")
	for _, s := range strs {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		assert.Equal(t, string(want), call("quote", []byte(s)), "wf_json_quote(%q)", s)
		var dec string
		require.NoError(t, json.Unmarshal(want, &dec))
		assert.Equal(t, dec, call("string", want), "wf_json_string(%s)", want)
	}
	for in, want := range map[string]string{
		`"\ud83d\ude00"`: "\U0001F600", `"\ud800x"`: "\ufffdx", `"a\/b\n"`: "a/b\n",
	} {
		assert.Equal(t, want, call("string", []byte(in)), "wf_json_string(%s)", in)
	}

	deep := make([]byte, 0, 20000)
	for range 10000 {
		deep = append(deep, '[')
	}
	for in, want := range map[string]string{
		`{"a": [1, {"b": null}]}`: "object", ` [] `: "array", `"x"`: "string", `-0.5e+3`: "number",
		`true`: "bool", `null`: "null", `01`: "invalid", `{"a" 1}`: "invalid", `[1,]`: "invalid",
		`"\x01"`: "invalid", ``: "invalid", `1 2`: "invalid", string(deep): "invalid",
	} {
		assert.Equal(t, want, call("type", []byte(in)), "wf_json_type(%.40s)", in)
	}
}
