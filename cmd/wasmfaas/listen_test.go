package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/app"
	"github.com/wasmfaas/wasmfaas/internal/tlstest"
)

// clientWait bounds every wait of these tests on the server: a response,
// a connection closed.
const clientWait = 10 * time.Second

func TestCheckListeners(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // empty: accepted
	}{
		{"nats on loopback, no credentials", Config{NATS: NATSConfig{Listen: "127.0.0.1:4222"}}, ""},
		{"nats on [::1], no credentials", Config{NATS: NATSConfig{Listen: "[::1]:4222"}}, ""},
		{"nats without a host binds loopback", Config{NATS: NATSConfig{Listen: ":4222"}}, ""},
		{"nats beyond loopback, no credentials", Config{NATS: NATSConfig{Listen: "0.0.0.0:0"}}, "config key nats.listen: 0.0.0.0:0 is not a loopback address and no nats.listen_token"},
		{"nats beyond loopback, TLS only", Config{NATS: NATSConfig{Listen: "0.0.0.0:0", TLSCert: "c", TLSKey: "k"}}, "TLS alone is not authentication"},
		{"nats beyond loopback, token", Config{NATS: NATSConfig{Listen: "0.0.0.0:0", ListenToken: "t"}}, ""},
		{"nats beyond loopback, user", Config{NATS: NATSConfig{Listen: "0.0.0.0:0", ListenUser: "u", ListenPassword: "p"}}, ""},
		{"nats beyond loopback, nkeys", Config{NATS: NATSConfig{Listen: "0.0.0.0:0", ListenNKeys: "keys"}}, ""},
		{"external nats: listen unused", Config{NATS: NATSConfig{URL: "nats://x", Listen: "0.0.0.0:0"}}, ""},
		{"half nats tls", Config{NATS: NATSConfig{TLSCert: "c"}}, "nats.tls_cert and nats.tls_key: set both or neither"},
		{"http beyond loopback, no token", Config{HTTP: HTTPConfig{Addr: "0.0.0.0:0"}}, "config key http.addr"},
		{"half http tls", Config{HTTP: HTTPConfig{TLSKey: "k"}}, "http.tls_cert and http.tls_key: set both or neither"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.HTTP.Addr == "" {
				tc.cfg.HTTP.Addr = "127.0.0.1:0"
			}
			err := checkListeners(&tc.cfg)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestServeRefusesOpenNATSListener: serve refuses a NATS listener beyond
// loopback without credentials before it opens anything, naming the keys.
func TestServeRefusesOpenNATSListener(t *testing.T) {
	t.Chdir(t.TempDir())
	data := filepath.Join(t.TempDir(), "d")
	out, err := run(t, "serve", "--nats-listen", "0.0.0.0:0", "--http-token", "t", "--data-dir", data)
	require.Error(t, err, out)
	assert.Contains(t, err.Error(), "config key nats.listen")
	assert.Contains(t, err.Error(), "nats.listen_user and nats.listen_password")
	assert.NoDirExists(t, data, "nothing started")
}

func TestListenAuthKeys(t *testing.T) {
	kp, err := nkeys.CreateUser()
	require.NoError(t, err)
	pub, err := kp.PublicKey()
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "nkeys")
	require.NoError(t, os.WriteFile(file, []byte("# operators\n"+pub+"\n\n"), 0o600))
	a, err := listenAuth(NATSConfig{ListenNKeys: file})
	require.NoError(t, err)
	assert.Equal(t, []string{pub}, a.NKeys)

	_, err = listenAuth(NATSConfig{ListenUser: "ops"})
	assert.ErrorContains(t, err, "nats.listen_password")
	_, err = listenAuth(NATSConfig{ListenNKeys: filepath.Join(t.TempDir(), "missing")})
	assert.ErrorContains(t, err, "config key nats.listen_nkeys")
}

func TestAppConfigMetrics(t *testing.T) {
	for _, tc := range []struct {
		name   string
		http   HTTPConfig
		public bool
	}{
		{"loopback", HTTPConfig{Addr: "127.0.0.1:8080"}, true},
		{"loopback with a token", HTTPConfig{Addr: "[::1]:8080", Token: "t"}, true},
		{"beyond loopback", HTTPConfig{Addr: "0.0.0.0:8080", Token: "t"}, false},
		{"beyond loopback, public", HTTPConfig{Addr: "0.0.0.0:8080", Token: "t", MetricsPublic: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ac, err := appConfig(&Config{HTTP: tc.http})
			require.NoError(t, err)
			assert.Equal(t, tc.public, ac.HTTP.MetricsPublic)
		})
	}
}

// startApp starts a host from cfg as serve does.
func startApp(t *testing.T, cfg *Config) *app.App {
	t.Helper()
	cfg.DataDir = t.TempDir()
	require.NoError(t, checkListeners(cfg))
	ac, err := appConfig(cfg)
	require.NoError(t, err)
	a, err := app.New(t.Context(), ac)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, a.Shutdown(ctx))
	})
	return a
}

// TestServeNATSListenerLocked: serve's NATS listener with a token refuses a
// client without it and serves one with it; publish presents the token
// (and trusts the certificate) from the configuration it shares with serve.
func TestServeNATSListenerLocked(t *testing.T) {
	cert := tlstest.New(t)
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"token", false}, {"token and TLS", true}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{HTTP: HTTPConfig{Addr: "127.0.0.1:0"}, NATS: NATSConfig{Listen: "127.0.0.1:0", ListenToken: "s3cret"}}
			var secure []nats.Option
			if tc.tls {
				cfg.NATS.TLSCert, cfg.NATS.TLSKey = cert.CertFile, cert.KeyFile
				secure = append(secure, nats.Secure(cert.ClientConfig()))
			}
			a := startApp(t, cfg)
			addr := a.Embedded().Server().Addr().String()
			url := "nats://" + addr

			_, err := nats.Connect(url, append(secure, nats.MaxReconnects(0))...)
			require.ErrorIs(t, err, nats.ErrAuthorization)
			nc, err := nats.Connect(url, append(secure, nats.Token("s3cret"))...)
			require.NoError(t, err)
			nc.Close()

			t.Setenv("WASMFAAS_NATS_LISTEN", addr)
			if tc.tls {
				t.Setenv("WASMFAAS_NATS_TLS_CERT", cert.CertFile)
			}
			out, err := runPublish(t, "com.example.note", "--data", "hello")
			require.Error(t, err, "publish without the token: %s", out)
			t.Setenv("WASMFAAS_NATS_LISTEN_TOKEN", "s3cret")
			out, err = runPublish(t, "com.example.note", "--data", "hello")
			require.NoError(t, err, out)
			assert.Contains(t, out, "seq 1")
		})
	}
}

// startHTTP serves h as serve does, with cfg on 127.0.0.1.
func startHTTP(t *testing.T, cfg HTTPConfig, h http.Handler) string {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	hs, ln, err := newHTTPServer(cfg, h)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- serveHTTP(hs, ln) }()
	t.Cleanup(func() {
		_ = hs.Close()
		assert.ErrorIs(t, <-done, http.ErrServerClosed)
	})
	return ln.Addr().String()
}

func healthz(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }

func TestHTTPS(t *testing.T) {
	cert := tlstest.New(t)
	addr := startHTTP(t, HTTPConfig{TLSCert: cert.CertFile, TLSKey: cert.KeyFile}, http.HandlerFunc(healthz))

	c := &http.Client{Timeout: clientWait, Transport: &http.Transport{TLSClientConfig: cert.ClientConfig()}}
	resp, err := c.Get("https://" + addr + "/healthz")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok", string(b))

	// Plain HTTP gets net/http's 400 for a TLS port, never the handler.
	plain := &http.Client{Timeout: clientWait}
	resp, err = plain.Get("http://" + addr + "/healthz")
	if err == nil {
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.NotEqual(t, "ok", string(b))
	}

	_, _, err = newHTTPServer(HTTPConfig{Addr: "127.0.0.1:0", TLSCert: cert.CertFile, TLSKey: cert.CertFile}, http.HandlerFunc(healthz))
	assert.ErrorContains(t, err, "config keys http.tls_cert and http.tls_key")
}

// readBody is a handler that reads the whole body, as the API's do.
func readBody(w http.ResponseWriter, r *http.Request) {
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	_, _ = io.WriteString(w, "ok")
}

// waitClosed reads conn until the server closes it, and fails if that
// takes longer than clientWait.
func waitClosed(t *testing.T, conn net.Conn) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(clientWait)))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server did not close the connection within %s", clientWait)
}

// TestHTTPSlowBody: a client that sends its body a byte at a time is
// disconnected once http.read_timeout has passed.
func TestHTTPSlowBody(t *testing.T) {
	addr := startHTTP(t, HTTPConfig{ReadTimeout: 300 * time.Millisecond}, http.HandlerFunc(readBody))
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	require.NoError(t, err)

	stop := make(chan struct{})
	dripped := make(chan int)
	go func() {
		n := 0
		defer func() { dripped <- n }()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte{'x'}); err != nil {
					return
				}
				n++
			}
		}
	}()
	waitClosed(t, conn)
	close(stop)
	assert.Less(t, <-dripped, 1000, "the body was never complete")
}

// TestHTTPShortBody: a Content-Length larger than the body sent is
// disconnected after http.read_timeout.
func TestHTTPShortBody(t *testing.T) {
	addr := startHTTP(t, HTTPConfig{ReadTimeout: 300 * time.Millisecond}, http.HandlerFunc(readBody))
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
	require.NoError(t, err)
	waitClosed(t, conn)
}

// TestHTTPMaxConnections: with http.max_connections 2, a third connection
// is not served while two are open, and is served once one closes.
func TestHTTPMaxConnections(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	addr := startHTTP(t, HTTPConfig{MaxConnections: 2}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("X-Client"))
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	type client struct {
		conn net.Conn
		r    *bufio.Reader
	}
	dial := func() client {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		require.NoError(t, conn.SetDeadline(time.Now().Add(clientWait)))
		return client{conn, bufio.NewReader(conn)}
	}
	send := func(c client, id string) {
		_, err := fmt.Fprintf(c.conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Client: %s\r\n\r\n", id)
		require.NoError(t, err)
	}
	receive := func(c client) {
		t.Helper()
		resp, err := http.ReadResponse(c.r, nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}

	c1, c2 := dial(), dial()
	send(c1, "1")
	receive(c1)
	send(c2, "2")
	receive(c2) // both kept alive: both slots taken

	c3 := dial() // the kernel completes the handshake; the server does not accept it
	send(c3, "3")
	send(c2, "2 again") // the marker: a later request on an accepted connection
	receive(c2)
	mu.Lock()
	assert.NotContains(t, seen, "3", "the third connection was served while two were open")
	mu.Unlock()

	require.NoError(t, c1.conn.Close())
	receive(c3)
	mu.Lock()
	assert.True(t, slices.Contains(seen, "3"))
	assert.Equal(t, "3", seen[len(seen)-1])
	mu.Unlock()
}
