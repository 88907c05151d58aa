package jetstream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natsserver"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
	"github.com/wasmfaas/wasmfaas/store"
	jsstore "github.com/wasmfaas/wasmfaas/store/jetstream"
	"github.com/wasmfaas/wasmfaas/store/storetest"
)

// logServer starts an embedded server on dir (fsyncing every write, so a
// restart test's claim holds for an OS crash too) and returns it with a
// JetStream context on an in-process connection.
func logServer(t *testing.T, dir string) (*natstest.Server, jetstream.JetStream) {
	t.Helper()
	srv := natstest.Start(t, natstest.WithDir(dir), natstest.WithSyncInterval(natsserver.SyncAlways))
	return srv, srv.JetStream()
}

// withLayout applies cfg's layout to js (the call log's retention and
// duplicate window are the layout's) and opens the call log on it.
func withLayout(t *testing.T, js jetstream.JetStream, cfg layout.Config) *jsstore.CallLog {
	t.Helper()
	lay, err := layout.New(cfg)
	require.NoError(t, err)
	require.NoError(t, lay.Ensure(t.Context(), js))
	l, err := jsstore.NewCallLog(t.Context(), js, jsstore.CallLogConfig{})
	require.NoError(t, err)
	return l
}

func TestCallLog(t *testing.T) {
	storetest.RunCallLog(t, func(t *testing.T, r store.Retention) store.CallLog {
		_, js := logServer(t, t.TempDir())
		return withLayout(t, js, layout.Config{CallsMaxAge: r.MaxAge, CallsMaxCount: int64(r.MaxCount)})
	})
}

func TestCallLogConfig(t *testing.T) {
	_, js := logServer(t, t.TempDir())
	ctx := t.Context()
	_, err := jsstore.NewCallLog(ctx, js, jsstore.CallLogConfig{ClockSkew: -time.Second})
	assert.ErrorIs(t, err, store.ErrInvalid)
	_, err = jsstore.NewCallLog(ctx, js, jsstore.CallLogConfig{Stream: "NOPE"})
	assert.ErrorIs(t, err, store.ErrUnavailable, "a stream the layout did not create is not created here")

	// Applying the layout again with another retention updates the stream.
	withLayout(t, js, layout.Config{})
	withLayout(t, js, layout.Config{CallsMaxAge: time.Minute, CallsMaxCount: 10})
	s, err := js.Stream(ctx, layout.CallsStream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, time.Minute, info.Config.MaxAge)
	assert.Equal(t, int64(10), info.Config.MaxMsgs)
	assert.Equal(t, time.Minute, info.Config.Duplicates, "the duplicate window is cut to MaxAge")
}

// TestCallLogEvents checks that every appended call is also its execution
// event, in the NATS binding's structured mode with the ExecutionInfo as
// its data, and that Get returns that data byte for byte.
func TestCallLogEvents(t *testing.T) {
	_, js := logServer(t, t.TempDir())
	ctx := t.Context()
	l, err := jsstore.NewCallLog(ctx, js, jsstore.CallLogConfig{})
	require.NoError(t, err)
	sub, err := js.Conn().SubscribeSync("wasmfaas.calls.>")
	require.NoError(t, err)

	// The record keeps its spacing: it is embedded, not re-encoded.
	rec := json.RawMessage(`{"call_id": "c1", "function": "my.fn", "status": "ok"}`)
	start := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	c := store.Call{ID: "c1", Function: "my.fn", Status: "ok", Start: start, Record: rec, Subject: "50%41",
		Extensions: map[string]string{store.ExtTrigger: "t1", store.ExtCauseID: "e%1", store.ExtCauseSource: "/src", store.ExtAttempt: "2"}}
	require.NoError(t, l.Append(ctx, c))
	require.NoError(t, l.Append(ctx, c), "a repeat is not stored again")
	m, err := sub.NextMsg(5 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, "wasmfaas.calls.bXkuZm4.b2s.YzE", m.Subject, "function, status and id are base64url tokens")
	for name := range m.Header {
		assert.NotRegexp(t, "(?i)^ce-", name, "no ce- header: a structured message has none")
	}
	for h, want := range map[string]string{"Content-Type": "application/cloudevents+json",
		store.HeaderCallStatus: "ok", store.HeaderCallTrigger: "t1", store.HeaderCallCauseID: "e%1", store.HeaderCallCauseSource: "/src"} {
		assert.Equal(t, want, m.Header.Get(h), h)
	}
	var got map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(m.Data, &got))
	assert.Equal(t, string(rec), string(got["data"]), "the data is the record, byte for byte")
	delete(got, "data")
	attrs := map[string]string{}
	for name, raw := range got {
		var v string
		require.NoError(t, json.Unmarshal(raw, &v), name)
		attrs[name] = v
	}
	assert.Equal(t, map[string]string{"specversion": "1.0", "id": "c1", "type": store.ExecutionType, "source": store.ExecutionSource,
		"subject": "50%41", "time": "2025-01-02T03:04:05.000000006Z", "datacontenttype": "application/json",
		store.ExtFunction: "my.fn", store.ExtStatus: "ok", store.ExtTrigger: "t1", store.ExtCauseID: "e%1",
		store.ExtCauseSource: "/src", store.ExtAttempt: "2"}, attrs)

	back, err := l.Get(ctx, "c1")
	require.NoError(t, err)
	assert.Equal(t, string(rec), string(back.Record))
	assert.Equal(t, "50%41", back.Subject)
	assert.Equal(t, c.Extensions, back.Extensions)

	// A core subscriber may see a repeat's publish; the stream, which is
	// what the router consumes, holds the call once.
	s, err := js.Stream(ctx, layout.CallsStream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), info.State.Msgs)
}

// TestCallLogBinaryEntries checks that entries in the binary mode earlier
// versions wrote (attributes in ce- headers, "%" as "%25", the record as
// the payload) are still read by Get and List.
func TestCallLogBinaryEntries(t *testing.T) {
	_, js := logServer(t, t.TempDir())
	ctx := t.Context()
	l := withLayout(t, js, layout.Config{})
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := `{"call_id":"old","status":"error"}`
	msg := &nats.Msg{Subject: "wasmfaas.calls.Zm4.ZXJyb3I", Data: []byte(rec), Header: nats.Header{
		"Wasmfaas-Call-Id": {"b2xk"}, "Wasmfaas-Call-Start": {start.Format(time.RFC3339Nano)},
		"ce-specversion": {"1.0"}, "ce-id": {"old"}, "ce-type": {store.ExecutionType}, "ce-source": {store.ExecutionSource},
		"ce-time": {start.Format(time.RFC3339Nano)}, "ce-subject": {"50%2541"}, "ce-function": {"fn"}, "ce-status": {"error"},
		"ce-trigger": {"t1"}, "ce-causeid": {"e%251"}, "Content-Type": {"application/json"},
	}}
	ack, err := js.PublishMsg(ctx, msg)
	require.NoError(t, err)
	_, err = js.Publish(ctx, layout.CallIDSubject+".b2xk", []byte(fmt.Sprint(ack.Sequence)))
	require.NoError(t, err)
	require.NoError(t, l.Append(ctx, store.Call{ID: "new", Function: "fn", Status: "ok", Start: start.Add(time.Second), Record: json.RawMessage(`{}`)}))

	want := store.Call{ID: "old", Function: "fn", Status: "error", Start: start, Record: json.RawMessage(rec), Subject: "50%41",
		Extensions: map[string]string{store.ExtTrigger: "t1", store.ExtCauseID: "e%1"}}
	got, err := l.Get(ctx, "old")
	require.NoError(t, err)
	assert.Equal(t, want, got)
	list, err := l.List(ctx, store.CallFilter{Function: "fn"})
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "new", list[0].ID)
	assert.Equal(t, want, list[1])
}

// TestCallLogIdempotentPastWindow appends the same call after the duplicate
// window has passed: the ID index still refuses it.
func TestCallLogIdempotentPastWindow(t *testing.T) {
	_, js := logServer(t, t.TempDir())
	ctx := t.Context()
	l := withLayout(t, js, layout.Config{DuplicateWindow: 100 * time.Millisecond})
	c := store.Call{ID: "c1", Function: "fn", Status: "ok", Start: time.Now(), Record: json.RawMessage(`1`)}
	require.NoError(t, l.Append(ctx, c))
	// The duplicate window passing is what is under test: only time does it.
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, l.Append(ctx, c))
	s, err := js.Stream(ctx, layout.CallsStream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), info.State.Msgs)
}

// TestCallLogForeignMessages checks that messages on the call subjects that
// are not calls are skipped, not returned or fatal.
func TestCallLogForeignMessages(t *testing.T) {
	_, js := logServer(t, t.TempDir())
	ctx := t.Context()
	l, err := jsstore.NewCallLog(ctx, js, jsstore.CallLogConfig{})
	require.NoError(t, err)
	require.NoError(t, l.Append(ctx, store.Call{ID: "c1", Function: "fn", Status: "ok", Start: time.Now(), Record: json.RawMessage(`1`)}))
	_, err = js.Publish(ctx, "wasmfaas.calls.Zm4.b2s", []byte("not a call"))
	require.NoError(t, err)
	_, err = js.Publish(ctx, "wasmfaas.calls.!!.b2s", []byte("bad token"))
	require.NoError(t, err)
	got, err := l.List(ctx, store.CallFilter{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "c1", got[0].ID)
}

// TestCallLogUnavailable checks that a log whose server is gone fails at
// once with store.ErrUnavailable rather than hanging.
func TestCallLogUnavailable(t *testing.T) {
	srv, js := logServer(t, t.TempDir())
	ctx := t.Context()
	l, err := jsstore.NewCallLog(ctx, js, jsstore.CallLogConfig{})
	require.NoError(t, err)
	b, err := jsstore.NewBlobs(ctx, js, jsstore.BlobsConfig{})
	require.NoError(t, err)
	srv.Shutdown()

	c := store.Call{ID: "c1", Function: "fn", Status: "ok", Start: time.Now(), Record: json.RawMessage(`1`)}
	assert.ErrorIs(t, l.Append(ctx, c), store.ErrUnavailable)
	_, err = l.Get(ctx, "c1")
	assert.ErrorIs(t, err, store.ErrUnavailable)
	_, err = l.List(ctx, store.CallFilter{})
	assert.ErrorIs(t, err, store.ErrUnavailable)
	_, err = b.Put(ctx, []byte("x"))
	assert.ErrorIs(t, err, store.ErrUnavailable)
	_, err = b.Get(ctx, store.Digest([]byte("x")))
	assert.ErrorIs(t, err, store.ErrUnavailable)
}

// TestCallLogAndBlobsSurviveRestart appends calls and puts a blob, stops
// the server, starts another on the same directory: everything reads back.
func TestCallLogAndBlobsSurviveRestart(t *testing.T) {
	ctx := t.Context()
	srv, js := logServer(t, t.TempDir())
	l := withLayout(t, js, layout.Config{CallsMaxAge: time.Hour, CallsMaxCount: 1000})
	b, err := jsstore.NewBlobs(ctx, js, jsstore.BlobsConfig{})
	require.NoError(t, err)

	start := time.Now().UTC()
	var calls []store.Call
	for i := range 20 {
		c := store.Call{
			ID:       fmt.Sprintf("call-%02d", i),
			Function: []string{"hello", "counter"}[i%2],
			Status:   []string{"ok", "error", "trap"}[i%3],
			Start:    start.Add(time.Duration(i) * time.Millisecond),
			Record:   json.RawMessage(fmt.Sprintf(`{"call_id":"call-%02d","n":%d}`, i, i)),
		}
		require.NoError(t, l.Append(ctx, c))
		calls = append(calls, c)
	}
	module := make([]byte, 300<<10)
	for i := range module {
		module[i] = byte(i * 13)
	}
	digest, err := b.Put(ctx, module)
	require.NoError(t, err)
	srv.Restart()
	js = srv.JetStream()
	l = withLayout(t, js, layout.Config{CallsMaxAge: time.Hour, CallsMaxCount: 1000})
	b, err = jsstore.NewBlobs(ctx, js, jsstore.BlobsConfig{})
	require.NoError(t, err)

	for _, want := range calls {
		got, err := l.Get(ctx, want.ID)
		require.NoError(t, err, want.ID)
		assert.Equal(t, want, got)
	}
	got, err := l.List(ctx, store.CallFilter{Function: "counter", Status: "ok"})
	require.NoError(t, err)
	var want []string
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Function == "counter" && calls[i].Status == "ok" {
			want = append(want, calls[i].ID)
		}
	}
	var ids []string
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	assert.Equal(t, want, ids)
	require.NoError(t, l.Append(ctx, calls[0]), "a repeat after the restart")
	all, err := l.List(ctx, store.CallFilter{Limit: store.MaxCallLimit})
	require.NoError(t, err)
	assert.Len(t, all, len(calls), "the ID index survives the restart too")

	data, err := b.Get(ctx, digest)
	require.NoError(t, err)
	assert.Equal(t, module, data)
	infos, err := b.List(ctx)
	require.NoError(t, err)
	require.Len(t, infos, 1)
	assert.Equal(t, int64(len(module)), infos[0].Size)
}

// TestCallLogListStopsEarly checks that List does not read the whole stream
// once it holds Limit calls newer than anything earlier could be. It shows
// through the one call List is documented to miss: one whose Start is
// further ahead of its append time than ClockSkew (a host clock hours
// fast), appended before the window List reads.
func TestCallLogListStopsEarly(t *testing.T) {
	_, js := logServer(t, t.TempDir())
	ctx := t.Context()
	l, err := jsstore.NewCallLog(ctx, js, jsstore.CallLogConfig{})
	require.NoError(t, err)
	now := time.Now()
	call := func(id string, start time.Time) store.Call {
		return store.Call{ID: id, Function: "fn", Status: "ok", Start: start, Record: json.RawMessage(`{}`)}
	}
	require.NoError(t, l.Append(ctx, call("fast-clock", now.Add(2*time.Hour))))
	for i := range 600 {
		require.NoError(t, l.Append(ctx, call(fmt.Sprintf("past%03d", i), now.Add(-time.Hour))))
	}
	for i := range 10 {
		require.NoError(t, l.Append(ctx, call(fmt.Sprintf("new%d", i), now.Add(time.Hour))))
	}
	got, err := l.List(ctx, store.CallFilter{Limit: 10})
	require.NoError(t, err)
	require.Len(t, got, 10)
	assert.Equal(t, "new9", got[0].ID, "stopped after the first window: the fast-clock call, 601 calls back, was not read")

	got, err = l.List(ctx, store.CallFilter{Limit: 11})
	require.NoError(t, err)
	require.Len(t, got, 11)
	assert.Equal(t, "fast-clock", got[0].ID, "with fewer than Limit newer calls List reads on and finds it")
}

func BenchmarkCallLog(b *testing.B) {
	js := natstest.Start(b).JetStream()
	ctx := context.Background()
	l, err := jsstore.NewCallLog(ctx, js, jsstore.CallLogConfig{})
	require.NoError(b, err)
	rec := json.RawMessage(`{"call_id":"x","function":"hello","status":"ok","duration_ns":1234,"event":{"id":"e","source":"s","type":"t"}}`)
	for i := range 5000 {
		require.NoError(b, l.Append(ctx, store.Call{ID: fmt.Sprintf("seed%d", i), Function: []string{"hello", "other"}[i%2], Status: "ok", Start: time.Now(), Record: rec}))
	}
	b.Run("Append", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := l.Append(ctx, store.Call{ID: fmt.Sprintf("b%d", i), Function: "hello", Status: "ok", Start: time.Now(), Record: rec}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.Get(ctx, "seed42"); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, f := range []store.CallFilter{{}, {Function: "other"}} {
		b.Run(fmt.Sprintf("List/%+v", f), func(b *testing.B) {
			for b.Loop() {
				if _, err := l.List(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
