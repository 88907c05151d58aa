package natsserver_test

import (
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/natsserver"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
)

// clusterWait bounds every wait of the cluster tests: a meta leader, a
// route made, route connect attempts (backing off from 1s).
const clusterWait = 60 * time.Second

// node starts a clustered node named name routing to routes.
func node(t *testing.T, name string, log *slog.Logger, cc natsserver.ClusterConfig) *natsserver.Server {
	t.Helper()
	if cc.Name == "" {
		cc.Name = natstest.ClusterName
	}
	if cc.Listen == "" {
		cc.Listen = "127.0.0.1:0"
	}
	return start(t, natsserver.Config{DataDir: t.TempDir(), ServerName: name, Logger: log, Cluster: cc})
}

// TestClusterForms: three embedded nodes routed to one seed form a
// JetStream cluster that places an R3 stream on all three; nodes whose
// peers are up have nothing left to wait for.
func TestClusterForms(t *testing.T) {
	seed := natstest.StartSeed(t)
	var nodes []*natsserver.Server
	for _, name := range []string{"n1", "n2", "n3"} {
		s := node(t, name, nil, natsserver.ClusterConfig{Routes: []string{seed.URL()}})
		assert.True(t, s.Clustered())
		assert.True(t, strings.HasPrefix(s.ClusterURL(), "nats://127.0.0.1:"), s.ClusterURL())
		nodes = append(nodes, s)
		if name == "n2" {
			require.Eventually(t, func() bool {
				return nodes[0].Waiting(3) != "" && strings.Contains(nodes[0].Waiting(3), "replicas 3 need 3 JetStream nodes and 2 are online")
			}, clusterWait, 10*time.Millisecond, "two nodes elect a meta leader, and say they are one short")
		}
	}
	require.Eventually(t, func() bool {
		for _, s := range nodes {
			if s.Waiting(3) != "" {
				return false
			}
		}
		return true
	}, clusterWait, 10*time.Millisecond, "a meta leader with three peers")

	nc, err := nodes[0].Conn()
	require.NoError(t, err)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	st, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3})
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	require.NotNil(t, info.Cluster)
	assert.NotEmpty(t, info.Cluster.Leader)
	assert.Len(t, info.Cluster.Replicas, 2, "two replicas besides the leader")
}

// TestClusterRouteCredentials: a node whose route listener has
// credentials takes a route that presents them and refuses one that
// presents the wrong password.
func TestClusterRouteCredentials(t *testing.T) {
	seed := natstest.StartSeed(t)
	rec := &recorder{}
	a := node(t, "a", slog.New(rec), natsserver.ClusterConfig{Routes: []string{seed.URL()}, User: "route", Password: "s3cret"})
	b := node(t, "b", nil, natsserver.ClusterConfig{Routes: []string{a.ClusterURL()}, User: "route", Password: "s3cret"})
	require.Eventually(t, func() bool { return slices.Equal(a.Peers(), []string{"b", "seed"}) }, clusterWait, 10*time.Millisecond,
		"a has the seed and b")
	assert.Contains(t, b.Peers(), "a")

	c := node(t, "c", nil, natsserver.ClusterConfig{Routes: []string{a.ClusterURL()}, User: "route", Password: "guess"})
	require.Eventually(t, func() bool {
		return strings.Contains(strings.Join(rec.atLevel(slog.LevelError), "\n"), "authentication error")
	}, clusterWait, 10*time.Millisecond, "a refuses c's route")
	assert.Empty(t, c.Peers())
	assert.Equal(t, []string{"b", "seed"}, a.Peers())
}

func TestClusterConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  natsserver.Config
		want string
	}{
		{"open beyond loopback", natsserver.Config{ServerName: "x", Cluster: natsserver.ClusterConfig{Name: "c", Listen: "0.0.0.0:0", Routes: []string{"nats://127.0.0.1:1"}}},
			`route listen address "0.0.0.0:0" is not loopback and no route user and password are set`},
		{"no name", natsserver.Config{Cluster: natsserver.ClusterConfig{Listen: "127.0.0.1:0"}}, "without a cluster name"},
		{"no listen", natsserver.Config{Cluster: natsserver.ClusterConfig{Name: "c", Routes: []string{"nats://127.0.0.1:1"}}}, "needs a route listen address"},
		{"no routes", natsserver.Config{ServerName: "x", Cluster: natsserver.ClusterConfig{Name: "c", Listen: "127.0.0.1:0"}}, "at least one route"},
		{"half credentials", natsserver.Config{ServerName: "x", Cluster: natsserver.ClusterConfig{Name: "c", Listen: "127.0.0.1:0", Routes: []string{"nats://127.0.0.1:1"}, User: "u"}}, "needs a password"},
		{"bad route", natsserver.Config{ServerName: "x", Cluster: natsserver.ClusterConfig{Name: "c", Listen: "127.0.0.1:0", Routes: []string{"127.0.0.1:6222"}}}, `route "127.0.0.1:6222": want nats://host:port`},
		{"port 0 without a name", natsserver.Config{Cluster: natsserver.ClusterConfig{Name: "c", Listen: "127.0.0.1:0", Routes: []string{"nats://127.0.0.1:1"}}}, "set a server name"},
		{"name with spaces", natsserver.Config{ServerName: "a b"}, "has spaces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.DataDir = t.TempDir()
			_, err := natsserver.Start(tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// routeWarnings returns the lines about failed route connects, at any
// level but DEBUG.
func routeWarnings(rec *recorder) []string {
	var out []string
	for _, l := range []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		for _, m := range rec.atLevel(l) {
			if strings.Contains(m, "connect to route") || strings.Contains(m, "connect to cluster route") {
				out = append(out, m)
			}
		}
	}
	return out
}

// TestRouteFailuresLoggedOnce: a route to a closed port fails on every
// attempt (nats-server tries it from two connections, each backing off)
// and is logged once, as a warning naming the peer; the node says what it
// waits for.
func TestRouteFailuresLoggedOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())

	rec := &recorder{}
	s := node(t, "lonely", slog.New(rec), natsserver.ClusterConfig{Routes: []string{"nats://" + closed}})
	require.Eventually(t, func() bool { return natsserver.RouteFailures(s) >= 4 }, clusterWait, 10*time.Millisecond, "four failed connect attempts")
	assert.Equal(t, []string{"cannot connect to cluster route; retrying with backoff, logged again only after it has connected"}, routeWarnings(rec))
	assert.Contains(t, s.Waiting(1), "no JetStream meta leader")
	assert.Contains(t, s.Waiting(1), "unreachable routes: "+closed)
}

// TestRouteFailureLoggedAgainAfterReconnect: once a route to a peer has
// been made, losing the peer again logs once more.
func TestRouteFailureLoggedAgainAfterReconnect(t *testing.T) {
	peer := natstest.StartSeed(t)
	rec := &recorder{}
	s := node(t, "a", slog.New(rec), natsserver.ClusterConfig{Routes: []string{peer.URL()}})
	routed := func() bool { return len(s.Peers()) == 1 }
	require.Eventually(t, routed, clusterWait, 10*time.Millisecond, "a routes to the peer")

	for outage := 1; outage <= 2; outage++ {
		peer.Stop()
		before := natsserver.RouteFailures(s)
		require.Eventually(t, func() bool { return natsserver.RouteFailures(s) >= before+2 }, clusterWait, 10*time.Millisecond, "two attempts in outage %d", outage)
		require.Len(t, routeWarnings(rec), outage, "one line per outage")
		peer.Restart()
		require.Eventually(t, routed, clusterWait, 10*time.Millisecond, "a routes to the peer again after outage %d", outage)
	}
}
