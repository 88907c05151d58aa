package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// leaves returns every runnable command under root by its path
// ("functions ls").
func leaves(root *cobra.Command) map[string]*cobra.Command {
	out := map[string]*cobra.Command{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Runnable() && sub.Name() != "help" && sub.Name() != "completion" {
				out[strings.TrimPrefix(sub.CommandPath(), "wasmfaas ")] = sub
			}
			walk(sub)
		}
	}
	walk(root)
	return out
}

func flagNames(c *cobra.Command) []string {
	var names []string
	c.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	return names
}

// serverFlag reports whether name is one of the server's settings.
func serverFlag(name string) bool {
	for _, c := range configKeys {
		if c.use&forServe != 0 && c.use&forPublish == 0 && flagName(c.key) == name {
			return true
		}
	}
	return name == "config-file"
}

// TestFlagsFitTheirCommand: client commands show only --server, --token
// and their own flags; publish only what reaches NATS; serve and config
// every server setting.
func TestFlagsFitTheirCommand(t *testing.T) {
	cmds := leaves(newRoot())
	for _, name := range []string{"deploy", "invoke", "calls", "props",
		"functions ls", "functions get", "functions rm", "modules ls", "modules get", "modules rm",
		"triggers ls", "triggers get", "triggers rm", "deadletters ls", "deadletters show", "deadletters replay"} {
		t.Run(name, func(t *testing.T) {
			c := cmds[name]
			require.NotNil(t, c)
			names := flagNames(c)
			assert.Contains(t, names, "server")
			assert.Contains(t, names, "token")
			for _, n := range names {
				assert.False(t, serverFlag(n) || strings.HasPrefix(n, "nats-"), "server setting --%s on %s", n, name)
			}
		})
	}
	t.Run("publish", func(t *testing.T) {
		names := flagNames(cmds["publish"])
		assert.Subset(t, names, []string{"nats-url", "nats-token", "nats-creds"})
		for _, n := range names {
			assert.False(t, serverFlag(n), "server setting --%s on publish", n)
			assert.NotContains(t, []string{"server", "token"}, n)
		}
	})
	t.Run("test", func(t *testing.T) {
		for _, n := range flagNames(cmds["test"]) {
			assert.False(t, serverFlag(n) || n == "server" || n == "token", "--%s on test", n)
		}
	})
	for _, name := range []string{"serve", "config"} {
		t.Run(name, func(t *testing.T) {
			names := flagNames(cmds[name])
			for _, c := range configKeys {
				if c.use&forServe != 0 {
					assert.Contains(t, names, flagName(c.key))
				}
			}
		})
	}
	assert.NotContains(t, flagNames(cmds["serve"]), "server", "serve is not a client")
}

// TestClientConfigLayers: the client commands read server and token from
// the file, WASMFAAS_SERVER/WASMFAAS_TOKEN and their flags, in that order,
// and are not troubled by the server's settings in the same file or
// environment.
func TestClientConfigLayers(t *testing.T) {
	t.Chdir(t.TempDir())
	parse := func(args ...string) *pflag.FlagSet {
		fs := pflag.NewFlagSet("client", pflag.ContinueOnError)
		addConfigFlags(fs, clientScope)
		require.NoError(t, fs.Parse(args))
		return fs
	}
	cfg, _, err := loadConfig(parse(), nil, clientScope)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8080", cfg.Server)

	require.NoError(t, os.WriteFile("wasmfaas.yaml", []byte("server: http://file:1\ntoken: t1\nhttp:\n  max_body_bytes: not-a-size\n"), 0o644))
	cfg, _, err = loadConfig(parse(), nil, clientScope)
	require.NoError(t, err, "a server setting the client does not read is not parsed")
	assert.Equal(t, "http://file:1", cfg.Server)
	assert.Equal(t, "t1", cfg.Token)

	env := []string{"WASMFAAS_SERVER=http://env:2", "WASMFAAS_HTTP_ADDR=127.0.0.1:1"}
	cfg, _, err = loadConfig(parse(), env, clientScope)
	require.NoError(t, err)
	assert.Equal(t, "http://env:2", cfg.Server)
	assert.Equal(t, "t1", cfg.Token)

	cfg, _, err = loadConfig(parse("--server", "http://flag:3", "--token", "t3"), env, clientScope)
	require.NoError(t, err)
	assert.Equal(t, "http://flag:3", cfg.Server)
	assert.Equal(t, "t3", cfg.Token)

	_, _, err = loadConfig(parse(), []string{"WASMFAAS_SERVR=x"}, clientScope)
	assert.ErrorContains(t, err, "unknown variable WASMFAAS_SERVR", "a misspelt variable is still refused")
}

// TestTypedValues: sizes, durations and counts from every layer, and the
// readable form wasmfaas config prints.
func TestTypedValues(t *testing.T) {
	t.Chdir(t.TempDir())
	require.NoError(t, os.WriteFile("wasmfaas.yaml", []byte("http:\n  max_body_bytes: 1024\nmodules:\n  max_size: 2GiB\ncalls:\n  max_age: 36h\n  max_count: 500\n"), 0o644))
	cfg, _, err := loadConfig(flags(t), []string{"WASMFAAS_SHUTDOWN_DRAIN_TIMEOUT=90s"}, configScope)
	require.NoError(t, err)
	assert.EqualValues(t, 1024, cfg.HTTP.MaxBodyBytes)
	assert.EqualValues(t, 2<<30, cfg.Modules.MaxSize)
	assert.Equal(t, 36*time.Hour, cfg.Calls.MaxAge)
	assert.Equal(t, 500, cfg.Calls.MaxCount)
	assert.Equal(t, 90*time.Second, cfg.Shutdown.DrainTimeout)

	cfg, _, err = loadConfig(flags(t, "--http-max-body-bytes", "8MiB", "--calls-max-age", "168h"), nil, configScope)
	require.NoError(t, err)
	assert.EqualValues(t, 8<<20, cfg.HTTP.MaxBodyBytes)
	assert.Equal(t, 168*time.Hour, cfg.Calls.MaxAge)

	out, err := run(t, "config", "-o", "json", "--modules-max-size", "10MB")
	require.NoError(t, err, out)
	var m map[string]string
	require.NoError(t, json.Unmarshal([]byte(out), &m), out)
	assert.Equal(t, "1KiB", m["http.max_body_bytes"])
	assert.Equal(t, "10MB", m["modules.max_size"])
	assert.Equal(t, "36h", m["calls.max_age"])
	assert.Equal(t, "500", m["calls.max_count"])
}

func TestDefaultsParse(t *testing.T) {
	for _, c := range configKeys {
		_, err := parseValue(c, c.def)
		assert.NoError(t, err, "default of %s", c.key)
	}
}

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		err  string
	}{
		{"8388608", 8 << 20, ""},
		{"8MiB", 8 << 20, ""},
		{"8 MiB", 8 << 20, ""},
		{"8mib", 8 << 20, ""},
		{"512KiB", 512 << 10, ""},
		{"1GiB", 1 << 30, ""},
		{"1.5GiB", 3 << 29, ""},
		{"10MB", 10_000_000, ""},
		{"1KB", 1000, ""},
		{"100B", 100, ""},
		{"8XB", 0, "want a size such as 8MiB"},
		{"MiB", 0, "want a size such as 8MiB"},
		{"", 0, "want a size such as 8MiB"},
		{"-1", 0, "want a size such as 8MiB"},
		{"1.0001KB", 0, "whole number of bytes"},
		{"9999999TiB", 0, "below 8EiB"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			n, err := parseSize(tt.in)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, n)
		})
	}
	for n, want := range map[int64]string{8 << 20: "8MiB", 1 << 30: "1GiB", 1536 << 10: "1536KiB", 10_000_000: "10MB", 1001: "1001"} {
		assert.Equal(t, want, formatSize(n))
		back, err := parseSize(want)
		require.NoError(t, err)
		assert.Equal(t, n, back, "formatSize reads back")
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850:                                   "850ns",
		3421:                                  "3.42µs",
		1_234_567:                             "1.23ms",
		1_200_000:                             "1.2ms",
		12_345_678:                            "12.35ms",
		2_504_000_000:                         "2.5s",
		65*time.Second + 300*time.Millisecond: "1m5s",
	} {
		assert.Equal(t, want, humanDuration(d))
	}
}

// TestCallsTableShowsDuration: the calls table has each call's duration.
func TestCallsTableShowsDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/v1/calls", r.URL.Path)
		_, _ = w.Write([]byte(`{"calls": [
			{"call_id": "c1", "function": "hello", "status": "ok", "start": "2025-01-02T03:04:05Z", "duration_ns": 1234567, "event": {"type": "t.one"}},
			{"call_id": "c2", "function": "hello", "status": "error", "start": "2025-01-02T03:04:06Z", "event": {"type": "t.two"}}]}`))
	}))
	defer srv.Close()
	t.Chdir(t.TempDir())
	out, err := run(t, "calls", "--server", srv.URL)
	require.NoError(t, err, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	assert.Contains(t, lines[0], "DURATION")
	assert.Regexp(t, `c1\s+hello\s+ok\s+1\.23ms\s+2025`, lines[1])
	assert.Regexp(t, `c2\s+hello\s+error\s+2025`, lines[2], "no duration recorded: an empty cell")
}
