package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConfigCluster: the cluster keys from flags, the environment and the
// file (routes as a comma-separated string or a YAML list), and replicas
// defaulting to 3 on a cluster unless a layer sets them.
func TestConfigCluster(t *testing.T) {
	t.Chdir(t.TempDir())
	routes := []string{"nats://127.0.0.1:6231", "nats://127.0.0.1:6232", "nats://127.0.0.1:6233"}

	cfg, _, err := loadConfig(flags(t), nil, configScope)
	require.NoError(t, err)
	assert.Equal(t, 1, cfg.NATS.Replicas, "one node: one replica")
	assert.Equal(t, 60*time.Second, cfg.NATS.ClusterWait)

	cfg, _, err = loadConfig(flags(t, "--nats-cluster-name", "c", "--nats-cluster-listen", "127.0.0.1:6231",
		"--nats-cluster-routes", "nats://127.0.0.1:6231, nats://127.0.0.1:6232,nats://127.0.0.1:6233",
		"--nats-cluster-user", "route", "--nats-cluster-password", "s3cret", "--nats-server-name", "node1", "--nats-cluster-wait", "90s"), nil, configScope)
	require.NoError(t, err)
	assert.Equal(t, NATSConfig{
		ServerName: "node1", ClusterName: "c", ClusterListen: "127.0.0.1:6231", ClusterRoutes: routes,
		ClusterUser: "route", ClusterPassword: "s3cret", ClusterWait: 90 * time.Second,
		Replicas: 3, SyncInterval: time.Second,
	}, cfg.NATS, "flags; replicas 3 on a cluster")

	env := []string{"WASMFAAS_NATS_CLUSTER_NAME=c", "WASMFAAS_NATS_CLUSTER_LISTEN=127.0.0.1:6232", "WASMFAAS_NATS_CLUSTER_ROUTES=" + routes[0] + "," + routes[1] + "," + routes[2]}
	cfg, _, err = loadConfig(flags(t), env, configScope)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:6232", cfg.NATS.ClusterListen)
	assert.Equal(t, routes, cfg.NATS.ClusterRoutes)
	assert.Equal(t, 3, cfg.NATS.Replicas)

	cfg, _, err = loadConfig(flags(t), append(env, "WASMFAAS_NATS_REPLICAS=1"), configScope)
	require.NoError(t, err)
	assert.Equal(t, 1, cfg.NATS.Replicas, "replicas set in the environment are kept")
	cfg, _, err = loadConfig(flags(t, "--nats-replicas", "1"), env, configScope)
	require.NoError(t, err)
	assert.Equal(t, 1, cfg.NATS.Replicas, "replicas set by a flag are kept")

	require.NoError(t, os.WriteFile("wasmfaas.yaml", []byte("nats:\n  cluster_name: c\n  cluster_listen: 127.0.0.1:6233\n  cluster_routes:\n    - "+routes[0]+"\n    - "+routes[1]+"\n    - "+routes[2]+"\n"), 0o644))
	cfg, k, err := loadConfig(flags(t), nil, configScope)
	require.NoError(t, err)
	assert.Equal(t, routes, cfg.NATS.ClusterRoutes, "a YAML list")
	assert.Equal(t, 3, cfg.NATS.Replicas)
	eff := map[string]string{}
	for _, kv := range effective(k, configScope) {
		eff[kv[0]] = kv[1]
	}
	assert.Equal(t, routes[0]+","+routes[1]+","+routes[2], eff["nats.cluster_routes"])

	require.NoError(t, os.WriteFile("wasmfaas.yaml", []byte("nats:\n  cluster_name: c\n  replicas: 1\n  cluster_routes: "+routes[0]+","+routes[1]+"\n"), 0o644))
	cfg, _, err = loadConfig(flags(t), nil, configScope)
	require.NoError(t, err)
	assert.Equal(t, 1, cfg.NATS.Replicas, "replicas set in the file are kept")
	assert.Equal(t, routes[:2], cfg.NATS.ClusterRoutes, "a comma-separated string in the file")
}

// TestConfigCommandCluster: wasmfaas config shows the cluster keys,
// replicas 3 on a cluster, and masks the route password.
func TestConfigCommandCluster(t *testing.T) {
	t.Chdir(t.TempDir())
	out, err := run(t, "config", "-o", "json", "--nats-cluster-name", "c", "--nats-cluster-routes", "nats://a:1,nats://b:2", "--nats-cluster-password", "s3cret")
	require.NoError(t, err, out)
	var m map[string]string
	require.NoError(t, json.Unmarshal([]byte(out), &m), out)
	assert.Equal(t, "c", m["nats.cluster_name"])
	assert.Equal(t, "nats://a:1,nats://b:2", m["nats.cluster_routes"])
	assert.Equal(t, "3", m["nats.replicas"])
	assert.Equal(t, "********", m["nats.cluster_password"])
	assert.NotContains(t, out, "s3cret")
}

func TestCheckCluster(t *testing.T) {
	routes := []string{"nats://10.0.0.1:6222"}
	for _, tc := range []struct {
		name string
		n    NATSConfig
		want string // empty: accepted
	}{
		{"single node", NATSConfig{}, ""},
		{"loopback cluster", NATSConfig{ClusterName: "c", ClusterListen: "127.0.0.1:6222", ClusterRoutes: routes}, ""},
		{"server name alone", NATSConfig{ServerName: "n1"}, ""},
		{"beyond loopback with credentials", NATSConfig{ClusterName: "c", ClusterListen: "0.0.0.0:6222", ClusterRoutes: routes, ClusterUser: "u", ClusterPassword: "p"}, ""},
		{"beyond loopback without credentials", NATSConfig{ClusterName: "c", ClusterListen: "0.0.0.0:6222", ClusterRoutes: routes},
			"config key nats.cluster_listen: 0.0.0.0:6222 is not a loopback address and no nats.cluster_user and nats.cluster_password are set"},
		{"external server", NATSConfig{URL: "nats://x:4222", ClusterName: "c", ClusterListen: "127.0.0.1:6222", ClusterRoutes: routes}, "config key nats.url: nats://x:4222 is an external NATS server"},
		{"external server, server name", NATSConfig{URL: "nats://x:4222", ServerName: "n1"}, "leave them empty"},
		{"routes without a name", NATSConfig{ClusterRoutes: routes}, "config key nats.cluster_name: nats.cluster_listen, nats.cluster_routes"},
		{"no listen", NATSConfig{ClusterName: "c", ClusterRoutes: routes}, "config key nats.cluster_listen: required"},
		{"no routes", NATSConfig{ClusterName: "c", ClusterListen: "127.0.0.1:6222"}, "config key nats.cluster_routes: required"},
		{"half credentials", NATSConfig{ClusterName: "c", ClusterListen: "127.0.0.1:6222", ClusterRoutes: routes, ClusterUser: "u"}, "set both or neither"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkCluster(tc.n)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestServeRefusesClusterWithExternalNATS: serve refuses cluster keys
// with nats.url before it opens anything.
func TestServeRefusesClusterWithExternalNATS(t *testing.T) {
	t.Chdir(t.TempDir())
	data := filepath.Join(t.TempDir(), "d")
	out, err := run(t, "serve", "--nats-url", "nats://127.0.0.1:1", "--nats-cluster-name", "c", "--data-dir", data)
	require.Error(t, err, out)
	assert.Contains(t, err.Error(), "config key nats.url")
	assert.NoDirExists(t, data, "nothing started")
}

// TestServeRefusesReplicasWithoutCluster: replicas on the embedded server
// without a cluster fail the start with what to change.
func TestServeRefusesReplicasWithoutCluster(t *testing.T) {
	t.Chdir(t.TempDir())
	out, err := run(t, "serve", "--nats-replicas", "3", "--http-addr", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "d"))
	require.Error(t, err, out)
	assert.Contains(t, err.Error(), "nats.replicas 3 needs a JetStream cluster of at least 3 nodes; this server is not clustered")
}
