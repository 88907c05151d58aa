package natsserver

import (
	"os"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClusterApply: routes back off between connect attempts, present
// the route credentials unless they carry their own, and the server is
// named after its route listener.
func TestClusterApply(t *testing.T) {
	opts := &server.Options{}
	cc := ClusterConfig{Name: "c", Listen: ":6222", User: "route", Password: "s3cret",
		Routes: []string{"nats://10.0.0.2:6222", "nats-route://other:pw@10.0.0.3:6222"}}
	require.NoError(t, cc.apply(opts))
	assert.True(t, opts.Cluster.ConnectBackoff)
	assert.Equal(t, DefaultHost, opts.Cluster.Host)
	assert.Equal(t, 6222, opts.Cluster.Port)
	assert.Equal(t, "route", opts.Cluster.Username)
	require.Len(t, opts.Routes, 2)
	assert.Equal(t, "nats://route:s3cret@10.0.0.2:6222", opts.Routes[0].String())
	assert.Equal(t, "nats-route://other:pw@10.0.0.3:6222", opts.Routes[1].String())
	assert.Equal(t, "wasmfaas-127.0.0.1-6222", opts.ServerName)

	opts = &server.Options{ServerName: "mine"}
	require.NoError(t, ClusterConfig{Name: "c", Listen: "127.0.0.1:0", Routes: []string{"nats://127.0.0.1:1"}}.apply(opts))
	assert.Equal(t, "mine", opts.ServerName, "a name given is kept")
	assert.Equal(t, server.RANDOM_PORT, opts.Cluster.Port)

	host, err := os.Hostname()
	require.NoError(t, err)
	name, err := serverName("0.0.0.0", 6222)
	require.NoError(t, err)
	assert.Equal(t, "wasmfaas-"+host+"-6222", name, "a wildcard listener is named after the machine")
	name, err = serverName("::1", 6222)
	require.NoError(t, err)
	assert.Equal(t, "wasmfaas-__1-6222", name)
}
