package abi

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readSpec(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	return string(b)
}

// TestSpecFunctions checks that every host function signature written in
// README.md is in Functions, in the same group, and the other way round.
func TestSpecFunctions(t *testing.T) {
	spec := readSpec(t)
	sigRe := regexp.MustCompile("(?m)^- `([a-z_]+\\([^`]*\\) -> i(?:32|64))`")
	groupRe := regexp.MustCompile("(?m)^### `([a-z]+)`")
	type found struct{ sig, group string }
	var got []found
	group := ""
	for _, line := range strings.Split(spec, "\n") {
		if m := groupRe.FindStringSubmatch(line); m != nil {
			group = m[1]
		}
		if m := sigRe.FindStringSubmatch(line); m != nil {
			got = append(got, found{m[1], group})
		}
	}
	require.Len(t, got, len(Functions), "README.md and Functions list different numbers of host functions")
	for i, f := range Functions {
		assert.Equal(t, got[i].sig, f.Signature(), "signature %d", i)
		assert.Equal(t, got[i].group, string(f.Group), "group of %s", f.Name)
	}
}

func TestSpecStatusCodes(t *testing.T) {
	spec := readSpec(t)
	re := regexp.MustCompile("(?m)^\\| (-?\\d+) \\| `([A-Z_]+)` \\|")
	ms := re.FindAllStringSubmatch(spec, -1)
	require.Len(t, ms, len(StatusNames))
	for _, m := range ms {
		code, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		assert.Equal(t, m[2], StatusNames[Status(code)], "status %d", code)
	}
}

func TestSpecNames(t *testing.T) {
	spec := readSpec(t)
	for _, s := range []string{ImportModule, VersionExport, HandleExport, MemoryExport, InitializeExport, StartExport, WASIModule, KindInvalidInput} {
		assert.Contains(t, spec, "`"+s+"`")
	}
	for _, c := range Capabilities {
		assert.Contains(t, spec, "`"+string(c)+"`")
	}
}

func TestPairsRoundTrip(t *testing.T) {
	in := []Pair{{"type", "com.example.x"}, {"subject", "device|00A/ä b"}, {"empty", ""}}
	out, err := SplitPairs(AppendPairs(nil, in))
	require.NoError(t, err)
	assert.Equal(t, in, out)

	_, err = SplitPairs([]byte("type\x00x"))
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = SplitPairs([]byte("type\x00"))
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestChecks(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"empty key", CheckKey(""), ErrInvalid},
		{"nul key", CheckKey("a\x00b"), ErrInvalid},
		{"bad utf8 subject", CheckSubject("\xff"), ErrInvalid},
		{"long subject", CheckSubject(strings.Repeat("s", MaxSubjectLen+1)), ErrTooLarge},
		{"ext upper", CheckExtName("Fleet"), ErrInvalid},
		{"ext ok", CheckExtName("deviceclass"), nil},
		{"kind ok", CheckErrorKind("invalid_input"), nil},
		{"kind bad", CheckErrorKind("Bad Kind"), ErrInvalid},
		{"field ok", CheckFieldKey("status_changed"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				assert.NoError(t, tt.err)
			} else {
				assert.ErrorIs(t, tt.err, tt.want)
			}
		})
	}
}

func FuzzSplitPairs(f *testing.F) {
	f.Add([]byte("type\x00a\x00subject\x00b\x00"))
	f.Add([]byte("\x00\x00"))
	f.Add([]byte("x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs, err := SplitPairs(b)
		if err != nil {
			return
		}
		// bytes.Equal: an empty input and an empty encoding are equal
		// whether nil or not (assert.Equal tells them apart).
		assert.True(t, bytes.Equal(b, AppendPairs(nil, pairs)), "%q re-encodes to %q", b, AppendPairs(nil, pairs))
	})
}
