package natsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

const (
	// DefaultSyncInterval is how often JetStream fsyncs its files when
	// Config.SyncInterval is zero; see the package documentation for why.
	DefaultSyncInterval = time.Second
	// SyncAlways as Config.SyncInterval makes JetStream fsync every write
	// before acknowledging it (sync_interval: always).
	SyncAlways time.Duration = -1

	// DefaultHost is the address a Listen without a host binds to.
	DefaultHost = "127.0.0.1"

	// MaxPayload is the embedded server's max_payload: a 1 MiB value (the
	// abi limit) plus its key and headers must fit in one message, and
	// NATS's default max_payload is exactly 1 MiB.
	MaxPayload = 4 << 20

	// readyTimeout bounds how long Start waits for the server to accept
	// connections.
	readyTimeout = 10 * time.Second
)

// Config configures the embedded server.
type Config struct {
	// DataDir holds JetStream's files; required.
	DataDir string
	// Listen is the TCP address clients may connect to ("127.0.0.1:4222",
	// ":4222" binds DefaultHost, port 0 picks a free port); empty means no
	// TCP listener, only in-process connections, except when clustered:
	// nats-server opens its routes only after a client listener, so a
	// clustered server without Listen listens on DefaultHost with a port
	// the kernel picks.
	Listen string
	// Auth is what every client must present, the host's in-process
	// connections included; it is required when Listen is not a loopback
	// address.
	Auth Auth
	// TLSCert and TLSKey are PEM files of the TCP listener's certificate
	// (chain) and key; both or neither. TLS keeps the wire private; it is
	// not authentication, so it does not replace Auth.
	TLSCert, TLSKey string
	// SyncInterval is JetStream's sync_interval: 0 means DefaultSyncInterval,
	// SyncAlways fsyncs every write.
	SyncInterval time.Duration
	// ServerName names the server. A clustered JetStream needs a name
	// that is unique in the cluster and the same across restarts; empty
	// means "wasmfaas" on a single node and, when clustered, a name
	// derived from Cluster.Listen ("wasmfaas-10.0.0.1-6222").
	ServerName string
	// Cluster joins other nodes through routes into one JetStream
	// cluster; the zero value is a single node. Start does not wait for
	// the peers: the first node of a cluster starts alone.
	Cluster ClusterConfig
	// Logger receives the server's log lines; nil discards them.
	Logger *slog.Logger
}

// Server is a running embedded NATS server.
type Server struct {
	srv *server.Server
	log *slog.Logger
	// quiet is the adapter's switch: notices log at DEBUG while it is set
	// (the start-up banner, the shutdown lines), at INFO otherwise.
	quiet *atomic.Bool

	// auth is what Conn's connections present (Config.Auth).
	auth []nats.Option
	// clustered is set when Config.Cluster has a name; routes is what the
	// adapter knows of the routes' connect failures.
	clustered bool
	routes    *routeLog

	mu    sync.Mutex
	conns []*nats.Conn
}

// Start starts a server with cfg and waits until it accepts connections.
func Start(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("start nats server: empty data directory")
	}
	if strings.ContainsAny(cfg.ServerName, " \t\r\n") {
		return nil, fmt.Errorf("start nats server: server name %q has spaces", cfg.ServerName)
	}
	opts := &server.Options{
		ServerName: cfg.ServerName,
		JetStream:  true,
		StoreDir:   cfg.DataDir,
		NoSigs:     true,
		MaxPayload: MaxPayload,
		DontListen: cfg.Listen == "",
	}
	if err := cfg.Cluster.apply(opts); err != nil {
		return nil, fmt.Errorf("start nats server: %w", err)
	}
	if opts.ServerName == "" {
		opts.ServerName = "wasmfaas"
	}
	switch {
	case cfg.SyncInterval == SyncAlways:
		opts.SyncAlways = true
		opts.SyncInterval = DefaultSyncInterval
	case cfg.SyncInterval < 0:
		return nil, fmt.Errorf("start nats server: sync interval %s: want a positive duration, 0 or SyncAlways", cfg.SyncInterval)
	case cfg.SyncInterval == 0:
		opts.SyncInterval = DefaultSyncInterval
	default:
		opts.SyncInterval = cfg.SyncInterval
	}
	if cfg.Listen == "" && cfg.Cluster.Name != "" {
		// nats-server starts its route listener only once its client
		// listener is up, and never without one (DontListen), so a
		// clustered server listens for clients on loopback at least.
		opts.DontListen = false
		opts.Host, opts.Port = DefaultHost, server.RANDOM_PORT
	}
	if cfg.Listen != "" {
		host, port, err := splitListen(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("start nats server: %w", err)
		}
		opts.Host, opts.Port = host, port
		if port == 0 {
			opts.Port = server.RANDOM_PORT
		}
	}
	if err := cfg.Auth.Validate(); err != nil {
		return nil, fmt.Errorf("start nats server: auth: %w", err)
	}
	if cfg.Listen != "" && !Loopback(cfg.Listen) && !cfg.Auth.Set() {
		return nil, fmt.Errorf("start nats server: listen address %q is not loopback and no auth is set", cfg.Listen)
	}
	auth, err := cfg.Auth.apply(opts)
	if err != nil {
		return nil, fmt.Errorf("start nats server: %w", err)
	}
	tc, err := tlsConfig(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("start nats server: %w", err)
	}
	if tc != nil {
		if cfg.Listen == "" {
			return nil, errors.New("start nats server: tls is set but there is no listener")
		}
		opts.TLS, opts.TLSConfig = true, tc
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start nats server: %w", err)
	}
	log := cfg.Logger
	quiet := new(atomic.Bool)
	quiet.Store(true)
	// The adapter is installed without a logger too: it is what tracks the
	// routes' failures for Waiting. nats-server calls Debugf only when
	// told that debug is on, so it is on when the logger takes DEBUG.
	routes := &routeLog{}
	adapted := slog.New(slog.DiscardHandler)
	debug := false
	if log != nil {
		log = log.With("component", "natsserver")
		adapted = log
		debug = log.Enabled(context.Background(), slog.LevelDebug)
	}
	srv.SetLoggerV2(slogAdapter{log: adapted, quiet: quiet, routes: routes}, debug, false, false)
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		return nil, fmt.Errorf("start nats server: not ready after %s", readyTimeout)
	}
	quiet.Store(false)
	return &Server{srv: srv, log: log, quiet: quiet, auth: auth, clustered: cfg.Cluster.Name != "", routes: routes}, nil
}

// splitListen parses Listen into a host (DefaultHost when empty) and port.
func splitListen(listen string) (string, int, error) {
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("listen address %q: bad port", listen)
	}
	if host == "" {
		host = DefaultHost
	}
	return host, port, nil
}

// Server returns the underlying nats-server, for tests and monitoring.
func (s *Server) Server() *server.Server { return s.srv }

// ClientURL returns the nats:// URL of the TCP listener; empty without one.
func (s *Server) ClientURL() string {
	if s.srv.Addr() == nil {
		return ""
	}
	return s.srv.ClientURL()
}

// Conn returns a new in-process connection to the server, authenticated
// with Config.Auth; Shutdown drains it. Extra options (a name, handlers)
// are applied after the defaults.
func (s *Server) Conn(opts ...nats.Option) (*nats.Conn, error) {
	all := append([]nats.Option{
		nats.InProcessServer(s.srv),
		nats.Name("wasmfaas-embedded"),
		nats.ErrorHandler(s.asyncError),
	}, s.auth...)
	all = append(all, opts...)
	nc, err := nats.Connect("", all...)
	if err != nil {
		return nil, fmt.Errorf("connect to embedded nats server: %w", err)
	}
	s.mu.Lock()
	s.conns = append(s.conns, nc)
	s.mu.Unlock()
	return nc, nil
}

// asyncError logs an asynchronous connection error (a watch's consumer
// gone at shutdown, a slow consumer) instead of nats.go's default of
// printing it to stderr.
func (s *Server) asyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	if s.log == nil {
		return
	}
	if sub != nil {
		s.log.Warn("nats async error", "subject", sub.Subject, "error", err)
		return
	}
	s.log.Warn("nats async error", "error", err)
}

// Shutdown drains every connection Conn handed out, then shuts the server
// down, flushing JetStream's files; it gives up waiting when ctx is done
// (the server keeps shutting down in the background).
func (s *Server) Shutdown(ctx context.Context) error {
	s.quiet.Store(true)
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, nc := range conns {
		drain(ctx, nc)
	}
	done := make(chan struct{})
	go func() {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shut down nats server: %w", ctx.Err())
	}
}

// drain drains nc and waits until it is closed or ctx is done, then closes it.
func drain(ctx context.Context, nc *nats.Conn) {
	if nc.IsClosed() {
		return
	}
	if err := nc.Drain(); err == nil {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for !nc.IsClosed() {
			select {
			case <-ctx.Done():
				nc.Close()
				return
			case <-t.C:
			}
		}
	}
	nc.Close()
}

// ConnectOption configures Connect.
type ConnectOption = nats.Option

// Token authenticates with a token.
func Token(token string) ConnectOption { return nats.Token(token) }

// Credentials authenticates with a .creds file (JWT and NKey seed).
func Credentials(file string) ConnectOption { return nats.UserCredentials(file) }

// UserPassword authenticates with a user name and password.
func UserPassword(user, password string) ConnectOption { return nats.UserInfo(user, password) }

// Connect connects to an external NATS server (or cluster: a comma-separated
// list of URLs) and keeps reconnecting forever when the connection drops, so
// a host survives a NATS restart.
func Connect(url string, opts ...ConnectOption) (*nats.Conn, error) {
	all := append([]nats.Option{
		nats.Name("wasmfaas"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
	}, opts...)
	nc, err := nats.Connect(url, all...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", url, err)
	}
	return nc, nil
}

// slogAdapter writes the server's log lines to slog: warnings at WARN,
// errors and fatal errors at ERROR, debug and trace at DEBUG, and notices at
// INFO, except while quiet is set. Start sets it until the server is ready
// and Shutdown sets it again, so the dozens of banner lines nats-server
// prints when it starts (version, "Starting nats-server", JetStream's
// settings, …) and stops are DEBUG: the host's own start-up line is the one
// INFO line an operator needs, and the banner is there with log.level debug.
// Failed route connect attempts go through routes, which logs one WARN
// line per unreachable peer instead of one per attempt.
type slogAdapter struct {
	log    *slog.Logger
	quiet  *atomic.Bool
	routes *routeLog
}

func (a slogAdapter) Noticef(format string, v ...any) {
	a.routes.handle(a.log, format, v)
	level := slog.LevelInfo
	if a.quiet.Load() {
		level = slog.LevelDebug
	}
	a.log.Log(context.Background(), level, fmt.Sprintf(format, v...))
}

func (a slogAdapter) Warnf(format string, v ...any)  { a.log.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalf(format string, v ...any) { a.log.Error(fmt.Sprintf(format, v...)) }

func (a slogAdapter) Errorf(format string, v ...any) {
	if a.routes.handle(a.log, format, v) {
		return
	}
	a.log.Error(fmt.Sprintf(format, v...))
}

func (a slogAdapter) Debugf(format string, v ...any) {
	if a.routes.handle(a.log, format, v) {
		return
	}
	a.log.Debug(fmt.Sprintf(format, v...))
}
func (a slogAdapter) Tracef(format string, v ...any) { a.log.Debug(fmt.Sprintf(format, v...)) }
