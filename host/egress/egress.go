package egress

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wasmfaas/wasmfaas/abi"
)

// docs/RATIONALE.md, "Why is the address checked at dial time, and why may
// a name not reach loopback?", says why this package works the way it does.

// Resolver resolves host names for the http capability; *net.Resolver is
// one.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Dialer opens the TCP connections of the http capability, to an address
// the host has already checked; *net.Dialer is one.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Config is how clients reach the network. The zero value uses
// net.DefaultResolver and a net.Dialer. Tests replace the resolver to make
// a name resolve to loopback, and the dialer to reach a local server
// through an address the policy treats as public.
type Config struct {
	Resolver Resolver
	Dialer   Dialer
	// RootCAs are the certificate authorities HTTPS servers are checked
	// against; nil means the system's.
	RootCAs *x509.CertPool
}

// maxRedirects is how many redirects one request follows
// (abi/README.md §4, "http").
const maxRedirects = 5

// maxDialTimeout bounds one connection attempt, which the transport runs
// detached from the request (a later request may use the connection), so
// a black-holed address does not hold a dial for long.
const maxDialTimeout = 30 * time.Second

// maxURLLen bounds the URL a guest passes.
const maxURLLen = 8 << 10

// hostRule is one allow-list entry.
type hostRule struct {
	raw      string
	name     string     // lower case; for a wildcard the suffix with its dot (".example.com")
	ip       netip.Addr // valid when the entry is an IP literal
	wildcard bool
	port     uint16 // 0: the scheme's default port
}

// AllowList is a function's parsed allowed_hosts.
type AllowList []hostRule

// Entries returns the entries as written.
func (a AllowList) Entries() []string {
	out := make([]string, len(a))
	for i, r := range a {
		out[i] = r.raw
	}
	return out
}

// ParseAllowedHost checks one allowed_hosts entry; it returns an error
// saying what is wrong with it.
func ParseAllowedHost(entry string) error {
	_, err := parseHostRule(entry)
	return err
}

// ParseAllowList parses allowed_hosts entries; the first malformed one is
// an error naming it.
func ParseAllowList(entries []string) (AllowList, error) {
	out := make(AllowList, 0, len(entries))
	for _, e := range entries {
		r, err := parseHostRule(e)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func parseHostRule(entry string) (hostRule, error) {
	r := hostRule{raw: entry}
	bad := func(why string) (hostRule, error) {
		return hostRule{}, fmt.Errorf("allowed host %q: %s", entry, why)
	}
	if entry == "" {
		return bad("empty")
	}
	if strings.Contains(entry, "://") || strings.ContainsAny(entry, "/?#@ \t") {
		return bad("want a host name, host:port, *.domain or an IP address, without scheme, path or user info")
	}
	host, port := entry, ""
	switch {
	case strings.HasPrefix(entry, "["):
		end := strings.Index(entry, "]")
		if end < 0 {
			return bad("unclosed [")
		}
		host, port = entry[1:end], entry[end+1:]
		if port != "" {
			if !strings.HasPrefix(port, ":") {
				return bad("want [IPv6]:port")
			}
			port = port[1:]
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return bad("[…] must hold an IPv6 address")
		}
		r.ip = ip
	case strings.Count(entry, ":") > 1:
		ip, err := netip.ParseAddr(entry)
		if err != nil || ip.Zone() != "" {
			return bad("not an IPv6 address (write [addr]:port with a port)")
		}
		r.ip, host = ip, entry
	default:
		if h, p, ok := strings.Cut(entry, ":"); ok {
			host, port = h, p
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			r.ip = ip
		}
	}
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return bad(fmt.Sprintf("port %q must be 1-65535", port))
		}
		r.port = uint16(n)
	}
	if r.ip.IsValid() {
		r.ip = r.ip.Unmap()
		r.name = r.ip.String()
		return r, nil
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		if strings.Count(rest, ".") < 1 {
			return bad("a wildcard needs a suffix of at least two labels (*.example.com)")
		}
		r.wildcard, host = true, rest
	}
	if err := checkHostName(host); err != nil {
		return bad(err.Error())
	}
	if r.wildcard {
		r.name = "." + host
	} else {
		r.name = host
	}
	return r, nil
}

// checkHostName accepts an ASCII DNS name: labels of [a-z0-9-] (and _,
// which some service names use), 1-63 bytes each, 253 in all.
func checkHostName(h string) error {
	if h == "" || len(h) > 253 {
		return errors.New("a host name is 1-253 characters")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("each label of a host name is 1-63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("a label may not start or end with '-'")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				if c >= 0x80 {
					return errors.New("host names must be ASCII (use the punycode form, xn--…)")
				}
				return fmt.Errorf("character %q is not allowed in a host name", c)
			}
		}
	}
	return nil
}

// match returns the entry that allows host (lower case, no trailing dot)
// on port, preferring an exact entry to a wildcard. scheme decides which
// port an entry without one allows; an empty scheme allows 80 and 443
// (the dial-time check, which does not know the scheme; the request-time
// check does).
func (a AllowList) match(host string, port uint16, scheme string) (hostRule, bool) {
	portOK := func(r hostRule) bool {
		if r.port != 0 {
			return r.port == port
		}
		switch scheme {
		case "http":
			return port == 80
		case "https":
			return port == 443
		}
		return port == 80 || port == 443
	}
	ip, err := netip.ParseAddr(host)
	isIP := err == nil
	if isIP {
		ip = ip.Unmap()
	}
	var wild *hostRule
	for i := range a {
		r := &a[i]
		if !portOK(*r) {
			continue
		}
		switch {
		case r.ip.IsValid():
			if isIP && r.ip == ip {
				return *r, true
			}
		case r.wildcard:
			if !isIP && wild == nil && strings.HasSuffix(host, r.name) && len(host) > len(r.name) {
				wild = r
			}
		default:
			if !isIP && r.name == host {
				return *r, true
			}
		}
	}
	if wild != nil {
		return *wild, true
	}
	return hostRule{}, false
}

// addrClass sorts addresses for the policy of abi/README.md §4, "http".
type addrClass int

const (
	addrPublic addrClass = iota
	addrPrivate
	addrRestricted
)

var (
	cgnat       = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	broadcast   = netip.MustParseAddr("255.255.255.255")
)

func classify(ip netip.Addr) (addrClass, string) {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return addrRestricted, "a loopback address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return addrRestricted, "a link-local address"
	case ip.IsUnspecified(), ip.Is4() && thisNetwork.Contains(ip):
		return addrRestricted, "an unspecified address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return addrRestricted, "a multicast address"
	case ip == broadcast:
		return addrRestricted, "the broadcast address"
	case ip.IsPrivate(), cgnat.Contains(ip):
		return addrPrivate, "a private address"
	}
	return addrPublic, ""
}

// allows reports whether the entry r lets a request connect to ip, and if
// not, why.
func (r hostRule) allows(ip netip.Addr) (bool, string) {
	ip = ip.Unmap()
	class, what := classify(ip)
	switch class {
	case addrRestricted:
		if r.ip.IsValid() && r.ip == ip {
			return true, ""
		}
		if r.name == "localhost" && !r.wildcard && ip.IsLoopback() {
			return true, ""
		}
		return false, what + ", which only an allow-list entry naming that IP allows"
	case addrPrivate:
		if r.wildcard {
			return false, what + ", which a wildcard entry does not allow (list the name or the IP)"
		}
	}
	return true, ""
}

// deniedError is a request the policy refused; its message names the host.
type deniedError struct{ msg string }

func (e *deniedError) Error() string { return e.msg }

// notAllowed is the message for a host no entry allows.
func notAllowed(host string, port uint16) *deniedError {
	return &deniedError{msg: fmt.Sprintf("host %s (port %d) is not on the function's allow-list", host, port)}
}

// Client is one function's outbound HTTP client. Each function has its
// own, so a connection dialled under one function's allow-list is never
// reused by another's request. It is safe for concurrent use.
type Client struct {
	allow     AllowList
	resolver  Resolver
	dialer    Dialer
	transport *http.Transport
	client    *http.Client
}

// New returns a client that reaches only what allow allows.
func New(cfg Config, allow AllowList) *Client {
	hc := &Client{allow: allow, resolver: cfg.Resolver, dialer: cfg.Dialer}
	if hc.resolver == nil {
		hc.resolver = net.DefaultResolver
	}
	if hc.dialer == nil {
		hc.dialer = &net.Dialer{}
	}
	hc.transport = &http.Transport{
		Proxy:               nil, // the client connects itself; a proxy would bypass the address check
		DialContext:         hc.dial,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
	}
	hc.client = &http.Client{Transport: hc.transport, CheckRedirect: hc.checkRedirect}
	return hc
}

// AllowList returns the client's allow-list.
func (hc *Client) AllowList() AllowList { return hc.allow }

// Close closes idle connections; requests in flight finish.
func (hc *Client) Close() { hc.transport.CloseIdleConnections() }

// checkRedirect follows a redirect only to an allowed host; past
// maxRedirects the last redirect response is the answer.
func (hc *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return http.ErrUseLastResponse
	}
	host, port, err := urlHostPort(req.URL)
	if err != nil {
		return &deniedError{msg: "redirect refused: " + err.Error()}
	}
	if _, ok := hc.allow.match(host, port, req.URL.Scheme); !ok {
		return &deniedError{msg: fmt.Sprintf("redirect to host %s (port %d) refused: it is not on the function's allow-list", host, port)}
	}
	return nil
}

// dial resolves addr's host, keeps the addresses the matching entry
// allows, and connects to the first that answers.
func (hc *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("bad port in %q", addr)
	}
	port := uint16(p)
	host = strings.ToLower(host)
	rule, ok := hc.allow.match(host, port, "")
	if !ok {
		return nil, notAllowed(host, port)
	}
	ctx, cancel := context.WithTimeout(ctx, maxDialTimeout)
	defer cancel()
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		addrs, err := hc.resolver.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok {
				ips = append(ips, ip.Unmap())
			}
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("resolve %s: no addresses", host)
		}
	}
	var refused string
	var lastErr error
	for _, ip := range ips {
		if ok, why := rule.allows(ip); !ok {
			if refused == "" {
				refused = fmt.Sprintf("host %s resolves to %s, %s", host, ip, why)
				if ip.String() == host {
					refused = fmt.Sprintf("host %s is %s", host, why)
				}
			}
			continue
		}
		conn, err := hc.dialer.DialContext(ctx, network, netip.AddrPortFrom(ip, port).String())
		if err == nil {
			return conn, nil
		}
		lastErr = err
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return nil, &deniedError{msg: refused}
}

// urlHostPort returns u's host in lower case without a trailing dot, and
// its port (the scheme's default when absent).
func urlHostPort(u *url.URL) (string, uint16, error) {
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", 0, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return "", 0, errors.New("the URL has no host")
	}
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			return "", 0, fmt.Errorf("host %q is not ASCII (use the punycode form, xn--…)", host)
		}
	}
	port := uint16(80)
	if u.Scheme == "https" {
		port = 443
	}
	if ps := u.Port(); ps != "" {
		p, err := strconv.ParseUint(ps, 10, 16)
		if err != nil || p == 0 {
			return "", 0, fmt.Errorf("port %q must be 1-65535", ps)
		}
		port = uint16(p)
	}
	return host, port, nil
}

// hopHeaders are set by the client, never by the guest.
var hopHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Keep-Alive": true,
	"Proxy-Connection": true, "Proxy-Authorization": true, "Proxy-Authenticate": true, "Te": true, "Trailer": true, "Upgrade": true,
}

// Request is a guest's request as the ABI passes it.
type Request struct {
	Method  string // "" is GET
	URL     string
	Headers []byte // name NUL value NUL pairs
	Body    []byte
	// Timeout bounds the whole exchange, body included; TimeoutWhy says
	// whose limit it is, for the message ("the call's deadline").
	Timeout    time.Duration
	TimeoutWhy string
	// MaxResponseBytes bounds the decoded response body.
	MaxResponseBytes int
}

// Response is a whole answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// HeaderValues returns the values of the header name (case-insensitive).
func (r *Response) HeaderValues(name string) []string { return r.Header.Values(name) }

// HeaderPairs returns every header line, names in lower case, sorted by
// name, values in the order received.
func (r *Response) HeaderPairs() []abi.Pair {
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	var pairs []abi.Pair
	for _, k := range names {
		for _, v := range r.Header[k] {
			pairs = append(pairs, abi.Pair{Name: strings.ToLower(k), Value: v})
		}
	}
	return pairs
}

// Error is a request that got no response: the ABI status the guest gets
// and a message naming the host, never the URL (whose query may hold
// secrets).
type Error struct {
	Code abi.Status
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func errorf(code abi.Status, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// Target returns the "host:port" a request's URL names, or "" when it
// does not parse: what an ExecutionInfo records.
func Target(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	host, port, err := urlHostPort(u)
	if err != nil {
		return ""
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// build validates the guest's request and makes it, or says why not.
func (hc *Client) build(ctx context.Context, r Request) (*http.Request, string, uint16, *Error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	if !validToken(method) || len(method) > 32 {
		return nil, "", 0, errorf(abi.Invalid, "method %q is not an HTTP method token", method)
	}
	if strings.EqualFold(method, http.MethodConnect) {
		return nil, "", 0, errorf(abi.Invalid, "method CONNECT is not allowed")
	}
	if len(r.URL) > maxURLLen {
		return nil, "", 0, errorf(abi.Invalid, "URL is %d bytes, limit %d", len(r.URL), maxURLLen)
	}
	if !utf8.ValidString(r.URL) || strings.ContainsAny(r.URL, "\x00\r\n") {
		return nil, "", 0, errorf(abi.Invalid, "URL must be UTF-8 without NUL, CR or LF")
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		// url.Error quotes the URL; say what is wrong without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, "", 0, errorf(abi.Invalid, "URL does not parse: %v", err)
	}
	if !u.IsAbs() || u.Opaque != "" {
		return nil, "", 0, errorf(abi.Invalid, "URL must be absolute (http://host/…)")
	}
	host, port, err := urlHostPort(u)
	if err != nil {
		return nil, "", 0, errorf(abi.Invalid, "URL: %v", err)
	}
	if _, ok := hc.allow.match(host, port, u.Scheme); !ok {
		return nil, host, port, &Error{Code: abi.Denied, Msg: notAllowed(host, port).msg}
	}
	pairs, err := abi.SplitPairs(r.Headers)
	if err != nil {
		return nil, host, port, errorf(abi.Invalid, "headers block: %v", err)
	}
	u.Fragment, u.RawFragment = "", ""
	var body io.Reader
	if len(r.Body) > 0 {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, host, port, errorf(abi.Invalid, "request: %v", err)
	}
	req.Header.Set("User-Agent", "wasmfaas")
	ua := false
	for _, p := range pairs {
		if !validToken(p.Name) {
			return nil, host, port, errorf(abi.Invalid, "header name %q is not a token", p.Name)
		}
		if strings.ContainsAny(p.Value, "\r\n\x00") {
			return nil, host, port, errorf(abi.Invalid, "header %s: value contains CR, LF or NUL", p.Name)
		}
		name := http.CanonicalHeaderKey(p.Name)
		if hopHeaders[name] {
			return nil, host, port, errorf(abi.Invalid, "header %s is set by the host", name)
		}
		if name == "User-Agent" && !ua {
			req.Header.Del(name)
			ua = true
		}
		req.Header.Add(name, p.Value)
	}
	return req, host, port, nil
}

// Do sends r and reads the whole response within r.Timeout and ctx. It
// returns the response, or an *Error; target is the "host:port" that
// answered (after redirects), or the one refused.
func (hc *Client) Do(ctx context.Context, r Request) (resp *Response, target string, fail *Error) {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	req, host, port, fail := hc.build(ctx, r)
	if host != "" {
		target = net.JoinHostPort(host, strconv.Itoa(int(port)))
	}
	if fail != nil {
		return nil, target, fail
	}
	hr, err := hc.client.Do(req)
	if err != nil {
		return nil, target, classifyError(ctx, err, host, port, r.TimeoutWhy)
	}
	defer hr.Body.Close()
	if hr.Request != nil && hr.Request.URL != nil && hr.Request.URL.Host != req.URL.Host {
		if h, p, err := urlHostPort(hr.Request.URL); err == nil {
			host, port = h, p
			target = net.JoinHostPort(h, strconv.Itoa(int(p)))
		}
	}
	max := r.MaxResponseBytes
	if hr.ContentLength > int64(max) {
		return nil, target, errorf(abi.TooLarge, "response from host %s (port %d) is %d bytes; the function's max_http_response_bytes is %d", host, port, hr.ContentLength, max)
	}
	b, err := io.ReadAll(io.LimitReader(hr.Body, int64(max)+1))
	if err != nil {
		return nil, target, classifyError(ctx, err, host, port, r.TimeoutWhy)
	}
	if len(b) > max {
		return nil, target, errorf(abi.TooLarge, "response from host %s (port %d) is over %d bytes, the function's max_http_response_bytes", host, port, max)
	}
	return &Response{Status: hr.StatusCode, Header: hr.Header, Body: b}, target, nil
}

// classifyError maps a client error to a status and a message naming the
// host, never the URL.
func classifyError(ctx context.Context, err error, host string, port uint16, why string) *Error {
	var de *deniedError
	if errors.As(err, &de) {
		return &Error{Code: abi.Denied, Msg: de.msg}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		if ctx.Err() == context.Canceled {
			return errorf(abi.Unavailable, "request to host %s (port %d) cancelled: the caller gave up", host, port)
		}
		return errorf(abi.Timeout, "host %s (port %d) did not answer within %s", host, port, why)
	}
	return errorf(abi.Unavailable, "request to host %s (port %d) failed: %v", host, port, err)
}
