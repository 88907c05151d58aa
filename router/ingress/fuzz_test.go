package ingress

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/wasmfaas/wasmfaas/router"
)

// FuzzDecode feeds untrusted bodies and one untrusted header value through
// every content mode: no panic, and whatever is accepted is a valid event
// that survives router.EncodeMsg and router.DecodeMsg (in binary mode with
// its data byte for byte). In binary mode the same headers sent over NATS
// get the same answer: one header rule (router.DecodeHeaderValue).
func FuzzDecode(f *testing.F) {
	f.Add(uint8(1), "b1", []byte(`{"a":1}`))
	f.Add(uint8(2), "", []byte(`{"specversion":"1.0","id":"x","source":"/s","type":"t","data":{"a":1}}`))
	f.Add(uint8(3), "", []byte(`[{"specversion":"1.0","id":"x","source":"/s","type":"t","data_base64":"AA=="}]`))
	f.Add(uint8(1), "caf%C3%A9", []byte{})
	f.Add(uint8(1), "%zz", []byte(`x`))
	f.Add(uint8(1), "nul%00id", []byte(`not json{`))
	f.Add(uint8(1), "cr%0Dlf%0A", []byte{0xff, 0x00})
	f.Add(uint8(2), "", []byte(`{"specversion":"1.0","id":"nul\u0000id","source":"/s","type":"t"}`))
	f.Add(uint8(2), "", []byte(`{"specversion":"1.0","id":"x","source":"/s\t","type":"t","subject":"a\u007fb"}`))
	f.Add(uint8(1), "100%", []byte(`{}`))
	f.Add(uint8(1), "device|50%", []byte(`{}`))
	f.Add(uint8(1), "%41", []byte(`{}`))
	f.Add(uint8(1), "%C3%28", []byte(`{}`))
	f.Add(uint8(1), "%C0%A0", []byte(`{}`))
	f.Add(uint8(1), "%2541", []byte(`{}`))
	f.Add(uint8(2), "", []byte(`{"specversion":"1.0","id":"x","source":"/s","type":"t","data":"no datacontenttype"}`))
	f.Fuzz(func(t *testing.T, m uint8, id string, body []byte) {
		mode := Mode(m%3 + 1)
		hdr := http.Header{
			"Ce-Specversion": {"1.0"}, "Ce-Id": {id}, "Ce-Source": {"/s"}, "Ce-Type": {"t"},
			"Content-Type": {"application/octet-stream"},
		}
		events, ierr := Decode(mode, hdr, body)
		if mode == ModeBinary {
			natsEv, nerr := router.DecodeMsg(&nats.Msg{Subject: "events.x", Header: nats.Header(hdr), Data: body})
			if (ierr == nil) != (nerr == nil) {
				t.Fatalf("HTTP and NATS disagree on ce-id %q: HTTP %v, NATS %v", id, ierr, nerr)
			}
			if ierr == nil && natsEv.ID() != events[0].ID() {
				t.Fatalf("ce-id %q: HTTP id %q, NATS id %q", id, events[0].ID(), natsEv.ID())
			}
		}
		if ierr != nil {
			if ierr.Status() >= 500 {
				t.Fatalf("decode error with status %d: %v", ierr.Status(), ierr)
			}
			return
		}
		for _, ev := range events {
			if err := ev.Validate(); err != nil {
				t.Fatalf("accepted an invalid event: %v", err)
			}
			msg, err := router.EncodeMsg("events.http", ev)
			if err != nil {
				t.Fatalf("encode accepted event: %v", err)
			}
			got, err := router.DecodeMsg(msg)
			if err != nil {
				t.Fatalf("router refuses an accepted event: %v\n%s", err, msg.Data)
			}
			if mode == ModeBinary && !bytes.Equal(got.Data(), ev.Data()) {
				t.Fatalf("stored data %q, sent %q", got.Data(), ev.Data())
			}
		}
	})
}
