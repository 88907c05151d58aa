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

// buildAS builds an AssemblyScript guest (a directory or one .ts file)
// under the repository.
func buildAS(t testing.TB, path string) []byte {
	t.Helper()
	return buildWith(t, hosttest.BuildAssemblyScript, path)
}

// TestASExampleImports checks that the compiler keeps only the host
// functions an AssemblyScript example uses, so that each needs no
// capability beyond its suite.json: hello must run with the defaults (core,
// log, info and wasi, whose fd_write the SDK's abort uses).
func TestASExampleImports(t *testing.T) {
	h := newHost(t)
	for _, tc := range []struct {
		name string
		caps []abi.Capability // beyond the defaults
	}{
		{"hello", nil},
		{"counter", []abi.Capability{abi.CapProps}},
		{"temperature", []abi.Capability{abi.CapEmit, abi.CapProps}},
		{"reminder", []abi.Capability{abi.CapConfig, abi.CapProps, abi.CapSchedule}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := h.Load(t.Context(), buildAS(t, filepath.Join("examples", tc.name, "assemblyscript")))
			require.NoError(t, err)
			t.Logf("%s imports %v", tc.name, m.Imports)
			assert.Equal(t, abi.ModeReactor, m.Mode)
			assert.ElementsMatch(t, tc.caps, extraCapabilities(m), "imports: %v", m.Imports)
			sf, err := hosttest.ReadSuiteFile(filepath.Join(repoRoot, "examples", tc.name, "testdata"))
			require.NoError(t, err)
			var granted []abi.Capability
			for _, g := range sf.Grants {
				granted = append(granted, abi.Capability(g))
			}
			assert.ElementsMatch(t, granted, extraCapabilities(m), "imports beyond the defaults must be what suite.json grants")
		})
	}
}

// TestASScheduleAndResponse drives the SDK's scheduleAt, scheduleIn,
// cancelSchedule, setStatus and setHeader through an AssemblyScript guest:
// what the host records for good values, the SDK's own refusal of a
// negative delay (nothing reaches the host), and the sticky failures of an
// empty key, a status outside 100-599 and a header name that is not a token.
func TestASScheduleAndResponse(t *testing.T) {
	runScheduleGuest(t, buildAS(t, "host/hosttest/testdata/asguests/schedules.ts"), host.Header{Name: "X-Plan", Value: "at in gone"},
		func(t *testing.T, in host.Scheduled) { assert.Equal(t, "soon", string(in.Event.Data())) },
		[]scheduleStep{
			{"badkey", abi.KindInvalidSchedule, "scheduled event 0"},
			{"badstatus", abi.KindInvalidResponse, "42 is not an HTTP status code"},
			{"badheader", abi.KindInvalidResponse, "is not allowed in an HTTP header name"},
		})
}

// TestASBadInput: AssemblyScript guests that misuse the ABI through the raw
// imports, or abort, end as trap or error with a clear message, and the
// next call on the same function is ok.
func TestASBadInput(t *testing.T) {
	runBadInput(t, func(t *testing.T, guest string) []byte {
		return buildAS(t, filepath.Join("host", "hosttest", "testdata", "asguests", guest+".ts"))
	}, append(abiMisuse(), []badInputCase{
		{
			name: "throw", guest: "abort",
			status: host.StatusTrap, kind: abi.KindTrap,
			message: []string{"abort: the handler gave up at host/hosttest/testdata/asguests/abort.ts:", "unreachable"},
		},
		{
			name: "index out of range", guest: "abort", subject: "index",
			status: host.StatusTrap, kind: abi.KindTrap, message: []string{"abort: Index out of range at ~lib/"},
		},
		{
			name: "assertion", guest: "abort", subject: "assert",
			status: host.StatusTrap, kind: abi.KindTrap, message: []string{"abort: subject must be empty at host/hosttest/testdata/asguests/abort.ts:"},
		},
	}...))
}

// TestASJSONHelpers compares the AssemblyScript SDK's JSON helpers with
// encoding/json and fmt on edge values, random floats and naughty strings,
// through one pooled instance.
func TestASJSONHelpers(t *testing.T) {
	h := newHost(t)
	fn, err := h.Deploy(t.Context(), "jsoncheck", buildAS(t, "host/hosttest/testdata/asguests/jsoncheck.ts"))
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
		1e6, 999999, 1234567, 0.0001, 0.00001, 5e-324, math.MaxFloat64, math.Pi, -1e-300, 39, 35, 20,
		math.SmallestNonzeroFloat64 * 3, 2.2250738585072014e-308, 9007199254740993, 1.7976931348623157e308}
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		floats = append(floats, r.NormFloat64()*math.Pow(10, float64(r.IntN(600)-300)))
	}
	for range 200 {
		floats = append(floats, math.Float64frombits(r.Uint64()&^(0x7ff<<52)|uint64(r.IntN(2046)+1)<<52))
	}
	for _, f := range floats {
		in := []byte(strconv.FormatFloat(f, 'g', -1, 64))
		want, err := json.Marshal(f)
		require.NoError(t, err)
		assert.Equal(t, string(want), call("number", in), "formatNumber(%s)", in)
		assert.Equal(t, fmt.Sprintf("%g", f), call("g", in), "formatFloat(%s)", in)
	}
	for in, want := range map[string]string{`1E2`: "100", `-0.0`: "-0", `0.1e1`: "1", `123456789012345678901234567890`: "1.2345678901234568e+29"} {
		assert.Equal(t, want, call("number", []byte(in)), "formatNumber(parse %s)", in)
	}

	strs, err := storetest.NaughtyStrings()
	require.NoError(t, err)
	strs = append(strs, "\xff", "a\xc0\x80b", "\xed\xa0\x80", "\u2028\u2029", "<&>", "\x00\x01\x1f\x7f", "\U0001F600",
		"\b\f\n\r\t\"\\", "\xf4\x90\x80\x80", "\xe0\x80\xaf", "\xf0\x9f\x98", "\ufffd")
	for _, s := range strs {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		assert.Equal(t, string(want), call("quote", []byte(s)), "quote(%q)", s)
		var dec string
		require.NoError(t, json.Unmarshal(want, &dec))
		assert.Equal(t, dec, call("string", want), "asString(%s)", want)
	}
	for in, want := range map[string]string{
		`"\ud83d\ude00"`: "\U0001F600", `"\ud800x"`: "\ufffdx", `"a\/b\n"`: "a/b\n", `"\udc00\ud800\u0041"`: "\ufffd\ufffdA",
		"\"\xffa\"": "\ufffda", ` "x" `: "x",
	} {
		var dec string
		require.NoError(t, json.Unmarshal([]byte(in), &dec), in)
		require.Equal(t, want, dec, "Go decodes %s", in)
		assert.Equal(t, want, call("string", []byte(in)), "asString(%s)", in)
	}

	deep := make([]byte, 0, 20000)
	for range 10000 {
		deep = append(deep, '[')
	}
	deepOK := append(append([]byte{}, deep[:5000]...), make([]byte, 5000)...)
	for i := 5000; i < 10000; i++ {
		deepOK[i] = ']'
	}
	for in, want := range map[string]string{
		`{"a": [1, {"b": null}]}`: "object", ` [] `: "array", `"x"`: "string", `-0.5e+3`: "number",
		`true`: "bool", `null`: "null", `01`: "invalid", `{"a" 1}`: "invalid", `[1,]`: "invalid",
		`"\x01"`: "invalid", ``: "invalid", `1 2`: "invalid", string(deep): "invalid", string(deepOK): "array",
		`{"a":1,}`: "invalid", `-`: "invalid", `1.`: "invalid", `.5`: "invalid", `1e`: "invalid", `tru`: "invalid",
		`"\u12"`: "invalid", `"\q"`: "invalid", `{"a":1}}`: "invalid", `[`: "invalid", "\"\t\"": "invalid",
	} {
		wantValid := want != "invalid"
		require.Equal(t, wantValid, json.Valid([]byte(in)), "Go's json.Valid(%.40s)", in)
		assert.Equal(t, want, call("type", []byte(in)), "parseJSON(%.40s).type", in)
	}
}
