package egress

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAllowListParse(t *testing.T) {
	for _, tt := range []struct {
		entry string
		want  string // error substring; "" for valid
	}{
		{"api.example.com", ""},
		{"API.Example.COM.", ""},
		{"api.example.com:8443", ""},
		{"*.example.com", ""},
		{"*.example.com:8443", ""},
		{"127.0.0.1", ""},
		{"127.0.0.1:8081", ""},
		{"[::1]:8081", ""},
		{"::1", ""},
		{"localhost", ""},
		{"my_service.internal", ""},
		{"", "empty"},
		{"http://api.example.com", "without scheme"},
		{"api.example.com/path", "without scheme, path"},
		{"user@api.example.com", "user info"},
		{"*.com", "at least two labels"},
		{"*", "not allowed in a host name"},
		{"a.*.example.com", `character '*'`},
		{"api.example.com:0", "1-65535"},
		{"api.example.com:70000", "1-65535"},
		{"api.example.com:x", "1-65535"},
		{"[127.0.0.1]:80", "IPv6"},
		{"[::1", "unclosed"},
		{"bücher.example", "punycode"},
		{"-bad.example.com", "start or end with '-'"},
		{"a..b", "1-63"},
	} {
		t.Run(tt.entry, func(t *testing.T) {
			err := ParseAllowedHost(tt.entry)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "allowed host", "the message names the entry")
		})
	}
}

func TestAllowListMatch(t *testing.T) {
	list, err := ParseAllowList([]string{"api.example.com", "*.example.org", "*.example.org:8443", "svc.example.net:8081", "127.0.0.1:9000", "[::1]:9001", "203.0.113.7"})
	require.NoError(t, err)
	for _, tt := range []struct {
		host   string
		port   uint16
		scheme string
		want   string // the entry that matches, "" for none
	}{
		{"api.example.com", 443, "https", "api.example.com"},
		{"api.example.com", 80, "http", "api.example.com"},
		{"api.example.com", 80, "https", ""},
		{"api.example.com", 8080, "http", ""},
		{"other.example.com", 443, "https", ""},
		{"x.api.example.com", 443, "https", ""},
		{"a.example.org", 443, "https", "*.example.org"},
		{"a.b.example.org", 80, "http", "*.example.org"},
		{"a.example.org", 8443, "https", "*.example.org:8443"},
		{"example.org", 443, "https", ""},
		{"badexample.org", 443, "https", ""},
		{"svc.example.net", 8081, "http", "svc.example.net:8081"},
		{"svc.example.net", 80, "http", ""},
		{"127.0.0.1", 9000, "http", "127.0.0.1:9000"},
		{"127.0.0.1", 80, "http", ""},
		{"::1", 9001, "http", "[::1]:9001"},
		{"::ffff:203.0.113.7", 443, "https", "203.0.113.7"},
		{"203.0.113.7", 80, "", "203.0.113.7"},
	} {
		r, ok := list.match(tt.host, tt.port, tt.scheme)
		if tt.want == "" {
			assert.False(t, ok, "%s:%d %s matched %s", tt.host, tt.port, tt.scheme, r.raw)
			continue
		}
		if assert.True(t, ok, "%s:%d %s", tt.host, tt.port, tt.scheme) {
			assert.Equal(t, tt.want, r.raw, "%s:%d %s", tt.host, tt.port, tt.scheme)
		}
	}
	none, err := ParseAllowList(nil)
	require.NoError(t, err)
	_, ok := none.match("api.example.com", 443, "https")
	assert.False(t, ok, "an empty list allows nothing")
}

// TestAddressPolicy: restricted addresses need the IP literal (or
// localhost for loopback), private ones an exact entry.
func TestAddressPolicy(t *testing.T) {
	rule := func(e string) hostRule {
		r, err := parseHostRule(e)
		require.NoError(t, err)
		return r
	}
	for _, tt := range []struct {
		entry, ip string
		ok        bool
		why       string
	}{
		{"api.example.com", "93.184.215.14", true, ""},
		{"*.example.com", "93.184.215.14", true, ""},
		{"api.example.com", "127.0.0.1", false, "loopback"},
		{"api.example.com", "127.8.9.10", false, "loopback"},
		{"api.example.com", "::1", false, "loopback"},
		{"api.example.com", "::ffff:127.0.0.1", false, "loopback"},
		{"api.example.com", "169.254.169.254", false, "link-local"},
		{"api.example.com", "fe80::1", false, "link-local"},
		{"api.example.com", "0.0.0.0", false, "unspecified"},
		{"api.example.com", "::", false, "unspecified"},
		{"api.example.com", "239.1.2.3", false, "multicast"},
		{"api.example.com", "255.255.255.255", false, "broadcast"},
		{"127.0.0.1:8081", "127.0.0.1", true, ""},
		{"127.0.0.1", "127.0.0.2", false, "loopback"},
		{"169.254.169.254", "169.254.169.254", true, ""},
		{"localhost:8081", "127.0.0.1", true, ""},
		{"localhost", "::1", true, ""},
		{"localhost", "169.254.169.254", false, "link-local"},
		{"db.internal", "10.1.2.3", true, ""},
		{"db.internal", "192.168.1.1", true, ""},
		{"db.internal", "fd00::1", true, ""},
		{"*.internal.example", "10.1.2.3", false, "wildcard"},
		{"*.internal.example", "100.64.0.1", false, "wildcard"},
		{"10.1.2.3", "10.1.2.3", true, ""},
	} {
		ok, why := rule(tt.entry).allows(netip.MustParseAddr(tt.ip))
		assert.Equal(t, tt.ok, ok, "%s → %s: %s", tt.entry, tt.ip, why)
		if tt.why != "" {
			assert.Contains(t, why, tt.why, "%s → %s", tt.entry, tt.ip)
		}
	}
}
