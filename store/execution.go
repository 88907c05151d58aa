package store

import (
	cloudevents "github.com/cloudevents/sdk-go/v2"
)

const (
	// ExecutionType is the CloudEvents type of a call's execution event:
	// its data is the call's ExecutionInfo.
	ExecutionType = "wasmfaas.execution"
	// ExecutionSource is the source of every execution event; the event id
	// is the call id, unique on its own.
	ExecutionSource = "wasmfaas/calls"
	// ExtFunction and ExtStatus are the extensions of an execution event
	// naming the function called and the call's status, so a trigger can
	// select the failures of one function without reading the data.
	ExtFunction = "function"
	ExtStatus   = "status"

	// Extensions the caller of Append sets through Call.Extensions for a
	// call made by a trigger: its attempt, the trigger, the error's kind,
	// and the id and source of the event that caused the call, by which a
	// restarted router recognises an event it had already handled.
	ExtAttempt     = "attempt"
	ExtTrigger     = "trigger"
	ExtErrorKind   = "errorkind"
	ExtCauseID     = "causeid"
	ExtCauseSource = "causesource"
)

// Headers a message-stream backend (store/jetstream) sets on each call-log
// entry beside the event, which is the message's payload in structured
// mode, for readers that fetch headers only: the router's restart scan
// reads the status and the ExtTrigger, ExtCauseID and ExtCauseSource
// extensions from them without decoding the event. Values are as in the
// event (CheckCall keeps them free of control characters, so a header can
// carry them unencoded); a status that is not appears in its encoded
// subject-token form. The event itself has no ce- headers: a message with
// them would be read in binary mode by some CloudEvents NATS bindings and
// in structured mode by others.
const (
	HeaderCallStatus      = "Wasmfaas-Call-Status"
	HeaderCallTrigger     = "Wasmfaas-Call-Trigger"
	HeaderCallCauseID     = "Wasmfaas-Call-Cause-Id"
	HeaderCallCauseSource = "Wasmfaas-Call-Cause-Source"
)

// Event returns c's execution event: id c.ID, type ExecutionType, source
// ExecutionSource, subject c.Subject, time c.Start, the ExecutionInfo as
// JSON data, extensions ExtFunction and ExtStatus, and c.Extensions. The
// event shares c.Record; do not modify one while the other is in use.
func (c Call) Event() cloudevents.Event {
	e := cloudevents.NewEvent(cloudevents.VersionV1)
	e.SetID(c.ID)
	e.SetType(ExecutionType)
	e.SetSource(ExecutionSource)
	if c.Subject != "" {
		e.SetSubject(c.Subject)
	}
	e.SetTime(c.Start.UTC())
	for name, v := range c.Extensions {
		if !ReservedCallExt(name) {
			e.SetExtension(name, v)
		}
	}
	e.SetExtension(ExtFunction, c.Function)
	e.SetExtension(ExtStatus, c.Status)
	e.SetDataContentType(cloudevents.ApplicationJSON)
	e.DataEncoded = c.Record
	return e
}

// ReservedCallExt reports whether name may not be one of Call.Extensions:
// a context attribute, or an extension Event sets from the call.
func ReservedCallExt(name string) bool {
	switch name {
	case "specversion", "id", "source", "type", "subject", "time",
		"datacontenttype", "dataschema", "data", "data_base64", ExtFunction, ExtStatus:
		return true
	}
	return false
}
