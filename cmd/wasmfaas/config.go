package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
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
// koanf: defaults < wasmfaas.yaml < WASMFAAS_* environment < flags. Running
// locally needs no file and hides nothing: every knob is reachable from the
// command line, on the commands it concerns (the server's on serve and
// config, the client's on the client commands).
type Config struct {
	DataDir string     `koanf:"data_dir"`
	HTTP    HTTPConfig `koanf:"http"`
	NATS    NATSConfig `koanf:"nats"`
	Log     LogConfig  `koanf:"log"`
	OTel    struct {
		Endpoint    string `koanf:"endpoint"`
		Protocol    string `koanf:"protocol"`
		ServiceName string `koanf:"service_name"`
	} `koanf:"otel"`
	Modules struct {
		MaxSize int64 `koanf:"max_size"`
	} `koanf:"modules"`
	Events struct {
		MaxAge   time.Duration `koanf:"max_age"`
		MaxBytes int64         `koanf:"max_bytes"`
	} `koanf:"events"`
	DeadLetters struct {
		MaxAge time.Duration `koanf:"max_age"`
	} `koanf:"deadletters"`
	Rejected struct {
		MaxAge time.Duration `koanf:"max_age"`
	} `koanf:"rejected"`
	State struct {
		IdempotentWrites bool `koanf:"idempotent_writes"`
	} `koanf:"state"`
	Guests struct {
		MemoryBudget int64 `koanf:"memory_budget"`
	} `koanf:"guests"`
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
	Addr          string `koanf:"addr"`
	Token         string `koanf:"token"`
	MaxBodyBytes  int64  `koanf:"max_body_bytes"`
	MetricsPublic bool   `koanf:"metrics_public"`
	RoutesPrefix  string `koanf:"routes_prefix"`
	// TLSCert and TLSKey are PEM files; both set, the API speaks HTTPS.
	TLSCert string `koanf:"tls_cert"`
	TLSKey  string `koanf:"tls_key"`
	// ReadTimeout, WriteTimeout and IdleTimeout are http.Server's (0: none);
	// MaxConnections caps the connections open at once.
	ReadTimeout    time.Duration `koanf:"read_timeout"`
	WriteTimeout   time.Duration `koanf:"write_timeout"`
	IdleTimeout    time.Duration `koanf:"idle_timeout"`
	MaxConnections int           `koanf:"max_connections"`
}

// NATSConfig chooses the embedded server (URL empty) or an external one.
type NATSConfig struct {
	URL          string        `koanf:"url"`
	Token        string        `koanf:"token"`
	Creds        string        `koanf:"creds"`
	Listen       string        `koanf:"listen"`
	SyncInterval time.Duration `koanf:"sync_interval"`
	Replicas     int           `koanf:"replicas"`
	// ListenToken, ListenUser and ListenPassword, or ListenNKeys (a file of
	// user public keys), are what clients of the embedded listener present.
	ListenToken    string `koanf:"listen_token"`
	ListenUser     string `koanf:"listen_user"`
	ListenPassword string `koanf:"listen_password"`
	ListenNKeys    string `koanf:"listen_nkeys"`
	// TLSCert and TLSKey are PEM files; both set, the embedded listener
	// speaks TLS.
	TLSCert string `koanf:"tls_cert"`
	TLSKey  string `koanf:"tls_key"`
	// ServerName names the embedded server; ClusterName, ClusterListen,
	// ClusterRoutes, ClusterUser and ClusterPassword join it to a cluster
	// (natsserver.ClusterConfig); ClusterWait bounds the wait at start for
	// a cluster that cannot take the layout yet.
	ServerName      string        `koanf:"server_name"`
	ClusterName     string        `koanf:"cluster_name"`
	ClusterListen   string        `koanf:"cluster_listen"`
	ClusterRoutes   []string      `koanf:"cluster_routes"`
	ClusterUser     string        `koanf:"cluster_user"`
	ClusterPassword string        `koanf:"cluster_password"`
	ClusterWait     time.Duration `koanf:"cluster_wait"`
}

// LogConfig sets the log format (auto: text on a terminal, JSON otherwise) and level.
type LogConfig struct {
	Format string `koanf:"format"`
	Level  string `koanf:"level"`
}

// kind is how a key's value is parsed, the same way from every layer
// (file, environment, flag).
type kind int

const (
	kindString   kind = iota
	kindSize          // bytes: 8388608, 8MiB, 8MB
	kindDuration      // a time.Duration: 168h, 30s
	kindCount         // a positive whole number
	kindAddr          // host:port
	kindListen        // host:port, or empty
	kindEnum          // one of configKey.enum
	kindBool          // true or false
	kindList          // comma-separated values (a YAML list in the file)
)

// use says which commands a key belongs to; a scope picks keys by it.
type use uint8

const (
	// forServe keys are the server's settings: flags of serve and config.
	forServe use = 1 << iota
	// forClient keys are what the REST client commands need: their flags.
	forClient
	// forPublish keys are what publish needs to reach NATS: its flags.
	forPublish
	// forPublishRead keys are read by publish from the file and the
	// environment, but are not its flags.
	forPublishRead
)

// configKey is one key with its default and help; the table is the single
// list every layer is checked against.
type configKey struct {
	key, def, help string
	kind           kind
	enum           []string
	secret         bool
	use            use
}

// scope is the keys one command shows as flags and the keys it decodes.
// Every key of the table is accepted from the file and the environment by
// every command (one wasmfaas.yaml serves the server and its clients);
// keys outside the scope are neither parsed nor shown.
type scope struct {
	flags, reads use
}

var (
	serveScope   = scope{flags: forServe}
	clientScope  = scope{flags: forClient}
	publishScope = scope{flags: forPublish, reads: forPublishRead}
	configScope  = scope{flags: forServe | forClient}
)

func (s scope) flag(c configKey) bool { return c.use&s.flags != 0 }
func (s scope) read(c configKey) bool { return c.use&(s.flags|s.reads) != 0 }

var configKeys = []configKey{
	{key: "data_dir", def: "wasmfaas-data", help: "directory for JetStream state and the compilation cache", use: forServe},
	{key: "http.addr", def: "127.0.0.1:8080", help: "HTTP API listen address", kind: kindAddr, use: forServe},
	{key: "http.token", help: "bearer token for the management API (empty: loopback only)", secret: true, use: forServe},
	{key: "http.max_body_bytes", def: "8MiB", help: "largest request body other than module uploads", kind: kindSize, use: forServe},
	{key: "http.routes_prefix", def: "/fn/", help: "path prefix under which HTTP triggers (--route) are served, outside the API's /v1", use: forServe},
	{key: "http.tls_cert", help: "PEM certificate (chain) file: with http.tls_key the API speaks HTTPS", use: forServe},
	{key: "http.tls_key", help: "PEM key file of http.tls_cert", use: forServe},
	{key: "http.read_timeout", def: "60s", help: "longest time to read a request, body included (0: none)", kind: kindDuration, use: forServe},
	{key: "http.write_timeout", def: "60s", help: "longest time from the end of a request's headers to the end of its response, a synchronous invoke included (0: none)", kind: kindDuration, use: forServe},
	{key: "http.idle_timeout", def: "120s", help: "how long a keep-alive connection may wait for its next request (0: none)", kind: kindDuration, use: forServe},
	{key: "http.max_connections", def: "1024", help: "most connections open at once; more wait to be accepted", kind: kindCount, use: forServe},
	{key: "http.metrics_public", def: "false", help: "serve /metrics without http.token on a non-loopback listener (it names every function)", kind: kindBool, use: forServe},
	{key: "otel.endpoint", help: "OTLP endpoint to export traces to, such as http://127.0.0.1:4318 (empty: tracing off)", use: forServe},
	{key: "otel.protocol", def: "http/protobuf", help: "OTLP protocol: http/protobuf or grpc", use: forServe},
	{key: "otel.service_name", def: "wasmfaas", help: "the service.name of exported spans", use: forServe},
	{key: "nats.url", help: "external NATS server URL (empty: the embedded server)", use: forServe | forPublish},
	{key: "nats.token", help: "token for the external NATS server", secret: true, use: forServe | forPublish},
	{key: "nats.creds", help: "credentials file for the external NATS server", use: forServe | forPublish},
	{key: "nats.listen", help: "TCP address the embedded NATS server listens on (empty: in-process only)", kind: kindListen, use: forServe | forPublishRead},
	{key: "nats.listen_token", help: "token clients of nats.listen must present (one of this, nats.listen_user and nats.listen_password, or nats.listen_nkeys is required beyond loopback)", secret: true, use: forServe | forPublishRead},
	{key: "nats.listen_user", help: "user name clients of nats.listen must present, with nats.listen_password", use: forServe | forPublishRead},
	{key: "nats.listen_password", help: "password of nats.listen_user", secret: true, use: forServe | forPublishRead},
	{key: "nats.listen_nkeys", help: "file of user nkey public keys (one a line, # comments) allowed to connect to nats.listen", use: forServe},
	{key: "nats.tls_cert", help: "PEM certificate (chain) file: with nats.tls_key, nats.listen speaks TLS (publish trusts it)", use: forServe | forPublishRead},
	{key: "nats.tls_key", help: "PEM key file of nats.tls_cert", use: forServe},
	{key: "nats.sync_interval", def: "1s", help: "JetStream fsync interval of the embedded server", kind: kindDuration, use: forServe},
	{key: "nats.replicas", def: "1", help: "replicas of every stream, bucket and object store (default 1, and 3 when nats.cluster_name is set)", kind: kindCount, use: forServe},
	{key: "nats.server_name", help: "name of the embedded NATS server, unique in its cluster and the same across restarts (empty: derived from nats.cluster_listen)", use: forServe},
	{key: "nats.cluster_name", help: "cluster the embedded NATS server joins through nats.cluster_routes, JetStream running clustered (empty: a single node)", use: forServe},
	{key: "nats.cluster_listen", help: "address the embedded NATS server takes routes from its cluster peers on (required with nats.cluster_name; beyond loopback nats.cluster_user and nats.cluster_password are required)", kind: kindListen, use: forServe},
	{key: "nats.cluster_routes", help: "comma-separated route URLs of every node of the cluster (nats://host:port), this node's included", kind: kindList, use: forServe},
	{key: "nats.cluster_user", help: "user name routes between cluster nodes present, with nats.cluster_password (the same on every node)", use: forServe},
	{key: "nats.cluster_password", help: "password of nats.cluster_user", secret: true, use: forServe},
	{key: "nats.cluster_wait", def: "60s", help: "how long serve waits at start for the JetStream cluster (a meta leader, enough nodes for nats.replicas) before it fails", kind: kindDuration, use: forServe},
	{key: "log.format", def: "auto", help: "log format (auto: text on a terminal, JSON otherwise)", kind: kindEnum, enum: []string{"auto", "json", "text"}, use: forServe},
	{key: "log.level", def: "info", help: "log level", kind: kindEnum, enum: []string{"debug", "info", "warn", "error"}, use: forServe},
	{key: "modules.max_size", def: "64MiB", help: "largest module upload", kind: kindSize, use: forServe},
	{key: "calls.max_age", def: "168h", help: "how long the call log keeps a call", kind: kindDuration, use: forServe},
	{key: "calls.max_count", def: "100000", help: "how many calls the call log keeps", kind: kindCount, use: forServe},
	{key: "events.max_age", def: "168h", help: "how long the events stream keeps events (a trigger made later can replay them)", kind: kindDuration, use: forServe},
	{key: "events.max_bytes", def: "4GiB", help: "the most the events stream holds; the oldest events are dropped first", kind: kindSize, use: forServe},
	{key: "deadletters.max_age", def: "720h", help: "how long dead letters are kept for inspection and replay", kind: kindDuration, use: forServe},
	{key: "guests.memory_budget", def: "4GiB", help: "linear memory every guest instance may hold together; a guest growing past it fails with kind limit", kind: kindSize, use: forServe},
	{key: "state.idempotent_writes", def: "true", help: "apply each guest write once even when a crash makes a call run again (costs an fsync per write on one file-storage server)", kind: kindBool, use: forServe},
	{key: "rejected.max_age", def: "168h", help: "how long messages that are not CloudEvents are kept", kind: kindDuration, use: forServe},
	{key: "shutdown.drain_timeout", def: "30s", help: "how long calls in flight may finish on SIGTERM", kind: kindDuration, use: forServe},
	{key: "server", def: "http://127.0.0.1:8080", help: "URL of the wasmfaas serve to talk to", use: forClient},
	{key: "token", help: "bearer token to send (serve's http.token)", secret: true, use: forClient},
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

// addConfigFlags registers one typed flag per key of sc, and --config-file
// on the server's commands and config.
func addConfigFlags(flags *pflag.FlagSet, sc scope) {
	if sc.flags&forServe != 0 {
		flags.String("config-file", "", "config file (default: ./wasmfaas.yaml when it exists)")
	}
	for _, c := range configKeys {
		if !sc.flag(c) {
			continue
		}
		v := &keyValue{c: c, s: c.def}
		f := flags.VarPF(v, flagName(c.key), "", fmt.Sprintf("%s%s (env %s)", c.help, kindHelp(c), envName(c.key)))
		if c.kind == kindBool {
			f.NoOptDefVal = "true"
		}
	}
}

// kindHelp is what a flag's help says about the values it takes.
func kindHelp(c configKey) string {
	switch c.kind {
	case kindSize:
		return ": bytes, or with a unit KiB, MiB, GiB (powers of 1024) or KB, MB, GB (powers of 1000)"
	case kindDuration:
		return ": a duration such as 90s, 5m or 168h"
	case kindEnum:
		return ": " + strings.Join(c.enum, ", ")
	}
	return ""
}

// keyValue is a key's flag: it parses with the key's kind, so a bad value
// is refused by the flag parser naming the flag.
type keyValue struct {
	c configKey
	s string
}

var _ pflag.Value = (*keyValue)(nil)

func (v *keyValue) String() string { return v.s }

func (v *keyValue) Set(s string) error {
	val, err := parseValue(v.c, s)
	if err != nil {
		return err
	}
	v.s = formatValue(v.c, val)
	return nil
}

// Type is the value's name in help: "--http-max-body-bytes size".
func (v *keyValue) Type() string {
	switch v.c.kind {
	case kindSize:
		return "size"
	case kindDuration:
		return "duration"
	case kindCount:
		return "int"
	case kindAddr, kindListen:
		return "host:port"
	case kindBool:
		return "bool"
	case kindList:
		return "list"
	}
	return "string"
}

// parseValue parses s as c's kind: a string, an int64 (sizes), an int
// (counts) or a time.Duration. Its errors say what is wanted; the caller
// names the key.
func parseValue(c configKey, s string) (any, error) {
	switch c.kind {
	case kindSize:
		n, err := parseSize(s)
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return nil, errors.New("want a positive size such as 8MiB")
		}
		return n, nil
	case kindDuration:
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return nil, errors.New("want a duration such as 30s, 5m or 168h")
		}
		if d < 0 {
			return nil, errors.New("want a duration that is not negative")
		}
		return d, nil
	case kindCount:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return nil, errors.New("want a positive whole number such as 100000")
		}
		return n, nil
	case kindAddr, kindListen:
		if s == "" && c.kind == kindListen {
			return s, nil
		}
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, errors.New("want host:port such as 127.0.0.1:8080")
		}
		return s, nil
	case kindBool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, errors.New("want true or false")
		}
		return b, nil
	case kindEnum:
		if slices.Contains(c.enum, s) {
			return s, nil
		}
		return nil, fmt.Errorf("want one of %s", strings.Join(c.enum, ", "))
	case kindList:
		var out []string
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out, nil
	}
	return s, nil
}

// formatValue is the readable form of a parsed value, which parseValue reads back.
func formatValue(c configKey, v any) string {
	switch x := v.(type) {
	case int64:
		if c.kind == kindSize {
			return formatSize(x)
		}
	case time.Duration:
		return formatDuration(x)
	case []string:
		return strings.Join(x, ",")
	}
	return fmt.Sprint(v)
}

// formatDuration is d without zero trailing units: 168h, 1h30m, 90s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// sizeUnits are the units parseSize accepts, case-insensitively: the
// binary ones (KiB = 1024) and the decimal ones (KB = 1000).
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
}

// parseSize reads a byte count: a whole number with an optional unit
// ("8388608", "8MiB", "8 MiB", "1.5GiB", "10MB"); the result must be a
// whole number of bytes.
func parseSize(s string) (int64, error) {
	bad := errors.New("want a size such as 8MiB")
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(s)
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	mult, ok := sizeUnits[unit]
	if !ok || num == "" {
		return 0, bad
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n > math.MaxInt64/mult {
			return 0, errors.New("want a size below 8EiB")
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, bad
	}
	b := f * float64(mult)
	if b >= math.MaxInt64 {
		return 0, errors.New("want a size below 8EiB")
	}
	if b != math.Trunc(b) {
		return 0, fmt.Errorf("want a whole number of bytes (%s is %g bytes)", s, b)
	}
	return int64(b), nil
}

// formatSize writes n in the largest binary unit that divides it exactly
// (8388608: 8MiB), else the largest decimal one (10000000: 10MB), else in
// bytes.
func formatSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}} {
		if n != 0 && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return strconv.FormatInt(n, 10)
}

// loadConfig layers defaults, the file, the environment and the flags the
// user set, refuses unknown keys, parses the keys of sc (naming the key of
// a bad value), and returns the result. The file and the environment may
// hold any key of the table: one wasmfaas.yaml and one environment serve
// every command, each reading its own keys.
func loadConfig(flags *pflag.FlagSet, environ []string, sc scope) (*Config, *koanf.Koanf, error) {
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

	// explicit holds the keys a layer above the defaults set.
	explicit := map[string]bool{}
	var path string
	if flags.Lookup("config-file") != nil {
		path, _ = flags.GetString("config-file")
	}
	named := path != ""
	if !named {
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
			explicit[key] = true
		}
		if err := k.Merge(fk); err != nil {
			return nil, nil, err
		}
	} else if named || !errors.Is(err, fs.ErrNotExist) {
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
		explicit[key] = true
	}

	for _, c := range configKeys {
		if f := flags.Lookup(flagName(c.key)); f != nil && f.Changed {
			_ = k.Set(c.key, f.Value.String())
			explicit[c.key] = true
		}
	}
	// A cluster keeps every resource on three nodes unless told otherwise.
	if rawValue(k, "nats.cluster_name") != "" && !explicit["nats.replicas"] {
		_ = k.Set("nats.replicas", clusterReplicas)
	}
	cfg, err := decodeConfig(k, sc)
	if err != nil {
		return nil, nil, err
	}
	return cfg, k, nil
}

// clusterReplicas is nats.replicas when nats.cluster_name is set and no
// layer sets nats.replicas.
const clusterReplicas = "3"

// rawValue is key's value as text: a list from the file (YAML) joined
// with commas, as a list key takes it from the environment and flags.
func rawValue(k *koanf.Koanf, key string) string {
	switch v := k.Get(key).(type) {
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, ",")
	case []string:
		return strings.Join(v, ",")
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// decodeConfig parses the keys of sc, naming the key of the first bad one;
// the other fields stay zero.
func decodeConfig(k *koanf.Koanf, sc scope) (*Config, error) {
	vals := map[string]any{}
	for _, c := range configKeys {
		if !sc.read(c) {
			continue
		}
		raw := rawValue(k, c.key)
		v, err := parseValue(c, raw)
		if err != nil {
			return nil, fmt.Errorf("config key %s (%s, %s): %q: %w", c.key, envName(c.key), "--"+flagName(c.key), raw, err)
		}
		vals[c.key] = v
	}
	s := func(key string) string { v, _ := vals[key].(string); return v }
	size := func(key string) int64 { v, _ := vals[key].(int64); return v }
	dur := func(key string) time.Duration { v, _ := vals[key].(time.Duration); return v }

	var c Config
	c.DataDir = s("data_dir")
	c.OTel.Endpoint, c.OTel.Protocol, c.OTel.ServiceName = s("otel.endpoint"), s("otel.protocol"), s("otel.service_name")
	c.HTTP.Addr = s("http.addr")
	c.HTTP.Token = s("http.token")
	c.HTTP.MaxBodyBytes = size("http.max_body_bytes")
	c.HTTP.RoutesPrefix = s("http.routes_prefix")
	c.HTTP.MetricsPublic, _ = vals["http.metrics_public"].(bool)
	c.HTTP.TLSCert = s("http.tls_cert")
	c.HTTP.TLSKey = s("http.tls_key")
	c.HTTP.ReadTimeout = dur("http.read_timeout")
	c.HTTP.WriteTimeout = dur("http.write_timeout")
	c.HTTP.IdleTimeout = dur("http.idle_timeout")
	c.HTTP.MaxConnections, _ = vals["http.max_connections"].(int)
	c.NATS.URL = s("nats.url")
	c.NATS.Token = s("nats.token")
	c.NATS.Creds = s("nats.creds")
	c.NATS.Listen = s("nats.listen")
	c.NATS.ListenToken = s("nats.listen_token")
	c.NATS.ListenUser = s("nats.listen_user")
	c.NATS.ListenPassword = s("nats.listen_password")
	c.NATS.ListenNKeys = s("nats.listen_nkeys")
	c.NATS.TLSCert = s("nats.tls_cert")
	c.NATS.TLSKey = s("nats.tls_key")
	c.NATS.SyncInterval = dur("nats.sync_interval")
	c.NATS.Replicas, _ = vals["nats.replicas"].(int)
	c.NATS.ServerName = s("nats.server_name")
	c.NATS.ClusterName = s("nats.cluster_name")
	c.NATS.ClusterListen = s("nats.cluster_listen")
	c.NATS.ClusterRoutes, _ = vals["nats.cluster_routes"].([]string)
	c.NATS.ClusterUser = s("nats.cluster_user")
	c.NATS.ClusterPassword = s("nats.cluster_password")
	c.NATS.ClusterWait = dur("nats.cluster_wait")
	c.Log.Format = s("log.format")
	c.Log.Level = s("log.level")
	c.Modules.MaxSize = size("modules.max_size")
	c.Calls.MaxAge = dur("calls.max_age")
	c.Calls.MaxCount, _ = vals["calls.max_count"].(int)
	c.Events.MaxAge = dur("events.max_age")
	c.Events.MaxBytes = size("events.max_bytes")
	c.DeadLetters.MaxAge = dur("deadletters.max_age")
	c.Rejected.MaxAge = dur("rejected.max_age")
	c.State.IdempotentWrites, _ = vals["state.idempotent_writes"].(bool)
	c.Guests.MemoryBudget = size("guests.memory_budget")
	c.Shutdown.DrainTimeout = dur("shutdown.drain_timeout")
	c.Server = s("server")
	c.Token = s("token")
	if _, ok := vals["data_dir"]; ok {
		if c.DataDir == "" {
			return nil, fmt.Errorf("config key data_dir (%s): must not be empty", envName("data_dir"))
		}
		c.DataDir = filepath.Clean(c.DataDir)
	}
	return &c, nil
}

// effective returns the value of every key of sc, readable (sizes in
// KiB/MiB/GiB) and secrets masked, sorted by key.
func effective(k *koanf.Koanf, sc scope) [][2]string {
	out := make([][2]string, 0, len(configKeys))
	for _, c := range configKeys {
		if !sc.read(c) {
			continue
		}
		v := rawValue(k, c.key)
		if pv, err := parseValue(c, v); err == nil {
			v = formatValue(c, pv)
		}
		if c.secret && v != "" {
			v = "********"
		}
		out = append(out, [2]string{c.key, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// durationValue is a command's own duration flag (deploy --timeout), with
// the same clear error as the configuration's durations.
type durationValue struct{ d *time.Duration }

var _ pflag.Value = durationValue{}

func (v durationValue) String() string {
	if v.d == nil || *v.d == 0 {
		return ""
	}
	return v.d.String()
}

func (v durationValue) Set(s string) error {
	d, err := parseValue(configKey{kind: kindDuration}, s)
	if err != nil {
		return err
	}
	*v.d = d.(time.Duration)
	return nil
}

func (durationValue) Type() string { return "duration" }

// countValue is a command's own count flag (calls --limit): a whole number,
// zero meaning the server's default.
type countValue struct{ n *int }

var _ pflag.Value = countValue{}

func (v countValue) String() string {
	if v.n == nil {
		return "0"
	}
	return strconv.Itoa(*v.n)
}

func (v countValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return errors.New("want a whole number such as 50")
	}
	*v.n = n
	return nil
}

func (countValue) Type() string { return "int" }
