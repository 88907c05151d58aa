package ingress_test

import (
	"net/http"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/router/ingress"
)

// TestHeaderRuleBothTransports: the same ce- header gives the same
// attribute, or the same refusal, over HTTP (binary mode) and NATS
// (binary mode): both decode it with router.DecodeHeaderValue and check
// it with router.CheckAttributes.
func TestHeaderRuleBothTransports(t *testing.T) {
	tests := []struct {
		name, header, value string
		want                string // the attribute; unused when reason is set
		reason              string // substring of the refusal on both transports
	}{
		{name: "ce-subject 100% -> 100%", header: "ce-subject", value: "100%", want: "100%"},
		{name: "ce-subject device|50% -> device|50%", header: "ce-subject", value: "device|50%", want: "device|50%"},
		{name: "ce-subject 100%zz -> 100%zz", header: "ce-subject", value: "100%zz", want: "100%zz"},
		{name: "ce-source /src/%41 -> /src/A", header: "ce-source", value: "/src/%41", want: "/src/A"},
		{name: "ce-subject caf%C3%A9 -> café", header: "ce-subject", value: "caf%C3%A9", want: "café"},
		{name: "ce-subject caf%c3%a9 (lower-case hex) -> café", header: "ce-subject", value: "caf%c3%a9", want: "café"},
		{name: "ce-subject café (raw UTF-8) -> café", header: "ce-subject", value: "café", want: "café"},
		{name: "ce-subject %2541 -> %41 (one round)", header: "ce-subject", value: "%2541", want: "%41"},
		{name: "ce-fleet a%20b -> a b", header: "ce-fleet", value: "a%20b", want: "a b"},
		{name: "ce-subject %C3%28 -> refused, invalid UTF-8 after decoding", header: "ce-subject", value: "%C3%28", reason: "percent-decoded value of \"%C3%28\" is not valid UTF-8"},
		{name: "ce-subject %C0%A0 (overlong) -> refused", header: "ce-subject", value: "%C0%A0", reason: "is not valid UTF-8"},
		{name: "ce-subject a%0Ab -> refused, control character", header: "ce-subject", value: "a%0Ab", reason: "subject must be UTF-8 without control characters"},
		{name: "ce-id nul%00id -> refused, control character", header: "ce-id", value: "nul%00id", reason: "id must be UTF-8 without control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := map[string]string{"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t", tt.header: tt.value}

			hh := http.Header{"Content-Type": {"application/json"}}
			for k, v := range base {
				hh.Set(k, v)
			}
			httpEvs, herr := ingress.Decode(ingress.ModeBinary, hh, []byte(`{}`))

			nh := nats.Header{"Content-Type": {"application/json"}}
			for k, v := range base {
				nh[k] = []string{v}
			}
			natsEv, nerr := router.DecodeMsg(&nats.Msg{Subject: "events.x", Header: nh, Data: []byte(`{}`)})

			if tt.reason != "" {
				require.NotNil(t, herr, "HTTP accepted it")
				assert.Contains(t, herr.Error(), tt.reason, "HTTP")
				assert.Equal(t, http.StatusBadRequest, herr.Status(), "HTTP")
				require.ErrorIs(t, nerr, router.ErrInvalidEvent, "NATS")
				assert.Contains(t, nerr.Error(), tt.reason, "NATS")
				return
			}
			require.Nil(t, herr, "HTTP")
			require.Len(t, httpEvs, 1)
			require.NoError(t, nerr, "NATS")
			name := tt.header[len("ce-"):]
			assert.Equal(t, tt.want, attrOf(httpEvs[0], name), "HTTP")
			assert.Equal(t, tt.want, attrOf(natsEv, name), "NATS")
		})
	}
}

// attrOf is ev's attribute or extension name in its string form.
func attrOf(ev cloudevents.Event, name string) string {
	switch name {
	case "id":
		return ev.ID()
	case "source":
		return ev.Source()
	case "subject":
		return ev.Subject()
	}
	s, _ := ev.Extensions()[name].(string)
	return s
}
