// Package natstest owns the embedded NATS servers of the tests: one server
// with JetStream (Start), a JetStream cluster over routes (Cluster), or the
// route-only Seed that embedded cluster nodes started by a test route to,
// on 127.0.0.1 with ports the kernel picks, stopped by t.Cleanup.
//
// A server keeps its data directory and the TCP port it got on its first
// start, so Restart brings it back where clients left it: that is what the
// outage and restart tests need, and why no test probes for a free port
// (a probed port can be taken before the server binds it).
//
// Every wait here polls a condition with a deadline; none sleeps a fixed
// time.
package natstest
