package natstest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natsserver"
)

const (
	// waitTimeout bounds every wait of this package: a server ready, a
	// port free again, a cluster's meta leader.
	waitTimeout = 30 * time.Second
	// pollInterval is how often a wait checks its condition.
	pollInterval = 10 * time.Millisecond
	// shutdownTimeout bounds a server's shutdown.
	shutdownTimeout = 10 * time.Second
	// reconnectWait is how long a Dial connection waits between reconnects.
	reconnectWait = 50 * time.Millisecond
)

// Option configures Start.
type Option func(*config)

type config struct {
	dir        string
	tcp        bool
	sync       time.Duration
	maxPayload int32
	bare       bool
}

// Bare leaves the server empty: without it, Start creates the default
// JetStream layout (internal/layout), as a host does before anything else
// opens a stream or bucket.
func Bare() Option { return func(c *config) { c.bare = true } }

// WithDir puts the server's JetStream files in dir instead of a fresh
// t.TempDir(): a test that starts a second server on the first one's files.
func WithDir(dir string) Option { return func(c *config) { c.dir = dir } }

// WithTCP gives the server a TCP listener on 127.0.0.1 with a port the
// kernel picks; URL and Dial need it. Restart keeps the port.
func WithTCP() Option { return func(c *config) { c.tcp = true } }

// WithSyncInterval sets JetStream's sync interval (natsserver.Config's
// SyncInterval: natsserver.SyncAlways fsyncs every write).
func WithSyncInterval(d time.Duration) Option { return func(c *config) { c.sync = d } }

// WithMaxPayload starts a plain nats-server with max_payload n instead of
// natsserver.Start, which always sets natsserver.MaxPayload: it stands in
// for an external server configured otherwise (NATS's default is 1 MiB).
func WithMaxPayload(n int32) Option { return func(c *config) { c.maxPayload = n } }

// Server is an embedded NATS server with JetStream, running for one test.
type Server struct {
	t   testing.TB
	cfg config

	mu   sync.Mutex
	port int                // the TCP port of the first start; 0 without TCP
	emb  *natsserver.Server // the running server when started by natsserver
	raw  *server.Server     // the running server when WithMaxPayload is set
}

// Start starts a server with JetStream for t and waits until it accepts
// connections; t.Cleanup shuts it down.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t}
	for _, o := range opts {
		o(&s.cfg)
	}
	if s.cfg.dir == "" {
		s.cfg.dir = t.TempDir()
	}
	require.NoError(t, s.start())
	t.Cleanup(s.Shutdown)
	if !s.cfg.bare {
		require.NoError(t, layout.Default().Ensure(context.Background(), s.JetStream()), "natstest: create the layout")
	}
	return s
}

// start starts the server on the configured directory and, with TCP, on
// the port of the first start (any port the first time).
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	listen := ""
	if s.cfg.tcp {
		listen = net.JoinHostPort(natsserver.DefaultHost, strconv.Itoa(s.port))
	}
	var ns *server.Server
	if s.cfg.maxPayload != 0 {
		raw, err := startRaw(s.cfg, listen)
		if err != nil {
			return err
		}
		s.raw, ns = raw, raw
	} else {
		emb, err := natsserver.Start(natsserver.Config{DataDir: s.cfg.dir, Listen: listen, SyncInterval: s.cfg.sync})
		if err != nil {
			return err
		}
		s.emb, ns = emb, emb.Server()
	}
	if s.cfg.tcp && s.port == 0 {
		s.port = ns.Addr().(*net.TCPAddr).Port
	}
	return nil
}

// startRaw starts a nats-server configured like natsserver.Start but with
// cfg.maxPayload.
func startRaw(cfg config, listen string) (*server.Server, error) {
	opts := &server.Options{
		ServerName: "natstest",
		JetStream:  true,
		StoreDir:   cfg.dir,
		NoSigs:     true,
		MaxPayload: cfg.maxPayload,
		DontListen: listen == "",
	}
	switch cfg.sync {
	case natsserver.SyncAlways:
		opts.SyncAlways, opts.SyncInterval = true, natsserver.DefaultSyncInterval
	case 0:
		opts.SyncInterval = natsserver.DefaultSyncInterval
	default:
		opts.SyncInterval = cfg.sync
	}
	if listen != "" {
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			return nil, err
		}
		opts.Host = host
		if opts.Port, err = strconv.Atoi(port); err != nil {
			return nil, err
		}
		if opts.Port == 0 {
			opts.Port = server.RANDOM_PORT
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start nats server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(waitTimeout) {
		srv.Shutdown()
		return nil, fmt.Errorf("start nats server: not ready after %s", waitTimeout)
	}
	return srv, nil
}

// NATS returns the running nats-server; it fails the test when the server
// is shut down.
func (s *Server) NATS() *server.Server {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.emb != nil:
		return s.emb.Server()
	case s.raw != nil:
		return s.raw
	}
	s.t.Fatal("natstest: the server is shut down")
	return nil
}

// Dir returns the server's data directory.
func (s *Server) Dir() string { return s.cfg.dir }

// URL returns the nats:// URL of the TCP listener; it is the same after a
// Restart. It fails the test without WithTCP.
func (s *Server) URL() string {
	s.t.Helper()
	if !s.cfg.tcp {
		s.t.Fatal("natstest: URL needs WithTCP")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return "nats://" + net.JoinHostPort(natsserver.DefaultHost, strconv.Itoa(s.port))
}

// Conn returns a new in-process connection to the running server, closed
// at the end of the test (or when the server shuts down). An in-process
// connection does not survive Restart; use Dial for that.
func (s *Server) Conn(opts ...nats.Option) *nats.Conn {
	s.t.Helper()
	s.mu.Lock()
	emb, raw := s.emb, s.raw
	s.mu.Unlock()
	var (
		nc  *nats.Conn
		err error
	)
	switch {
	case emb != nil:
		nc, err = emb.Conn(opts...)
	case raw != nil:
		nc, err = nats.Connect("", append([]nats.Option{nats.InProcessServer(raw)}, opts...)...)
	default:
		s.t.Fatal("natstest: Conn on a server that is shut down")
	}
	require.NoError(s.t, err)
	s.t.Cleanup(nc.Close)
	return nc
}

// Dial returns a new TCP connection to the server that reconnects forever,
// every 50ms, so it survives Shutdown and Restart; it is closed at the end
// of the test. opts come after those defaults. It needs WithTCP.
func (s *Server) Dial(opts ...nats.Option) *nats.Conn {
	s.t.Helper()
	all := append([]nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(reconnectWait)}, opts...)
	nc, err := nats.Connect(s.URL(), all...)
	require.NoError(s.t, err)
	s.t.Cleanup(nc.Close)
	return nc
}

// JetStream returns a JetStream context on a new in-process connection.
func (s *Server) JetStream(opts ...jetstream.JetStreamOpt) jetstream.JetStream {
	s.t.Helper()
	js, err := jetstream.New(s.Conn(), opts...)
	require.NoError(s.t, err)
	return js
}

// Shutdown stops the server, draining its in-process connections and
// flushing JetStream's files, and waits until it is down. Shutting down a
// server that is not running does nothing.
func (s *Server) Shutdown() {
	s.mu.Lock()
	emb, raw := s.emb, s.raw
	s.emb, s.raw = nil, nil
	s.mu.Unlock()
	switch {
	case emb != nil:
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := emb.Shutdown(ctx); err != nil {
			s.t.Errorf("natstest: %v", err)
		}
	case raw != nil:
		raw.Shutdown()
		raw.WaitForShutdown()
	}
}

// Restart shuts the server down if it is running and starts it again on the
// same data directory and, with TCP, the same port, retrying until the port
// can be bound again.
func (s *Server) Restart() {
	s.t.Helper()
	s.Shutdown()
	var err error
	deadline := time.Now().Add(waitTimeout)
	for {
		if err = s.start(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("natstest: restart: %v", err)
		}
		<-time.After(pollInterval)
	}
}
