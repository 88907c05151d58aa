// The read-back side of the interop test: what the host publishes, read
// from its streams and decoded with sdk-go's nats and nats_jetstream
// bindings (NewMessage and binding.ToEvent, what their receivers do with
// each message), every attribute, extension and the data asserted.
package interop

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	cenats "github.com/cloudevents/sdk-go/protocol/nats/v2"
	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/store"
)

const (
	rule        = "temperature"
	readingType = "com.example.interop.reading"
	badType     = "com.example.interop.bad"
	// statusChanged is what examples/temperature emits.
	statusChanged = "com.example.temperature.status.changed"
)

// TestPublishedEvents sends, with each sdk-go sender, a temperature
// reading that examples/temperature records (it sets the subject's
// properties and emits a status change) and a reading it rejects (a dead
// letter), then reads back, with both sdk-go NATS bindings, the emitted
// event, the property-changed event of "tempc", the execution event of
// the call and the dead letter.
func TestPublishedEvents(t *testing.T) {
	h := startHost(t)
	path, err := hosttest.BuildGo(t.Context(), "../../examples/temperature/go")
	require.NoError(t, err)
	wasm, err := os.ReadFile(path)
	require.NoError(t, err)
	var mf struct{ Digest string }
	require.NoError(t, json.Unmarshal(h.call(t, "POST", "/v1/modules", "application/wasm", wasm, http.StatusCreated), &mf))
	h.call(t, "PUT", "/v1/functions/"+rule, "application/json", []byte(`{"module": "`+mf.Digest+`", "grants": ["props", "emit"]}`), http.StatusOK)
	for name, typ := range map[string]string{"readings": readingType, "strict": badType} {
		h.call(t, "PUT", "/v1/triggers/"+name, "application/json",
			[]byte(`{"function": "`+rule+`", "filters": [{"exact": {"type": "`+typ+`"}}], "delivery": {"retries": 0}}`), http.StatusOK)
	}

	nc, err := nats.Connect(h.url)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	httpClient, err := cloudevents.NewClientHTTP(cloudevents.WithTarget(h.ts.URL + "/v1/events"))
	require.NoError(t, err)
	natsSender, err := cenats.NewSenderFromConn(nc, "events.interop.nats")
	require.NoError(t, err)
	natsClient, err := cloudevents.NewClient(natsSender)
	require.NoError(t, err)
	jsSender, err := cejs.NewSenderFromConn(nc, layout.EventsStream, "events.interop.jetstream", nil)
	require.NoError(t, err)
	jsClient, err := cloudevents.NewClient(jsSender)
	require.NoError(t, err)

	for _, s := range []struct {
		name   string
		client cloudevents.Client
	}{{"http", httpClient}, {"nats", natsClient}, {"jetstream", jsClient}} {
		t.Run(s.name, func(t *testing.T) {
			device := "device|" + s.name
			good := reading(t, s.name+"-good", readingType, device, `{"tempc": 25}`)
			bad := reading(t, s.name+"-bad", badType, device, `{}`)
			for _, ev := range []cloudevents.Event{good, bad} {
				res := s.client.Send(t.Context(), ev)
				require.True(t, cloudevents.IsACK(res), "send %s: %v", ev.ID(), res)
			}
			call := h.waitCallOf(t, rule, good.ID(), good.Source())
			require.Equal(t, host.StatusOK, call.Status, "call %+v", call.Error)
			failed := h.waitCallOf(t, rule, bad.ID(), bad.Source())
			require.Equal(t, host.StatusRejected, failed.Status)

			t.Run("emitted event", func(t *testing.T) {
				require.Len(t, call.Emitted, 1)
				want := cloudevents.NewEvent()
				want.SetID(host.EmittedID(good.ID(), "readings", 0))
				want.SetSource(call.Emitted[0].Source())
				want.SetType(statusChanged)
				want.SetSubject(device)
				want.SetTime(call.Emitted[0].Time())
				want.SetExtension(router.ExtHops, "1")
				require.NoError(t, want.SetData(cloudevents.ApplicationJSON, []byte(`{"from": null, "to": "NORMAL"}`)))
				assert.Equal(t, "wasmfaas/functions/"+rule, want.Source())
				msg, _ := find(t, js, layout.EventsStream, "events.emitted.>", func(ev cloudevents.Event) bool { return ev.ID() == want.ID() })
				assertDecoded(t, want, msg)
			})

			t.Run("property-changed event", func(t *testing.T) {
				msg, _ := find(t, js, layout.PropsStream, layout.PropsSubject+".>", func(ev cloudevents.Event) bool {
					name, _ := router.Attr(&ev, store.ExtPropertyName)
					return ev.Subject() == device && name == "tempc"
				})
				host, err := router.DecodeMsg(msg)
				require.NoError(t, err)
				want := cloudevents.NewEvent()
				want.SetID(host.ID()) // a UUID: that both bindings read it is what is checked
				want.SetSource(store.DefaultSource)
				want.SetType(store.PropertyChangedType)
				want.SetSubject(device)
				want.SetTime(host.Time())
				want.SetExtension(store.ExtPropertyName, "tempc")
				require.NoError(t, want.SetData(cloudevents.ApplicationJSON, []byte(`{"property_name": "tempc", "old_value": null, "value": 25}`)))
				assert.NotEmpty(t, want.ID())
				assert.WithinDuration(t, call.Start, want.Time(), time.Minute)
				assertDecoded(t, want, msg)
			})

			t.Run("execution event", func(t *testing.T) {
				want := cloudevents.NewEvent()
				want.SetID(call.CallID)
				want.SetSource(store.ExecutionSource)
				want.SetType(store.ExecutionType)
				want.SetSubject(device)
				want.SetTime(call.Start)
				for name, v := range map[string]string{store.ExtFunction: rule, store.ExtStatus: "ok", store.ExtAttempt: "1",
					store.ExtTrigger: "readings", store.ExtCauseID: good.ID(), store.ExtCauseSource: good.Source(), router.ExtHops: "1"} {
					want.SetExtension(name, v)
				}
				require.NoError(t, want.SetData(cloudevents.ApplicationJSON, h.callRecord(t, call.CallID)))
				msg, _ := find(t, js, layout.CallsStream, layout.CallsSubject+".>", func(ev cloudevents.Event) bool { return ev.ID() == call.CallID })
				assertDecoded(t, want, msg)
			})

			t.Run("dead letter", func(t *testing.T) {
				// Where the host stored the rejected event: the dead
				// letter says so in wasmfaasstream, -streamseq, -subject.
				orig, seq := find(t, js, layout.EventsStream, "events.>", func(ev cloudevents.Event) bool {
					return ev.ID() == bad.ID() && ev.Source() == bad.Source()
				})
				want := bad.Clone()
				if failed.Event.Time != "" {
					// sdk-go's HTTP client stamps the time as it sends.
					ts, err := time.Parse(time.RFC3339Nano, failed.Event.Time)
					require.NoError(t, err)
					want.SetTime(ts)
				}
				for name, v := range map[string]string{
					router.ExtErrorDest: "wasmfaas:functions/" + rule, router.ExtErrorCode: "400",
					router.ExtErrorData: base64.StdEncoding.EncodeToString(h.callRecord(t, failed.CallID)),
					router.ExtDLTrigger: "strict", router.ExtDLFunction: rule, router.ExtDLReason: router.ReasonRejected,
					router.ExtDLAttempts: "1", router.ExtDLCallID: failed.CallID, router.ExtDLStream: layout.EventsStream,
					router.ExtDLStreamSeq: strconv.FormatUint(seq, 10), router.ExtDLSubject: orig.Subject,
				} {
					want.SetExtension(name, v)
				}
				msg, _ := find(t, js, layout.DeadLetterStream, layout.DeadLetterPrefix+".>", func(ev cloudevents.Event) bool {
					return ev.ID() == bad.ID() && ev.Source() == bad.Source()
				})
				assertDecoded(t, want, msg)
			})
		})
	}
}

// reading is a sender's event: a reading about device, with an extension.
func reading(t *testing.T, id, typ, device, data string) cloudevents.Event {
	t.Helper()
	ev := cloudevents.NewEvent()
	ev.SetID(id)
	ev.SetSource("/interop/published")
	ev.SetType(typ)
	ev.SetSubject(device)
	ev.SetExtension("fleet", "north")
	require.NoError(t, ev.SetData(cloudevents.ApplicationJSON, []byte(data)))
	return ev
}

// assertDecoded decodes msg, as it is stored, with sdk-go's nats and
// nats_jetstream bindings, and checks that each reads want: every
// attribute, every extension (no more, no fewer) and the data.
func assertDecoded(t *testing.T, want cloudevents.Event, msg *nats.Msg) {
	t.Helper()
	for _, b := range []struct {
		name string
		msg  binding.Message
	}{{"nats/v2", cenats.NewMessage(msg)}, {"nats_jetstream/v2", cejs.NewMessage(msg)}} {
		got, err := binding.ToEvent(context.Background(), b.msg)
		require.NoError(t, err, b.name)
		require.NoError(t, got.Validate(), b.name)
		assert.Equal(t, want.SpecVersion(), got.SpecVersion(), b.name)
		assert.Equal(t, want.ID(), got.ID(), b.name)
		assert.Equal(t, want.Source(), got.Source(), b.name)
		assert.Equal(t, want.Type(), got.Type(), b.name)
		assert.Equal(t, want.Subject(), got.Subject(), b.name)
		assert.True(t, want.Time().Equal(got.Time()), "%s: time %s, want %s", b.name, got.Time(), want.Time())
		assert.Equal(t, want.DataContentType(), got.DataContentType(), b.name)
		assert.Equal(t, want.DataSchema(), got.DataSchema(), b.name)
		assert.Equal(t, stringExts(t, &want), stringExts(t, got), b.name)
		assert.JSONEq(t, string(want.Data()), string(got.Data()), b.name)
	}
}

func stringExts(t *testing.T, ev *cloudevents.Event) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name := range ev.Extensions() {
		v, ok := router.Attr(ev, name)
		require.True(t, ok, name)
		out[name] = v
	}
	return out
}

// find waits until a message of stream on filter decodes (with sdk-go's
// nats binding) to an event that match accepts, and returns it as stored,
// with its sequence.
func find(t *testing.T, js jetstream.JetStream, stream, filter string, match func(cloudevents.Event) bool) (*nats.Msg, uint64) {
	t.Helper()
	var (
		found *nats.Msg
		seq   uint64
	)
	require.Eventually(t, func() bool {
		found, seq = scan(t, js, stream, filter, match)
		return found != nil
	}, 30*time.Second, 20*time.Millisecond, "a message on %s in %s", filter, stream)
	return found, seq
}

// scan reads stream's messages on filter once, up to the last one.
func scan(t *testing.T, js jetstream.JetStream, stream, filter string, match func(cloudevents.Event) bool) (*nats.Msg, uint64) {
	t.Helper()
	ctx := t.Context()
	st, err := js.Stream(ctx, stream)
	require.NoError(t, err)
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	require.NoError(t, err)
	for {
		m, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return nil, 0 // none stored yet
		}
		meta, err := m.Metadata()
		require.NoError(t, err)
		msg := &nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()}
		// Events that arrived in binary mode (the nats_jetstream sender's)
		// are read with the binding that reads that mode.
		if ev, err := binding.ToEvent(ctx, cejs.NewMessage(msg)); err == nil && match(*ev) {
			return msg, meta.Sequence.Stream
		}
		if meta.NumPending == 0 {
			return nil, 0
		}
	}
}
