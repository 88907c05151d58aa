package natsserver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Auth is what a client of the embedded server must present: a token, a
// user name and password, or an nkey whose public key is in NKeys. At most
// one of the three is set; the zero value requires nothing. The host's own
// in-process connections present the same credentials (an nkey of their
// own with NKeys); see docs/RATIONALE.md, "Why do in-process connections
// authenticate too?".
type Auth struct {
	Token          string
	User, Password string
	// NKeys are user public keys ("U…"), each allowed to connect by
	// signing the server's nonce with its seed.
	NKeys []string
}

// Set reports whether a is not the zero value.
func (a Auth) Set() bool {
	return a.Token != "" || a.User != "" || a.Password != "" || len(a.NKeys) > 0
}

// Validate reports a half-set or ambiguous Auth: a user without a password
// (or the reverse), more than one method, an nkey that is not a user public
// key.
func (a Auth) Validate() error {
	methods := 0
	if a.Token != "" {
		methods++
	}
	if a.User != "" || a.Password != "" {
		methods++
		if a.User == "" || a.Password == "" {
			return errors.New("a user needs a password and a password needs a user")
		}
	}
	if len(a.NKeys) > 0 {
		methods++
		for _, k := range a.NKeys {
			if !nkeys.IsValidPublicUserKey(k) {
				return fmt.Errorf("nkey %q is not a user public key (it starts with U)", k)
			}
		}
	}
	if methods > 1 {
		return errors.New("set one of a token, a user and password, or nkeys")
	}
	return nil
}

// apply configures opts to require a, and returns the options an
// in-process connection needs to pass. With NKeys it makes a key pair for
// the host that lives only in this process's memory.
func (a Auth) apply(opts *server.Options) ([]nats.Option, error) {
	switch {
	case a.Token != "":
		opts.Authorization = a.Token
		return []nats.Option{nats.Token(a.Token)}, nil
	case a.User != "":
		opts.Username, opts.Password = a.User, a.Password
		return []nats.Option{nats.UserInfo(a.User, a.Password)}, nil
	case len(a.NKeys) > 0:
		kp, err := nkeys.CreateUser()
		if err != nil {
			return nil, fmt.Errorf("make the host's nkey: %w", err)
		}
		pub, err := kp.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("make the host's nkey: %w", err)
		}
		for _, k := range append(a.NKeys, pub) {
			opts.Nkeys = append(opts.Nkeys, &server.NkeyUser{Nkey: k})
		}
		return []nats.Option{nats.Nkey(pub, kp.Sign)}, nil
	}
	return nil, nil
}

// tlsConfig is the listener's TLS configuration from a PEM certificate
// (chain) file and its key file; nil when neither is set.
func tlsConfig(cert, key string) (*tls.Config, error) {
	if cert == "" && key == "" {
		return nil, nil
	}
	if cert == "" || key == "" {
		return nil, errors.New("tls: a certificate needs a key and a key needs a certificate")
	}
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cert, KeyFile: key})
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return tc, nil
}

// Loopback reports whether listen binds a loopback address only; a listen
// address without a host binds DefaultHost.
func Loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "" || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
