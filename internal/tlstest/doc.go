// Package tlstest makes a throwaway self-signed certificate for tests of
// TLS listeners on 127.0.0.1 and [::1].
package tlstest
