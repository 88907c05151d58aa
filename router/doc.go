// Package router owns triggers: CloudEvent filters in the Knative
// subscriptions dialect (exact, prefix, suffix, all, any, not) bound to a
// function with a delivery policy, their validation and their matching.
// Ingress adapters and delivery (retries, dead letters, chaining) build on
// these; the router never touches wazero.
package router
