// Package interop checks that events sent by real CloudEvents senders
// (sdk-go's HTTP client, its nats and nats_jetstream bindings, and plain
// nats.go headers as `nats pub -H` writes them) reach a function with every
// attribute as sent, and that what the host publishes (emitted events,
// property-changed events, execution events, dead letters) is read back
// whole, every attribute, extension and the data, by sdk-go's nats and
// nats_jetstream bindings. It is a separate module so that sdk-go's binding
// modules stay out of the main go.mod; it has only tests.
package interop
