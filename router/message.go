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
	"unicode/utf8"

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
// structured JSON otherwise. The event is validated, and its attributes
// checked with CheckAttributes, the rule HTTP ingress applies too.
func DecodeMsg(msg *nats.Msg) (cloudevents.Event, error) {
	var ev cloudevents.Event
	var err error
	if msg.Header != nil && msg.Header.Get(headerPrefix+"specversion") != "" {
		ev, err = decodeBinary(msg)
	} else {
		ev, err = decodeStructured(msg.Data)
	}
	if err != nil {
		return ev, err
	}
	if err := CheckAttributes(&ev); err != nil {
		return ev, err
	}
	return ev, nil
}

func decodeStructured(data []byte) (cloudevents.Event, error) {
	var ev cloudevents.Event
	if err := json.Unmarshal(data, &ev); err != nil {
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
		// Without a Content-Type the payload is opaque bytes: it keeps no
		// datacontenttype and is never taken for JSON, so re-encoding the
		// event (EncodeMsg, command mode's stdin) carries it as
		// data_base64, byte for byte. See router/ingress decodeBinary.
		ev.DataBase64 = ev.DataContentType() == ""
	}
	if err := ev.Validate(); err != nil {
		return ev, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	return ev, nil
}

// EncodeMsg writes ev as a structured-mode NATS message on subject, with
// Nats-Msg-Id set to MsgID(ev) so JetStream drops a republished duplicate.
// Data the JSON format cannot carry as is goes as data_base64
// (dataAsIs), so any event's data encodes, and decodes to the same bytes.
func EncodeMsg(subject string, ev cloudevents.Event) (*nats.Msg, error) {
	if len(ev.DataEncoded) > 0 && !ev.DataBase64 && !dataAsIs(ev.DataContentType(), ev.DataEncoded) {
		ev.DataBase64 = true // ev is a copy: the caller's event is unchanged
	}
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

// dataAsIs reports whether sdk-go's JSON format can write data of media
// type ct as the "data" member and read the same bytes back: as a JSON
// value when ct is JSON or empty (sdk-go takes no datacontenttype for
// JSON), which data must then be; as a JSON string otherwise, which needs
// UTF-8. Anything else goes as data_base64, which the JSON event format
// allows for any media type. Without this, json.Marshal fails on, for
// example, "not json{" with no datacontenttype.
func dataAsIs(ct string, data []byte) bool {
	mt := ct
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	switch strings.ToLower(strings.TrimSpace(mt)) {
	case "", event.ApplicationJSON, event.TextJSON, event.ApplicationCloudEventsJSON, event.ApplicationCloudEventsBatchJSON:
		return json.Valid(data) && utf8.Valid(data)
	}
	return utf8.Valid(data)
}
