package natsserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats-server/v2/server"
)

// ClusterConfig joins the embedded server to other nodes through NATS
// routes, forming one JetStream cluster. The zero value is a single node.
type ClusterConfig struct {
	// Name is the cluster's name, the same on every node; empty means not
	// clustered (and every other field must be empty too).
	Name string
	// Listen is the route listener's address ("10.0.0.1:6222"; an empty
	// host binds DefaultHost, port 0 picks a free port). Required with
	// Name.
	Listen string
	// Routes are seed URLs of the cluster's nodes ("nats://10.0.0.2:6222"),
	// at least one. They may include this node's own address, which
	// nats-server skips: every node can be given the same list. JetStream
	// counts them to size the cluster before it has met its peers, so list
	// every node.
	Routes []string
	// User and Password are the route credentials: the route listener
	// requires them and this node presents them on its routes (a route URL
	// with credentials of its own keeps them). Both or neither; required
	// when Listen is not a loopback address.
	User, Password string
}

// set reports whether any field is set.
func (c ClusterConfig) set() bool {
	return c.Name != "" || c.Listen != "" || len(c.Routes) > 0 || c.User != "" || c.Password != ""
}

// apply checks c and configures opts to join the cluster: the route
// listener and its credentials, the routes (with backoff between connect
// attempts) and, when serverName is empty, a server name derived from
// the listen address.
func (c ClusterConfig) apply(opts *server.Options) error {
	if c.Name == "" {
		if c.set() {
			return errors.New("cluster: a listen address, routes or credentials are set without a cluster name")
		}
		return nil
	}
	if strings.ContainsAny(c.Name, " \t\r\n") {
		return fmt.Errorf("cluster: name %q has spaces", c.Name)
	}
	if c.Listen == "" {
		return errors.New("cluster: a clustered server needs a route listen address")
	}
	if len(c.Routes) == 0 {
		return errors.New("cluster: JetStream needs at least one route; list every node's route address, this node's included")
	}
	if (c.User == "") != (c.Password == "") {
		return errors.New("cluster: a route user needs a password and a password needs a user")
	}
	if !Loopback(c.Listen) && c.User == "" {
		return fmt.Errorf("cluster: route listen address %q is not loopback and no route user and password are set", c.Listen)
	}
	host, port, err := splitListen(c.Listen)
	if err != nil {
		return fmt.Errorf("cluster: route %w", err)
	}
	routes := make([]*url.URL, 0, len(c.Routes))
	for _, r := range c.Routes {
		u, err := routeURL(r)
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		if u.User == nil && c.User != "" {
			u.User = url.UserPassword(c.User, c.Password)
		}
		routes = append(routes, u)
	}
	if opts.ServerName == "" {
		if opts.ServerName, err = serverName(host, port); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	opts.Cluster = server.ClusterOpts{
		Name: c.Name, Host: host, Port: port,
		Username: c.User, Password: c.Password,
		// A node whose peers are down retries every second, then every
		// 2, 4 … up to 30 seconds, instead of every second for ever.
		ConnectBackoff: true,
	}
	if port == 0 {
		opts.Cluster.Port = server.RANDOM_PORT
	}
	opts.Routes = routes
	return nil
}

// routeURL parses a route seed: nats:// or nats-route:// with a host and
// a port.
func routeURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme != "nats" && u.Scheme != "nats-route" {
		return nil, fmt.Errorf("route %q: want nats://host:port", s)
	}
	if _, p, err := net.SplitHostPort(u.Host); err != nil || u.Hostname() == "" || p == "" {
		return nil, fmt.Errorf("route %q: want nats://host:port", s)
	}
	return u, nil
}

// serverName is the name of a node whose route listener binds host:port:
// "wasmfaas-<host>-<port>", the machine's host name standing in for a
// wildcard host. It stays the same across restarts as long as the
// listener does, which JetStream needs; a kernel-picked port gives no
// stable name, so it is refused.
func serverName(host string, port int) (string, error) {
	if port == 0 {
		return "", errors.New("route listen port 0 gives no stable server name; set a server name")
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return "", fmt.Errorf("route listen address %s: no host name to name the server after (%v); set a server name", host, err)
		}
		host = h
	}
	host = strings.NewReplacer(":", "_", "[", "", "]", "").Replace(host)
	return "wasmfaas-" + host + "-" + strconv.Itoa(port), nil
}

// ClusterURL returns the nats:// URL of the route listener, for other
// nodes' routes; empty when not clustered.
func (s *Server) ClusterURL() string {
	a := s.srv.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats://" + a.String()
}

// Peers returns the names of the servers this node has routes to, sorted.
func (s *Server) Peers() []string {
	rz, err := s.srv.Routez(&server.RoutezOptions{})
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range rz.Routes {
		if !slices.Contains(out, r.RemoteName) {
			out = append(out, r.RemoteName)
		}
	}
	slices.Sort(out)
	return out
}

// Clustered reports whether the server was configured to join a cluster.
func (s *Server) Clustered() bool { return s.clustered }

// Waiting says what a clustered server's JetStream still waits for
// before it can create streams with replicas: a meta leader (with the
// peers whose routes fail), or enough peers; empty when it has a meta
// leader and replicas peers are online, or when not clustered.
func (s *Server) Waiting(replicas int) string {
	if !s.clustered {
		return ""
	}
	var unreachable string
	if peers := s.routes.failing(); len(peers) > 0 {
		unreachable = "; unreachable routes: " + strings.Join(peers, ", ")
	}
	jsz, err := s.srv.Jsz(&server.JSzOptions{})
	if err != nil || jsz.Meta == nil || jsz.Meta.Leader == "" {
		peers := "no other node"
		if p := s.Peers(); len(p) > 0 {
			peers = strings.Join(p, ", ")
		}
		return fmt.Sprintf("no JetStream meta leader: a majority of the cluster's nodes must be up to elect one, and this node is connected to %s%s",
			peers, unreachable)
	}
	// The meta group's peers as this node sees them: the leader lists the
	// others, a follower lists the others and the leader.
	online := map[string]bool{jsz.Meta.Leader: true, s.srv.Name(): true}
	for _, p := range jsz.Meta.Replicas {
		if !p.Offline {
			online[p.Name] = true
		}
	}
	if len(online) < replicas {
		return fmt.Sprintf("replicas %d need %d JetStream nodes and %d are online (meta leader %s)%s",
			replicas, replicas, len(online), jsz.Meta.Leader, unreachable)
	}
	return ""
}

// routeConnErr is the format nats-server logs a failed route connect
// attempt with: on the first attempt at ERROR and then at DEBUG when it
// never connected, at ERROR on every attempt once a route was lost.
const routeConnErr = "Error trying to connect to route (attempt %v): %v"

// routeCreated is the notice nats-server logs (after "<addr> - rid:<n> - ")
// when a route connection is made.
const routeCreated = "Route connection created"

// routeLog dedupes failed route connect attempts: the first failure to
// reach a peer is logged once at WARN, later ones not at all, until a
// route to that peer is made; a later failure logs once again.
type routeLog struct {
	// attempts counts failed attempts, for tests.
	attempts atomic.Int64

	mu   sync.Mutex
	down map[string]bool // peer address → failed since its last route
}

// failed records a failed attempt on peer and reports whether it is the
// first since the peer was last reached.
func (r *routeLog) failed(peer string) bool {
	r.attempts.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down == nil {
		r.down = map[string]bool{}
	}
	if r.down[peer] {
		return false
	}
	r.down[peer] = true
	return true
}

// connected forgets the failures of peer.
func (r *routeLog) connected(peer string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.down, peer)
}

// failing lists the peers that failed since they were last reached.
func (r *routeLog) failing() []string {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.down))
	for p := range r.down {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// handle takes the log lines about routes: a failed connect attempt (the
// first for its peer logged at WARN, the others dropped) and a route made
// (the peer's failures forgotten, the line logged as usual). It reports
// whether it logged or dropped the line itself.
func (r *routeLog) handle(log *slog.Logger, format string, v []any) bool {
	if r == nil {
		return false
	}
	if format == routeConnErr && len(v) == 2 {
		err, _ := v[1].(error)
		peer := fmt.Sprint(v[1])
		var op *net.OpError
		if errors.As(err, &op) && op.Addr != nil {
			peer = op.Addr.String()
		}
		if r.failed(peer) {
			log.Warn("cannot connect to cluster route; retrying with backoff, logged again only after it has connected",
				"peer", peer, "error", fmt.Sprint(v[1]))
		}
		return true
	}
	if before, ok := strings.CutSuffix(format, " - "+routeCreated); ok {
		// before is "<addr> - rid:<n>", the connection's remote address.
		if addr, _, ok := strings.Cut(before, " - rid:"); ok {
			r.connected(addr)
		}
	}
	return false
}
