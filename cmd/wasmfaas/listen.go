package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/wasmfaas/wasmfaas/internal/natsserver"
)

// maxReadHeaderTimeout bounds reading a request's headers; a shorter
// http.read_timeout bounds it instead.
const maxReadHeaderTimeout = 10 * time.Second

// checkListeners refuses a door without a lock before anything starts: an
// HTTP API beyond loopback without http.token, an embedded NATS listener
// beyond loopback without credentials (TLS alone is not authentication),
// and half a TLS or credentials setting.
func checkListeners(cfg *Config) error {
	if cfg.HTTP.Token == "" && !isLoopback(cfg.HTTP.Addr) {
		return fmt.Errorf("config key http.addr: %s is not a loopback address and no http.token is set; set a token to listen beyond this machine", cfg.HTTP.Addr)
	}
	if (cfg.HTTP.TLSCert == "") != (cfg.HTTP.TLSKey == "") {
		return errors.New("config keys http.tls_cert and http.tls_key: set both or neither")
	}
	n := cfg.NATS
	if (n.TLSCert == "") != (n.TLSKey == "") {
		return errors.New("config keys nats.tls_cert and nats.tls_key: set both or neither")
	}
	if n.URL != "" || n.Listen == "" {
		return nil
	}
	set := n.ListenToken != "" || n.ListenUser != "" || n.ListenPassword != "" || n.ListenNKeys != ""
	if !set && !natsserver.Loopback(n.Listen) {
		return fmt.Errorf("config key nats.listen: %s is not a loopback address and no nats.listen_token, nats.listen_user and nats.listen_password, or nats.listen_nkeys is set; set credentials to listen beyond this machine (TLS alone is not authentication)", n.Listen)
	}
	return nil
}

// listenAuth is the embedded listener's natsserver.Auth from the
// nats.listen_* keys, the nkeys read from their file.
func listenAuth(n NATSConfig) (natsserver.Auth, error) {
	a := natsserver.Auth{Token: n.ListenToken, User: n.ListenUser, Password: n.ListenPassword}
	if n.ListenNKeys != "" {
		keys, err := readNKeys(n.ListenNKeys)
		if err != nil {
			return a, fmt.Errorf("config key nats.listen_nkeys: %w", err)
		}
		a.NKeys = keys
	}
	if err := a.Validate(); err != nil {
		return a, fmt.Errorf("config keys nats.listen_token, nats.listen_user, nats.listen_password, nats.listen_nkeys: %w", err)
	}
	return a, nil
}

// readNKeys reads user public keys, one a line; blank lines and lines
// starting with # are skipped.
func readNKeys(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read nkeys: %w", err)
	}
	var keys []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		keys = append(keys, line)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("read nkeys: %s holds no key", path)
	}
	return keys, nil
}

// newHTTPServer builds the API's server and its listener from cfg:
// timeouts so that a slow client cannot hold a connection, a cap on the
// connections open at once, and TLS when a certificate is set. It lives
// here and not in internal/app because the app leaves the listener to its
// caller (tests and benchmarks serve its Handler with httptest), and these
// are operator settings that only serve has. Serve it with serveHTTP.
func newHTTPServer(cfg HTTPConfig, h http.Handler) (*http.Server, net.Listener, error) {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: maxReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
	}
	if cfg.ReadTimeout > 0 && cfg.ReadTimeout < maxReadHeaderTimeout {
		hs.ReadHeaderTimeout = cfg.ReadTimeout
	}
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, nil, fmt.Errorf("config keys http.tls_cert and http.tls_key: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if cfg.MaxConnections > 0 {
		ln = newLimitListener(ln, cfg.MaxConnections)
	}
	return hs, ln, nil
}

// serveHTTP serves hs on ln, over TLS when hs has a TLS configuration.
func serveHTTP(hs *http.Server, ln net.Listener) error {
	if hs.TLSConfig != nil {
		return hs.ServeTLS(ln, "", "")
	}
	return hs.Serve(ln)
}

// limitListener accepts at most cap(sem) connections open at once: Accept
// waits until one closes, so more clients wait in the kernel's backlog
// instead of each holding a goroutine and a file descriptor.
// golang.org/x/net/netutil.LimitListener does the same, but the module is
// not a dependency and this is thirty lines.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back once, at the first Close.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
