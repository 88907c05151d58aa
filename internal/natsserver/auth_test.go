package natsserver_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/natsserver"
	"github.com/wasmfaas/wasmfaas/internal/tlstest"
)

// TestListenerAuth: a client of the TCP listener without the credentials
// is refused, one with them is served, and the host's in-process
// connection still connects.
func TestListenerAuth(t *testing.T) {
	user, err := nkeys.CreateUser()
	require.NoError(t, err)
	pub, err := user.PublicKey()
	require.NoError(t, err)

	for _, tc := range []struct {
		name  string
		auth  natsserver.Auth
		good  nats.Option
		wrong nats.Option
	}{
		{"token", natsserver.Auth{Token: "s3cret"}, nats.Token("s3cret"), nats.Token("guess")},
		{"user and password", natsserver.Auth{User: "ops", Password: "s3cret"}, nats.UserInfo("ops", "s3cret"), nats.UserInfo("ops", "guess")},
		{"nkeys", natsserver.Auth{NKeys: []string{pub}}, nats.Nkey(pub, user.Sign), nats.Token("guess")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, natsserver.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Auth: tc.auth})
			url := s.ClientURL()

			_, err := nats.Connect(url, nats.MaxReconnects(0))
			require.ErrorIs(t, err, nats.ErrAuthorization, "no credentials")
			_, err = nats.Connect(url, tc.wrong, nats.MaxReconnects(0))
			require.ErrorIs(t, err, nats.ErrAuthorization, "wrong credentials")

			nc, err := nats.Connect(url, tc.good)
			require.NoError(t, err)
			defer nc.Close()
			require.NoError(t, nc.Flush())

			in, err := s.Conn()
			require.NoError(t, err, "the in-process connection presents the credentials")
			assert.NoError(t, in.Flush())
		})
	}
}

func TestListenerRefusesOpenNonLoopback(t *testing.T) {
	_, err := natsserver.Start(natsserver.Config{DataDir: t.TempDir(), Listen: "0.0.0.0:0"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not loopback and no auth")
}

func TestAuthValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		auth natsserver.Auth
		want string
	}{
		{"user without password", natsserver.Auth{User: "ops"}, "needs a password"},
		{"password without user", natsserver.Auth{Password: "x"}, "needs a user"},
		{"two methods", natsserver.Auth{Token: "t", User: "u", Password: "p"}, "set one of"},
		{"not a user key", natsserver.Auth{NKeys: []string{"SUAFOO"}}, "not a user public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.auth.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	assert.NoError(t, natsserver.Auth{}.Validate())
}

// TestListenerTLS: a client trusting the certificate connects over TLS; a
// plain client is refused; in-process connections need no TLS.
func TestListenerTLS(t *testing.T) {
	cert := tlstest.New(t)
	s := start(t, natsserver.Config{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", Auth: natsserver.Auth{Token: "s3cret"},
		TLSCert: cert.CertFile, TLSKey: cert.KeyFile,
	})
	url := s.ClientURL()

	nc, err := nats.Connect(url, nats.Token("s3cret"), nats.Secure(cert.ClientConfig()))
	require.NoError(t, err)
	defer nc.Close()
	require.NoError(t, nc.Flush())
	assert.True(t, nc.TLSRequired())

	_, err = nats.Connect(url, nats.Token("s3cret"), nats.MaxReconnects(0))
	assert.Error(t, err, "a client without the CA cannot verify the server")

	// A client that speaks the protocol in plain text is never answered:
	// the server reads its bytes as a TLS handshake and closes.
	conn, err := net.Dial("tcp", s.Server().Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	r := bufio.NewReader(conn)
	info, err := r.ReadString('\n')
	require.NoError(t, err)
	assert.Contains(t, info, `"tls_required":true`)
	_, err = conn.Write([]byte("CONNECT {\"auth_token\":\"s3cret\"}\r\nPING\r\n"))
	require.NoError(t, err)
	rest, err := io.ReadAll(r)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server closes the connection")
	assert.NotContains(t, string(rest), "PONG")

	in, err := s.Conn()
	require.NoError(t, err)
	assert.NoError(t, in.Flush())

	_, err = natsserver.Start(natsserver.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", TLSCert: cert.CertFile})
	assert.ErrorContains(t, err, "needs a key")
}
