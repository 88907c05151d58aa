package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// Config is the server's and the CLI's effective configuration, layered by
// koanf: defaults < wasmfaas.yaml < WASMFAAS_* environment < flags (seed 001:
// when running locally there is zero magic; every knob is reachable from the
// command line).
type Config struct {
	DataDir string     `koanf:"data_dir"`
	HTTP    HTTPConfig `koanf:"http"`
	NATS    NATSConfig `koanf:"nats"`
	Log     LogConfig  `koanf:"log"`
	Modules struct {
		MaxSize int64 `koanf:"max_size"`
	} `koanf:"modules"`
	Calls struct {
		MaxAge   time.Duration `koanf:"max_age"`
		MaxCount int           `koanf:"max_count"`
	} `koanf:"calls"`
	Shutdown struct {
		DrainTimeout time.Duration `koanf:"drain_timeout"`
	} `koanf:"shutdown"`
	// Server and Token are what the CLI's client commands talk to.
	Server string `koanf:"server"`
	Token  string `koanf:"token"`
}

// HTTPConfig is the HTTP API's listener.
type HTTPConfig struct {
	Addr         string `koanf:"addr"`
	Token        string `koanf:"token"`
	MaxBodyBytes int64  `koanf:"max_body_bytes"`
}

// NATSConfig chooses the embedded server (URL empty) or an external one.
type NATSConfig struct {
	URL          string        `koanf:"url"`
	Token        string        `koanf:"token"`
	Creds        string        `koanf:"creds"`
	Listen       string        `koanf:"listen"`
	SyncInterval time.Duration `koanf:"sync_interval"`
}

// LogConfig sets the log format (auto: text on a terminal, JSON otherwise) and level.
type LogConfig struct {
	Format string `koanf:"format"`
	Level  string `koanf:"level"`
}

// configKey is one key with its default and help; the table is the single
// list every layer is checked against.
type configKey struct {
	key, def, help string
	secret         bool
}

var configKeys = []configKey{
	{key: "data_dir", def: "wasmfaas-data", help: "directory for JetStream state and the compilation cache"},
	{key: "http.addr", def: "127.0.0.1:8080", help: "HTTP API listen address"},
	{key: "http.token", help: "bearer token for the management API (empty: loopback only)", secret: true},
	{key: "http.max_body_bytes", def: "8388608", help: "largest request body other than module uploads"},
	{key: "nats.url", help: "external NATS server URL (empty: the embedded server)"},
	{key: "nats.token", help: "token for the external NATS server", secret: true},
	{key: "nats.creds", help: "credentials file for the external NATS server"},
	{key: "nats.listen", help: "TCP address the embedded NATS server listens on (empty: in-process only)"},
	{key: "nats.sync_interval", def: "1s", help: "JetStream fsync interval of the embedded server"},
	{key: "log.format", def: "auto", help: "auto, json or text"},
	{key: "log.level", def: "info", help: "debug, info, warn or error"},
	{key: "modules.max_size", def: "67108864", help: "largest module upload in bytes"},
	{key: "calls.max_age", def: "168h", help: "how long the call log keeps a call"},
	{key: "calls.max_count", def: "100000", help: "how many calls the call log keeps"},
	{key: "shutdown.drain_timeout", def: "30s", help: "how long calls in flight may finish on SIGTERM"},
	{key: "server", def: "http://127.0.0.1:8080", help: "server the client commands talk to"},
	{key: "token", help: "bearer token the client commands send", secret: true},
}

// envName is the environment variable of key: WASMFAAS_ and the key in
// capitals with "." as "_" (http.max_body_bytes: WASMFAAS_HTTP_MAX_BODY_BYTES).
func envName(key string) string {
	return "WASMFAAS_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// flagName is the flag of key: "." and "_" as "-" (--http-max-body-bytes).
func flagName(key string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(key)
}

// addConfigFlags registers one flag per key and --config.
func addConfigFlags(flags *pflag.FlagSet) {
	flags.String("config-file", "", "config file (default: ./wasmfaas.yaml when it exists)")
	for _, k := range configKeys {
		flags.String(flagName(k.key), "", fmt.Sprintf("%s (default %q; env %s)", k.help, k.def, envName(k.key)))
	}
}

// loadConfig layers defaults, the file, the environment and the flags the
// user set, refuses unknown keys and invalid values naming the key, and
// returns the result.
func loadConfig(flags *pflag.FlagSet, environ []string) (*Config, *koanf.Koanf, error) {
	k := koanf.New(".")
	defaults := map[string]any{}
	known := map[string]bool{}
	for _, c := range configKeys {
		defaults[c.key] = c.def
		known[c.key] = true
	}
	if err := k.Load(confmap.Provider(defaults, "."), nil); err != nil {
		return nil, nil, err
	}

	path, _ := flags.GetString("config-file")
	explicit := path != ""
	if !explicit {
		path = "wasmfaas.yaml"
	}
	if _, err := os.Stat(path); err == nil {
		fk := koanf.New(".")
		if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
			return nil, nil, fmt.Errorf("config file %s: %w", path, err)
		}
		for _, key := range fk.Keys() {
			if !known[key] {
				return nil, nil, fmt.Errorf("config file %s: unknown key %q", path, key)
			}
		}
		if err := k.Merge(fk); err != nil {
			return nil, nil, err
		}
	} else if explicit || !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("config file: %w", err)
	}

	byEnv := map[string]string{}
	for _, c := range configKeys {
		byEnv[envName(c.key)] = c.key
	}
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "WASMFAAS_") || name == "WASMFAAS_CACHE_DIR" {
			continue
		}
		key, ok := byEnv[name]
		if !ok {
			return nil, nil, fmt.Errorf("environment: unknown variable %s", name)
		}
		_ = k.Set(key, val)
	}

	for _, c := range configKeys {
		if f := flags.Lookup(flagName(c.key)); f != nil && f.Changed {
			_ = k.Set(c.key, f.Value.String())
		}
	}
	cfg, err := decodeConfig(k)
	if err != nil {
		return nil, nil, err
	}
	return cfg, k, nil
}

// decodeConfig parses every value, naming the key of the first bad one.
func decodeConfig(k *koanf.Koanf) (*Config, error) {
	var c Config
	str := func(key string) string { return fmt.Sprint(k.Get(key)) }
	var err error
	bad := func(key string, e error) error {
		return fmt.Errorf("config key %s (%s): %q: %w", key, envName(key), str(key), e)
	}
	dur := func(key string, dst *time.Duration) {
		if err != nil {
			return
		}
		d, e := time.ParseDuration(str(key))
		if e == nil && d < 0 {
			e = errors.New("must not be negative")
		}
		if e != nil {
			err = bad(key, e)
		}
		*dst = d
	}
	num := func(key string, dst *int64) {
		if err != nil {
			return
		}
		n, e := strconv.ParseInt(str(key), 10, 64)
		if e == nil && n <= 0 {
			e = errors.New("must be positive")
		}
		if e != nil {
			err = bad(key, e)
		}
		*dst = n
	}
	oneOf := func(key string, dst *string, allowed ...string) {
		if err != nil {
			return
		}
		v := str(key)
		for _, a := range allowed {
			if v == a {
				*dst = v
				return
			}
		}
		err = bad(key, fmt.Errorf("want one of %s", strings.Join(allowed, ", ")))
	}
	c.DataDir = str("data_dir")
	c.HTTP.Addr = str("http.addr")
	c.HTTP.Token = str("http.token")
	num("http.max_body_bytes", &c.HTTP.MaxBodyBytes)
	c.NATS.URL = str("nats.url")
	c.NATS.Token = str("nats.token")
	c.NATS.Creds = str("nats.creds")
	c.NATS.Listen = str("nats.listen")
	dur("nats.sync_interval", &c.NATS.SyncInterval)
	oneOf("log.format", &c.Log.Format, "auto", "json", "text")
	oneOf("log.level", &c.Log.Level, "debug", "info", "warn", "error")
	num("modules.max_size", &c.Modules.MaxSize)
	dur("calls.max_age", &c.Calls.MaxAge)
	var count int64
	num("calls.max_count", &count)
	c.Calls.MaxCount = int(count)
	dur("shutdown.drain_timeout", &c.Shutdown.DrainTimeout)
	c.Server = str("server")
	c.Token = str("token")
	if err != nil {
		return nil, err
	}
	if c.DataDir == "" {
		return nil, bad("data_dir", errors.New("must not be empty"))
	}
	for _, a := range []struct{ key, val string }{{"http.addr", c.HTTP.Addr}, {"nats.listen", c.NATS.Listen}} {
		if a.val == "" && a.key == "nats.listen" {
			continue
		}
		if _, _, e := net.SplitHostPort(a.val); e != nil {
			return nil, bad(a.key, e)
		}
	}
	c.DataDir = filepath.Clean(c.DataDir)
	return &c, nil
}

// effective returns every key's value, secrets masked, sorted by key.
func effective(k *koanf.Koanf) [][2]string {
	out := make([][2]string, 0, len(configKeys))
	for _, c := range configKeys {
		v := fmt.Sprint(k.Get(c.key))
		if c.secret && v != "" {
			v = "********"
		}
		out = append(out, [2]string{c.key, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}
