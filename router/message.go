package router

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

// ErrInvalidEvent is wrapped by every reason a message is not a CloudEvent.
var ErrInvalidEvent = errors.New("invalid event")

// Message headers of the CloudEvents NATS binding (binary mode) and ours.
const (
	headerPrefix   = "ce-"
	HeaderHopCount = "ce-wasmfaashops"
	// ExtHops is the extension that counts how many functions an event has
	// passed through, so loops stop (router.MaxHops).
	ExtHops = "wasmfaashops"
)

// DecodeMsg reads a CloudEvent from a NATS message in the CloudEvents NATS
// binding: binary mode when a ce-specversion header is present (attributes
// in ce- headers, the payload as data, Content-Type as datacontenttype),
// structured JSON otherwise. The event is validated.
func DecodeMsg(msg *nats.Msg) (cloudevents.Event, error) {
	if msg.Header != nil && msg.Header.Get(headerPrefix+"specversion") != "" {
		return decodeBinary(msg)
	}
	var ev cloudevents.Event
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		return ev, fmt.Errorf("%w: structured JSON: %v", ErrInvalidEvent, err)
	}
	if err := ev.Validate(); err != nil {
		return ev, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	return ev, nil
}

func decodeBinary(msg *nats.Msg) (cloudevents.Event, error) {
	ev := cloudevents.NewEvent(msg.Header.Get(headerPrefix + "specversion"))
	if ev.SpecVersion() != event.CloudEventsVersionV1 && ev.SpecVersion() != event.CloudEventsVersionV03 {
		return ev, fmt.Errorf("%w: unknown specversion %q", ErrInvalidEvent, msg.Header.Get(headerPrefix+"specversion"))
	}
	for name, vals := range msg.Header {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, headerPrefix) || len(vals) == 0 {
			continue
		}
		attr, v := strings.TrimPrefix(lower, headerPrefix), vals[0]
		switch attr {
		case "specversion":
		case "id":
			ev.SetID(v)
		case "source":
			ev.SetSource(v)
		case "type":
			ev.SetType(v)
		case "subject":
			ev.SetSubject(v)
		case "dataschema":
			ev.SetDataSchema(v)
		case "datacontenttype":
			return ev, fmt.Errorf("%w: binary mode carries datacontenttype in Content-Type, not ce-datacontenttype", ErrInvalidEvent)
		case "time":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return ev, fmt.Errorf("%w: time %q: %v", ErrInvalidEvent, v, err)
			}
			ev.SetTime(t)
		default:
			if !validAttrName(attr) {
				return ev, fmt.Errorf("%w: extension name %q must be [a-z0-9]{1,20}", ErrInvalidEvent, attr)
			}
			ev.SetExtension(attr, v)
		}
	}
	if ct := msg.Header.Get("Content-Type"); ct != "" {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			return ev, fmt.Errorf("%w: Content-Type %q: %v", ErrInvalidEvent, ct, err)
		}
		ev.SetDataContentType(ct)
	}
	if len(msg.Data) > 0 {
		ev.DataEncoded = append([]byte(nil), msg.Data...)
	}
	if err := ev.Validate(); err != nil {
		return ev, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	return ev, nil
}

// EncodeMsg writes ev as a structured-mode NATS message on subject, with
// Nats-Msg-Id set to MsgID(ev) so JetStream drops a republished duplicate.
func EncodeMsg(subject string, ev cloudevents.Event) (*nats.Msg, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", ev.ID(), err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = b
	msg.Header.Set("Content-Type", "application/cloudevents+json")
	msg.Header.Set(nats.MsgIdHdr, MsgID(ev))
	return msg, nil
}

// MsgID is the deduplication id of ev: CloudEvents promise that source and
// id together identify an event.
func MsgID(ev cloudevents.Event) string {
	h := sha256.Sum256([]byte(ev.Source() + "\x00" + ev.ID()))
	return hex.EncodeToString(h[:16])
}
