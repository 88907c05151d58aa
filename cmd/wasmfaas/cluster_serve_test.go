package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// serveNode is one `wasmfaas serve` process of a test cluster: its rig
// (binary, directory, HTTP address, environment; rig.run talks to it),
// its NATS client and route addresses, its output and its process.
type serveNode struct {
	rig         *e2eRig
	nats, route string
	logs        *syncBuffer
	p           *killableServe
}

// serveClusterName is the cluster name of startServeCluster's nodes.
const serveClusterName = "wasmfaas-test"

// startServeCluster starts n `wasmfaas serve` processes, each with an
// embedded NATS node, that form one JetStream cluster over routes on
// 127.0.0.1, and waits until every one answers /readyz. The binary is
// built once; each node has its own data directory and free ports (HTTP,
// NATS client, route), every node routing to all of them, itself
// included, as an operator would configure them. They start at once: the
// first ones wait for the others before they are ready.
func startServeCluster(t *testing.T, n int) []*serveNode {
	t.Helper()
	first := newE2ERig(t)
	nodes := make([]*serveNode, n)
	routes := make([]string, n)
	for i := range nodes {
		rig := first
		if i > 0 {
			dir, addr := t.TempDir(), freeAddr(t)
			rig = &e2eRig{bin: first.bin, dir: dir, addr: addr, env: append(append([]string(nil), first.env...),
				"WASMFAAS_DATA_DIR="+filepath.Join(dir, "data"), "WASMFAAS_HTTP_ADDR="+addr, "WASMFAAS_SERVER=http://"+addr)}
		}
		nodes[i] = &serveNode{rig: rig, nats: freeAddr(t), route: freeAddr(t), logs: &syncBuffer{}}
		routes[i] = "nats://" + nodes[i].route
	}
	t.Cleanup(func() {
		if t.Failed() {
			for i, nd := range nodes {
				t.Logf("node %d (%s):\n%s", i+1, nd.rig.addr, nd.logs.String())
			}
		}
	})
	for _, nd := range nodes {
		nd.p = spawnServe(t, nd.rig, nd.logs, "--nats-listen", nd.nats,
			"--nats-cluster-name", serveClusterName, "--nats-cluster-listen", nd.route,
			"--nats-cluster-routes", strings.Join(routes, ","))
	}
	for _, nd := range nodes {
		nd.p.waitReady(t, nd.rig.addr, nd.logs)
	}
	return nodes
}

// jetStream connects to the node's NATS listener.
func (nd *serveNode) jetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect("nats://"+nd.nats, nats.MaxReconnects(-1))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

// kill SIGKILLs the node and waits until it has exited.
func (nd *serveNode) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, nd.p.cmd.Process.Signal(syscall.SIGKILL))
	require.Error(t, nd.p.wait(t, 30*time.Second, nd.logs), "serve was killed")
}

// TestServeCluster: three `wasmfaas serve` processes given only the
// cluster flags form a JetStream cluster that keeps every stream on all
// three (replicas 3, the default on a cluster). A function deployed
// through the first, with a trigger, runs the events posted to the second;
// with the third killed by SIGKILL it still does, and the two left still
// take every kind of write (a deploy, an invoke, an event).
func TestServeCluster(t *testing.T) {
	wasm, err := hosttest.BuildGo(t.Context(), "../../examples/counter/go")
	require.NoError(t, err)
	nodes := startServeCluster(t, 3)

	js := nodes[0].jetStream(t)
	streams := 0
	lister := js.ListStreams(t.Context())
	for info := range lister.Info() {
		streams++
		assert.Equal(t, 3, info.Config.Replicas, info.Config.Name)
		require.NotNil(t, info.Cluster, info.Config.Name)
		assert.Equal(t, serveClusterName, info.Cluster.Name)
		assert.NotEmpty(t, info.Cluster.Leader, info.Config.Name)
		assert.Len(t, info.Cluster.Replicas, 2, "%s: two replicas besides the leader", info.Config.Name)
	}
	require.NoError(t, lister.Err())
	assert.Positive(t, streams)
	for _, nd := range nodes {
		assert.Contains(t, nd.logs.String(), `"nats_cluster":"`+serveClusterName+`"`)
	}

	// Writes right after a start or a kill may meet a stream still
	// electing its leader: they fail as unavailable until it has one.
	writes := func(what string, write func() (string, error)) string {
		t.Helper()
		var out string
		var err error
		require.Eventually(t, func() bool { out, err = write(); return err == nil }, 60*time.Second, 100*time.Millisecond,
			"%s: %v: %s", what, err, out)
		return out
	}
	event := func(node int, id string) func() (string, error) {
		return func() (string, error) {
			status, err := nodes[node].rig.postEvent(id, "com.example.tick", "device|1", `{}`)
			if err == nil && status != http.StatusAccepted {
				err = fmt.Errorf("status %d", status)
			}
			return "", err
		}
	}
	count := func(node int) int {
		pr, err := nodes[node].rig.props("device|1")
		if err != nil {
			return -1
		}
		c, _ := strconv.Atoi(string(pr["count"]))
		return c
	}

	// Deployed through node 1, events posted to node 2.
	writes("deploy on node 1", func() (string, error) {
		return nodes[0].rig.run("deploy", "counter", wasm, "--grant", "props", "--trigger", "type=com.example.tick")
	})
	writes("an event on node 2", event(1, "cluster-1"))
	writes("another event on node 2", event(1, "cluster-2"))
	require.Eventually(t, func() bool { return count(1) == 2 }, 60*time.Second, 50*time.Millisecond,
		"the function deployed through node 1 ran both events posted to node 2 (count %d)", count(1))

	nodes[2].kill(t)
	writes("an event on node 2 with node 3 down", event(1, "cluster-3"))
	require.Eventually(t, func() bool { return count(1) == 3 }, 60*time.Second, 50*time.Millisecond,
		"with node 3 killed, the event posted to node 2 ran (count %d)", count(1))
	writes("deploy on node 1 with node 3 down", func() (string, error) {
		return nodes[0].rig.run("deploy", "counter", wasm, "--grant", "props", "--trigger", "type=com.example.tick")
	})
	out := writes("invoke on node 1 with node 3 down", func() (string, error) { return nodes[0].rig.run("invoke", "counter", "--subject", "device|2") })
	assert.Contains(t, out, `"count":`, "the call ran and stored its property")
	// Node 1 reads properties from its host-side mirror of the bucket,
	// which a watch keeps current: a few milliseconds behind a write made
	// on another host.
	require.Eventually(t, func() bool { return count(0) == 3 }, 30*time.Second, 20*time.Millisecond,
		"node 1 sees what ran on the others (count %d)", count(0))
}
