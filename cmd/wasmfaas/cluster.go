package main

import (
	"errors"
	"fmt"

	"github.com/wasmfaas/wasmfaas/internal/natsserver"
)

// checkCluster refuses, before anything starts, cluster settings that
// cannot work: any of them with an external server (nats.url: the
// cluster is that server's business), a cluster without a name, a
// listener or routes, half the route credentials, and a route listener
// beyond loopback without them (no door without a lock).
func checkCluster(n NATSConfig) error {
	set := n.ServerName != "" || n.ClusterName != "" || n.ClusterListen != "" || len(n.ClusterRoutes) > 0 || n.ClusterUser != "" || n.ClusterPassword != ""
	if !set {
		return nil
	}
	if n.URL != "" {
		return fmt.Errorf("config key nats.url: %s is an external NATS server, and nats.server_name and the nats.cluster_* keys configure the embedded one; leave them empty (an external cluster is formed by its own servers), or leave nats.url empty to cluster the embedded servers", n.URL)
	}
	if n.ClusterName == "" {
		if n.ClusterListen != "" || len(n.ClusterRoutes) > 0 || n.ClusterUser != "" || n.ClusterPassword != "" {
			return errors.New("config key nats.cluster_name: nats.cluster_listen, nats.cluster_routes, nats.cluster_user and nats.cluster_password need a cluster name")
		}
		return nil
	}
	if n.ClusterListen == "" {
		return errors.New("config key nats.cluster_listen: required with nats.cluster_name (the address this node takes routes from its peers on, such as 10.0.0.1:6222)")
	}
	if len(n.ClusterRoutes) == 0 {
		return errors.New("config key nats.cluster_routes: required with nats.cluster_name (every node's route URL, this node's included, such as nats://10.0.0.1:6222,nats://10.0.0.2:6222,nats://10.0.0.3:6222)")
	}
	if (n.ClusterUser == "") != (n.ClusterPassword == "") {
		return errors.New("config keys nats.cluster_user and nats.cluster_password: set both or neither")
	}
	if n.ClusterUser == "" && !natsserver.Loopback(n.ClusterListen) {
		return fmt.Errorf("config key nats.cluster_listen: %s is not a loopback address and no nats.cluster_user and nats.cluster_password are set; set route credentials to take routes from beyond this machine", n.ClusterListen)
	}
	return nil
}

// clusterConfig is the embedded server's natsserver.ClusterConfig from
// the nats.cluster_* keys.
func clusterConfig(n NATSConfig) natsserver.ClusterConfig {
	return natsserver.ClusterConfig{
		Name: n.ClusterName, Listen: n.ClusterListen, Routes: n.ClusterRoutes,
		User: n.ClusterUser, Password: n.ClusterPassword,
	}
}
