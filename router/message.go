package router

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"sort"
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
// binding. Header names are case-insensitive, as NATS defines them
// (nats.go keeps them as sent, so "Ce-Specversion", "CE-ID" and
// "content-type" are looked up here by folding case), and a name given
// twice, in two casings or with two values, is refused. The content mode
// is structured when Content-Type is an application/cloudevents media type
// or there is no ce-specversion header, binary otherwise (decodeBinary).
// The event is validated, and its attributes checked with CheckAttributes,
// the rule HTTP ingress applies too.
func DecodeMsg(msg *nats.Msg) (cloudevents.Event, error) {
	hdr, err := foldHeader(msg.Header)
	if err != nil {
		return cloudevents.Event{}, err
	}
	var ev cloudevents.Event
	mt, _, _ := mime.ParseMediaType(hdr["content-type"])
	_, binary := hdr[headerPrefix+"specversion"]
	if binary && !strings.HasPrefix(mt, "application/cloudevents") {
		ev, err = decodeBinary(hdr, msg.Data)
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

// foldHeader returns the ce- headers and Content-Type of h by lower-case
// name, each with its one value, or why not: a name in two casings or with
// several values is ambiguous, and taking either value would be a guess.
// Other headers (Nats-Msg-Id, ours) are left out.
func foldHeader(h nats.Header) (map[string]string, error) {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names) // the same message always gets the same reason
	out := make(map[string]string, len(h))
	seen := make(map[string]string, len(h))
	for _, name := range names {
		vals := h[name]
		lower := strings.ToLower(name)
		if len(vals) == 0 || (lower != "content-type" && !strings.HasPrefix(lower, headerPrefix)) {
			continue
		}
		if prev, ok := seen[lower]; ok {
			return nil, fmt.Errorf("%w: header %s given twice, as %q and %q", ErrInvalidEvent, lower, prev, name)
		}
		if len(vals) > 1 {
			return nil, fmt.Errorf("%w: header %s given %d times, want once", ErrInvalidEvent, name, len(vals))
		}
		seen[lower] = name
		out[lower] = vals[0]
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ApplyJSONFormat applies the JSON event format's rule to an event read
// from it: data carried in the "data" member without a datacontenttype is
// application/json, so a guest sees it typed, not as an untyped body. Data
// in data_base64 is binary and stays untyped.
func ApplyJSONFormat(ev *cloudevents.Event) {
	if len(ev.DataEncoded) > 0 && !ev.DataBase64 && ev.DataContentType() == "" {
		ev.SetDataContentType(event.ApplicationJSON)
	}
}

func decodeStructured(data []byte) (cloudevents.Event, error) {
	var ev cloudevents.Event
	// Valid, then UnmarshalJSON: what json.Unmarshal does, less its second
	// scan (skipping to the value's end before calling UnmarshalJSON).
	if !json.Valid(data) {
		err := json.Unmarshal(data, &ev) // for its message, which says where
		return ev, fmt.Errorf("%w: structured JSON: %v", ErrInvalidEvent, err)
	}
	if err := ev.UnmarshalJSON(data); err != nil {
		return ev, fmt.Errorf("%w: structured JSON: %v", ErrInvalidEvent, err)
	}
	if err := ev.Validate(); err != nil {
		return ev, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	ApplyJSONFormat(&ev)
	return ev, nil
}

// decodeBinary reads a binary-mode event from hdr (foldHeader's) and the
// payload. Every ce- value goes through DecodeHeaderValue, the rule HTTP
// ingress applies too. datacontenttype may come as ce-datacontenttype (the
// NATS binding's own mapping, which sdk-go's nats_jetstream sender writes)
// or as Content-Type (HTTP's, which others copy); both at once must agree.
func decodeBinary(hdr map[string]string, data []byte) (cloudevents.Event, error) {
	attrs := make(map[string]string, len(hdr))
	for _, name := range sortedKeys(hdr) {
		raw := hdr[name]
		attr, ok := strings.CutPrefix(name, headerPrefix)
		if !ok {
			continue
		}
		if !validAttrName(attr) {
			return cloudevents.Event{}, fmt.Errorf("%w: header %s: extension name %q must be [a-z0-9]{1,20}", ErrInvalidEvent, name, attr)
		}
		v, err := DecodeHeaderValue(raw)
		if err != nil {
			return cloudevents.Event{}, fmt.Errorf("%w: header %s: %v", ErrInvalidEvent, name, err)
		}
		attrs[attr] = v
	}
	sv := attrs["specversion"]
	if sv != event.CloudEventsVersionV1 && sv != event.CloudEventsVersionV03 {
		return cloudevents.Event{}, fmt.Errorf("%w: unknown specversion %q; want %s", ErrInvalidEvent, sv, event.CloudEventsVersionV1)
	}
	ev := cloudevents.NewEvent(sv)
	for _, attr := range sortedKeys(attrs) {
		v := attrs[attr]
		// Named here, before sdk-go parses the value (a control character
		// in source would otherwise be a URL error that names nothing).
		if err := CheckAttribute(attr, v); err != nil {
			return ev, fmt.Errorf("header %s%s: %w", headerPrefix, attr, err)
		}
		switch attr {
		case "specversion", "datacontenttype":
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
		case "time":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return ev, fmt.Errorf("%w: time %q: %v", ErrInvalidEvent, v, err)
			}
			ev.SetTime(t)
		default:
			ev.SetExtension(attr, v)
		}
	}
	ct, err := dataContentType(attrs, hdr)
	if err != nil {
		return ev, err
	}
	if ct != "" {
		ev.SetDataContentType(ct)
	}
	if len(data) > 0 {
		ev.DataEncoded = append([]byte(nil), data...)
		// Without a datacontenttype the payload is opaque bytes: it is
		// never taken for JSON, so re-encoding the event (EncodeMsg,
		// command mode's stdin) carries it as data_base64, byte for byte.
		// See router/ingress decodeBinary.
		ev.DataBase64 = ev.DataContentType() == ""
	}
	if err := ev.Validate(); err != nil {
		return ev, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	return ev, nil
}

// dataContentType is the binary-mode datacontenttype: ce-datacontenttype
// (decoded) or Content-Type (as is, being no ce- header), each a valid
// media type; when both are given they must name the same media type and
// parameters.
func dataContentType(attrs, hdr map[string]string) (string, error) {
	// An empty header is taken as absent, as before either was read.
	ce, ct := attrs["datacontenttype"], hdr["content-type"]
	hasCE, hasCT := ce != "", ct != ""
	canon := make([]string, 0, 2)
	for _, h := range []struct {
		name, v string
		ok      bool
	}{{"ce-datacontenttype", ce, hasCE}, {"Content-Type", ct, hasCT}} {
		if !h.ok {
			continue
		}
		mt, params, err := mime.ParseMediaType(h.v)
		if err != nil {
			return "", fmt.Errorf("%w: %s %q: %v", ErrInvalidEvent, h.name, h.v, err)
		}
		canon = append(canon, mime.FormatMediaType(mt, params))
	}
	if hasCE && hasCT && canon[0] != canon[1] {
		return "", fmt.Errorf("%w: ce-datacontenttype %q and Content-Type %q disagree; send one, or the same in both", ErrInvalidEvent, ce, ct)
	}
	if hasCE {
		return ce, nil
	}
	return ct, nil
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

// MsgSize is the size of m as a NATS server counts it against its max
// payload: the data and the encoded header block.
func MsgSize(m *nats.Msg) int64 {
	n := len(m.Data)
	if len(m.Header) > 0 {
		n += len("NATS/1.0\r\n\r\n")
		for k, vs := range m.Header {
			for _, v := range vs {
				n += len(k) + len(": \r\n") + len(v)
			}
		}
	}
	return int64(n)
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
