package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flags parses args with the flags of config, which has every key.
func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	addConfigFlags(fs, configScope)
	require.NoError(t, fs.Parse(args))
	return fs
}

func TestConfigLayers(t *testing.T) {
	t.Chdir(t.TempDir())
	cfg, _, err := loadConfig(flags(t), nil, configScope)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8080", cfg.HTTP.Addr, "default")
	assert.Equal(t, time.Second, cfg.NATS.SyncInterval)

	require.NoError(t, os.WriteFile("wasmfaas.yaml", []byte("http:\n  addr: 127.0.0.1:9000\nlog:\n  level: debug\ncalls:\n  max_age: 1h\n"), 0o644))
	cfg, _, err = loadConfig(flags(t), nil, configScope)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9000", cfg.HTTP.Addr, "file over default")
	assert.Equal(t, time.Hour, cfg.Calls.MaxAge)

	env := []string{"WASMFAAS_HTTP_ADDR=127.0.0.1:9100", "WASMFAAS_HTTP_MAX_BODY_BYTES=1024", "PATH=/bin"}
	cfg, _, err = loadConfig(flags(t), env, configScope)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9100", cfg.HTTP.Addr, "env over file")
	assert.EqualValues(t, 1024, cfg.HTTP.MaxBodyBytes)
	assert.Equal(t, "debug", cfg.Log.Level, "file still applies where env is silent")

	cfg, _, err = loadConfig(flags(t, "--http-addr", "127.0.0.1:9200"), env, configScope)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9200", cfg.HTTP.Addr, "flag over env")
}

func TestConfigEveryKeyReachable(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, c := range configKeys {
		fs := flags(t)
		require.NotNil(t, fs.Lookup(flagName(c.key)), "flag for %s", c.key)
		assert.Contains(t, envName(c.key), "WASMFAAS_")
	}
}

func TestConfigRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tests := []struct {
		name string
		file string
		env  []string
		args []string
		msg  string
	}{
		{"unknown file key", "htp:\n  addr: x\n", nil, nil, `unknown key "htp.addr"`},
		{"unknown env var", "", []string{"WASMFAAS_HTTP_ADRESS=x"}, nil, "unknown variable WASMFAAS_HTTP_ADRESS"},
		{"bad duration", "", []string{"WASMFAAS_CALLS_MAX_AGE=forever"}, nil, "config key calls.max_age"},
		{"bad level flag", "", nil, []string{"--log-level", "loud"}, `invalid argument "loud" for "--log-level" flag: want one of debug, info, warn, error`},
		{"bad level in file", "log:\n  level: loud\n", nil, nil, "config key log.level"},
		{"bad address flag", "", nil, []string{"--http-addr", "nowhere"}, `invalid argument "nowhere" for "--http-addr" flag: want host:port`},
		{"bad address in env", "", []string{"WASMFAAS_HTTP_ADDR=nowhere"}, nil, "config key http.addr (WASMFAAS_HTTP_ADDR, --http-addr)"},
		{"negative size", "modules:\n  max_size: -1\n", nil, nil, "config key modules.max_size"},
		{"bad size flag", "", nil, []string{"--http-max-body-bytes", "8XB"}, `invalid argument "8XB" for "--http-max-body-bytes" flag: want a size such as 8MiB`},
		{"bad size in env", "", []string{"WASMFAAS_HTTP_MAX_BODY_BYTES=8XB"}, nil, `config key http.max_body_bytes (WASMFAAS_HTTP_MAX_BODY_BYTES, --http-max-body-bytes): "8XB": want a size such as 8MiB`},
		{"bad size in file", "http:\n  max_body_bytes: lots\n", nil, nil, `config key http.max_body_bytes`},
		{"bad duration flag", "", nil, []string{"--calls-max-age", "7d"}, `invalid argument "7d" for "--calls-max-age" flag: want a duration such as`},
		{"negative duration", "", []string{"WASMFAAS_SHUTDOWN_DRAIN_TIMEOUT=-1s"}, nil, "want a duration that is not negative"},
		{"bad count flag", "", nil, []string{"--calls-max-count", "many"}, `invalid argument "many" for "--calls-max-count" flag: want a positive whole number`},
		{"zero count in file", "calls:\n  max_count: 0\n", nil, nil, "config key calls.max_count"},
		{"bad cluster listen flag", "", nil, []string{"--nats-cluster-listen", "nowhere"}, `invalid argument "nowhere" for "--nats-cluster-listen" flag: want host:port`},
		{"bad cluster wait in env", "", []string{"WASMFAAS_NATS_CLUSTER_WAIT=soon"}, nil, "config key nats.cluster_wait (WASMFAAS_NATS_CLUSTER_WAIT, --nats-cluster-wait)"},
		{"missing explicit file", "", nil, []string{"--config-file", filepath.Join(dir, "nope.yaml")}, "config file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = os.Remove("wasmfaas.yaml")
			if tt.file != "" {
				require.NoError(t, os.WriteFile("wasmfaas.yaml", []byte(tt.file), 0o644))
			}
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			addConfigFlags(fs, configScope)
			err := fs.Parse(tt.args)
			if err == nil {
				_, _, err = loadConfig(fs, tt.env, configScope)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestConfigCommandMasksSecrets(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("WASMFAAS_HTTP_TOKEN", "s3cret")
	out, err := run(t, "config")
	require.NoError(t, err, out)
	assert.NotContains(t, out, "s3cret")
	assert.Contains(t, out, "http.token")
	assert.Contains(t, out, "********")
	assert.Contains(t, out, "127.0.0.1:8080")
}
