package natstest

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/natsserver"
)

// ClusterName is the name of every test cluster.
const ClusterName = "natstest"

// Nodes is a cluster of embedded nats-server nodes with JetStream, joined
// by routes, all on 127.0.0.1; see Cluster.
type Nodes struct {
	t    testing.TB
	seed *Seed

	mu    sync.Mutex
	nodes []*node
}

// node is one member of a cluster. opts keeps its name, data directory and
// the client and cluster ports it got on its first start.
type node struct {
	opts *server.Options
	srv  *server.Server // nil while stopped
}

// Cluster starts n nodes with JetStream forming one cluster and waits until
// it is ready (WaitReady); t.Cleanup stops them. Each node has its own data
// directory under t.TempDir().
//
// Every port is picked by the kernel. nats-server refuses to start a
// JetStream node without a configured route, and the first node cannot
// know an address before anything listens, so the cluster has one more
// server: a Seed, started first on cluster port 0, whose actual cluster
// address every node routes to (nats-server's own tests point routes at
// the first server's address the same way). The nodes learn about each
// other from it; the seed holds no data and is not one of the n nodes.
func Cluster(t testing.TB, n int) *Nodes {
	t.Helper()
	require.Positive(t, n)
	c := &Nodes{t: t}
	t.Cleanup(c.stopAll)
	c.seed = StartSeed(t)
	for i := range n {
		opts := &server.Options{
			ServerName: "n" + strconv.Itoa(i),
			Host:       natsserver.DefaultHost,
			Port:       server.RANDOM_PORT,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			NoSigs:     true,
			MaxPayload: natsserver.MaxPayload,
			Cluster: server.ClusterOpts{
				Name: ClusterName,
				Host: natsserver.DefaultHost,
				Port: server.RANDOM_PORT,
			},
		}
		opts.Routes = []*url.URL{c.seed.routeURL()}
		nd := &node{opts: opts}
		srv, err := startNode(opts)
		require.NoError(t, err, "node %d", i)
		nd.srv = srv
		// Restarts come back on the ports of the first start.
		opts.Port = srv.Addr().(*net.TCPAddr).Port
		opts.Cluster.Port = srv.ClusterAddr().Port
		c.mu.Lock()
		c.nodes = append(c.nodes, nd)
		c.mu.Unlock()
	}
	c.WaitReady()
	return c
}

// Seed is a nats-server without JetStream that listens only for routes,
// on 127.0.0.1 with a port the kernel picks, in cluster ClusterName: the
// address the first node of a cluster can route to before any node
// listens. It keeps its port across Restart.
type Seed struct {
	t    testing.TB
	opts *server.Options

	mu  sync.Mutex
	srv *server.Server // nil while stopped
}

// StartSeed starts a Seed; t.Cleanup stops it.
func StartSeed(t testing.TB) *Seed {
	t.Helper()
	opts := &server.Options{
		ServerName: "seed",
		Host:       natsserver.DefaultHost,
		Port:       server.RANDOM_PORT,
		NoSigs:     true,
		MaxPayload: natsserver.MaxPayload,
		Cluster:    server.ClusterOpts{Name: ClusterName, Host: natsserver.DefaultHost, Port: server.RANDOM_PORT},
	}
	srv, err := startNode(opts)
	require.NoError(t, err)
	opts.Port = srv.Addr().(*net.TCPAddr).Port
	opts.Cluster.Port = srv.ClusterAddr().Port
	s := &Seed{t: t, opts: opts, srv: srv}
	t.Cleanup(s.Stop)
	return s
}

// URL is the seed's route address, nats://127.0.0.1:<port>.
func (s *Seed) URL() string {
	return "nats://" + net.JoinHostPort(natsserver.DefaultHost, strconv.Itoa(s.opts.Cluster.Port))
}

func (s *Seed) routeURL() *url.URL {
	return &url.URL{Scheme: "nats-route", Host: net.JoinHostPort(natsserver.DefaultHost, strconv.Itoa(s.opts.Cluster.Port))}
}

// Server is the running seed; nil while stopped.
func (s *Seed) Server() *server.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv
}

// Stop shuts the seed down and waits until it is down; stopping a stopped
// seed does nothing.
func (s *Seed) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// Restart starts a stopped seed again on its ports (waiting until they are
// free again).
func (s *Seed) Restart() {
	s.t.Helper()
	s.Stop()
	var (
		srv *server.Server
		err error
	)
	deadline := time.Now().Add(waitTimeout)
	for srv, err = startNode(s.opts); err != nil; srv, err = startNode(s.opts) {
		if time.Now().After(deadline) {
			s.t.Fatalf("natstest: restart seed: %v", err)
		}
		<-time.After(pollInterval) // its ports may not be free yet
	}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
}

// startNode starts a nats-server with opts and waits until it accepts
// connections.
func startNode(opts *server.Options) (*server.Server, error) {
	srv, err := server.NewServer(opts.Clone())
	if err != nil {
		return nil, fmt.Errorf("start node %s: %w", opts.ServerName, err)
	}
	srv.Start()
	if !srv.ReadyForConnections(waitTimeout) {
		srv.Shutdown()
		return nil, fmt.Errorf("start node %s: not ready after %s", opts.ServerName, waitTimeout)
	}
	return srv, nil
}

// Len returns the number of nodes, running or stopped.
func (c *Nodes) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nodes)
}

// Server returns node i's running nats-server; it fails the test when node
// i is stopped.
func (c *Nodes) Server(i int) *server.Server {
	c.t.Helper()
	c.mu.Lock()
	srv := c.nodes[i].srv
	c.mu.Unlock()
	if srv == nil {
		c.t.Fatalf("natstest: node %d is stopped", i)
	}
	return srv
}

// URL returns node i's client URL; it stays the same across restarts.
func (c *Nodes) URL(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return "nats://" + net.JoinHostPort(natsserver.DefaultHost, strconv.Itoa(c.nodes[i].opts.Port))
}

// Conn returns a TCP connection to node i that reconnects forever (to node
// i or, once the server has told it about them, the others), closed at the
// end of the test. opts come after those defaults.
func (c *Nodes) Conn(i int, opts ...nats.Option) *nats.Conn {
	c.t.Helper()
	all := append([]nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(reconnectWait)}, opts...)
	nc, err := nats.Connect(c.URL(i), all...)
	require.NoError(c.t, err)
	c.t.Cleanup(nc.Close)
	return nc
}

// JetStream returns a JetStream context on a new connection to node i.
func (c *Nodes) JetStream(i int, opts ...jetstream.JetStreamOpt) jetstream.JetStream {
	c.t.Helper()
	js, err := jetstream.New(c.Conn(i), opts...)
	require.NoError(c.t, err)
	return js
}

// Stop shuts node i down and waits until it is down; its data directory
// and ports are kept for Restart. Stopping a stopped node does nothing.
func (c *Nodes) Stop(i int) {
	c.mu.Lock()
	srv := c.nodes[i].srv
	c.nodes[i].srv = nil
	c.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// Restart stops node i if it runs, starts it again on its data directory
// and ports with routes to every other node, and waits until the cluster
// is ready again (WaitReady).
func (c *Nodes) Restart(i int) {
	c.t.Helper()
	c.Stop(i)
	c.mu.Lock()
	opts := c.nodes[i].opts
	opts.Routes = []*url.URL{c.seed.routeURL()}
	for j, nd := range c.nodes {
		if j != i {
			opts.Routes = append(opts.Routes, &url.URL{Scheme: "nats-route",
				Host: net.JoinHostPort(natsserver.DefaultHost, strconv.Itoa(nd.opts.Cluster.Port))})
		}
	}
	c.mu.Unlock()
	var (
		srv *server.Server
		err error
	)
	deadline := time.Now().Add(waitTimeout)
	for srv, err = startNode(opts); err != nil; srv, err = startNode(opts) {
		if time.Now().After(deadline) {
			c.t.Fatalf("natstest: restart node %d: %v", i, err)
		}
		<-time.After(pollInterval) // its ports may not be free yet
	}
	c.mu.Lock()
	c.nodes[i].srv = srv
	c.mu.Unlock()
	c.WaitReady()
}

// running returns the nodes that run, by index.
func (c *Nodes) running() map[int]*server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int]*server.Server{}
	for i, nd := range c.nodes {
		if nd.srv != nil {
			out[i] = nd.srv
		}
	}
	return out
}

// Leader returns the index of the node that is JetStream's meta leader,
// or -1 if no running node is.
func (c *Nodes) Leader() int {
	for i, srv := range c.running() {
		if srv.JetStreamIsLeader() {
			return i
		}
	}
	return -1
}

// WaitReady waits until a running node is JetStream's meta leader, it
// counts every running node as an online peer, and every running node is
// current with the meta group.
func (c *Nodes) WaitReady() {
	c.t.Helper()
	c.waitFor("a JetStream meta leader with every node current", func() bool {
		l := c.Leader()
		if l < 0 {
			return false
		}
		run := c.running()
		if len(run[l].JetStreamClusterPeers()) != len(run) {
			return false
		}
		for _, srv := range run {
			if !srv.JetStreamIsCurrent() {
				return false
			}
		}
		return true
	})
}

// StreamLeader waits until a running node leads stream (in the global
// account) and returns its index.
func (c *Nodes) StreamLeader(stream string) int {
	c.t.Helper()
	leader := -1
	c.waitFor("a leader of stream "+stream, func() bool {
		for i, srv := range c.running() {
			if srv.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
				leader = i
				return true
			}
		}
		return false
	})
	return leader
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func (c *Nodes) waitFor(what string, cond func() bool) {
	c.t.Helper()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("natstest: no %s after %s", what, waitTimeout)
		}
		<-tick.C
	}
}

// stopAll stops every node, then the seed.
func (c *Nodes) stopAll() {
	for i := range c.Len() {
		c.Stop(i)
	}
	if c.seed != nil {
		c.seed.Stop()
	}
}
