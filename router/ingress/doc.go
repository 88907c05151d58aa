// Package ingress owns turning bytes into validated CloudEvents at the edges
// and storing them durably.
//
// Two edges feed the WASMFAAS_EVENTS stream, which captures every subject
// under Config.Prefix (default "events.>"):
//
//   - HTTP: HTTP serves POST /v1/events in the CloudEvents HTTP binding's
//     binary, structured and batch content modes, validates every event
//     more strictly than sdk-go does, stores each one on
//     "<prefix>.http" with router.EncodeMsg (Nats-Msg-Id from source and id,
//     so a retried POST is deduplicated) and answers 202 only once every
//     event has its PubAck.
//   - NATS: any client may publish on "<prefix>.<anything>" in the
//     CloudEvents NATS binding (structured JSON, or binary with ce- headers);
//     the stream captures it as is. Because nothing checked those bytes,
//     Rejecter reads the stream with one durable consumer shared by every
//     host and moves each message router.DecodeMsg refuses to
//     WASMFAAS_REJECTED on "rejected.<prefix>", with the reason in the
//     Wasmfaas-Reject-Reason header. Routing consumers skip what they cannot
//     decode; the rejected stream is where it can be found.
package ingress
