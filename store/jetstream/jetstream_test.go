package jetstream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natsserver"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
	"github.com/wasmfaas/wasmfaas/store"
	jsstore "github.com/wasmfaas/wasmfaas/store/jetstream"
	"github.com/wasmfaas/wasmfaas/store/storetest"
)

func newStore(t testing.TB, js jetstream.JetStream, cfg jsstore.Config) *jsstore.Store {
	t.Helper()
	s, err := jsstore.New(context.Background(), js, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestStore(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  jsstore.Config
	}{
		{"cached", jsstore.Config{}},
		{"uncached", jsstore.Config{NoCache: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				return newStore(t, natstest.Start(t).JetStream(), tc.cfg)
			})
		})
	}
}

func TestNotifier(t *testing.T) {
	storetest.RunNotifier(t, func(t *testing.T, n store.Notifier) store.Store {
		return newStore(t, natstest.Start(t).JetStream(), jsstore.Config{Notifier: n})
	})
}

// TestEvents checks that every committed change lands in the events stream
// as a property-changed CloudEvent with the subject's extended properties.
func TestEvents(t *testing.T) {
	ctx := t.Context()
	js := natstest.Start(t).JetStream()
	s := newStore(t, js, jsstore.Config{Source: "test/host"})
	p := s.Properties()
	subj := "dev|1/a b.c*>é"
	require.NoError(t, p.SetExtended(ctx, subj, "tenant", "acme"))
	c1, err := p.Set(ctx, subj, "temp", json.RawMessage(`20`), abi.RevAbsent)
	require.NoError(t, err)
	_, err = p.Set(ctx, subj, "temp", json.RawMessage(`21`), int64(c1.Revision))
	require.NoError(t, err)
	_, err = p.Delete(ctx, subj, "temp", abi.RevAny)
	require.NoError(t, err)
	require.NoError(t, s.Close(), "Close waits for the acks")

	cons, err := js.OrderedConsumer(ctx, layout.PropsStream, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	type data struct {
		PropertyName string          `json:"property_name"`
		OldValue     json.RawMessage `json:"old_value"`
		Value        json.RawMessage `json:"value"`
	}
	var got []string
	ids := map[string]bool{}
	for range 3 {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		require.NoError(t, err)
		ids[m.Headers().Get(jetstream.MsgIDHeader)] = true
		var ev map[string]any
		require.NoError(t, json.Unmarshal(m.Data(), &ev))
		assert.Equal(t, store.PropertyChangedType, ev["type"])
		assert.Equal(t, "test/host", ev["source"])
		assert.Equal(t, subj, ev["subject"])
		assert.Equal(t, "acme", ev["tenant"], "extended properties are extensions")
		assert.Equal(t, "temp", ev["propertyname"])
		b, err := json.Marshal(ev["data"])
		require.NoError(t, err)
		var d data
		require.NoError(t, json.Unmarshal(b, &d))
		got = append(got, string(d.OldValue)+"→"+string(d.Value))
	}
	assert.Equal(t, []string{"null→20", "20→21", "21→null"}, got)
	assert.Len(t, ids, 3, "a Nats-Msg-Id per change")
}

// TestTwoHosts shares one server between two Stores on two connections:
// compare-and-set increments from both never lose one.
func TestTwoHosts(t *testing.T) {
	const (
		hosts   = 2
		workers = 8
		each    = 1000
	)
	srv := natstest.Start(t)
	ctx := t.Context()
	var stores []store.Store
	for range hosts {
		stores = append(stores, newStore(t, srv.JetStream(), jsstore.Config{}))
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		retries int
	)
	for _, s := range stores {
		for range workers {
			wg.Go(func() {
				for range each {
					n, err := increment(ctx, s.Properties())
					mu.Lock()
					retries += n
					if err != nil {
						errs = append(errs, err)
					}
					mu.Unlock()
					if err != nil {
						return
					}
				}
			})
		}
	}
	wg.Wait()
	require.Empty(t, errs)
	for i, s := range stores {
		require.Eventually(t, func() bool {
			got, err := s.Properties().Get(ctx, "counter", "n")
			return err == nil && string(got.Value) == strconv.Itoa(hosts*workers*each)
		}, 5*time.Second, time.Millisecond, "host %d sees every increment", i)
	}
	t.Logf("%d increments, %d conflicts retried", hosts*workers*each, retries)
}

func increment(ctx context.Context, p store.Properties) (int, error) {
	for retries := 0; ; retries++ {
		n, expect := 0, abi.RevAbsent
		cur, err := p.Get(ctx, "counter", "n")
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return retries, err
		default:
			if err := json.Unmarshal(cur.Value, &n); err != nil {
				return retries, err
			}
			expect = int64(cur.Revision)
		}
		_, err = p.Set(ctx, "counter", "n", json.RawMessage(strconv.Itoa(n+1)), expect)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return retries, err
	}
}

// TestRestart writes everything, stops the server, starts another on the
// same directory and reads everything back. The server's default
// sync_interval (1s) is enough here because a clean shutdown flushes; an OS
// crash is what the interval bounds.
func TestRestart(t *testing.T) {
	ctx := t.Context()
	srv := natstest.Start(t)
	s, err := jsstore.New(ctx, srv.JetStream(), jsstore.Config{})
	require.NoError(t, err)
	c, err := s.Properties().Set(ctx, "dev/1", "temp", json.RawMessage(`21.5`), abi.RevAny)
	require.NoError(t, err)
	require.NoError(t, s.Properties().SetExtended(ctx, "dev/1", "tenant", "acme"))
	krev, err := s.KV().Put(ctx, "fn", "k|1", []byte("v"))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	srv.Shutdown()

	for _, cfg := range []jsstore.Config{{}, {NoCache: true}} {
		srv.Restart()
		s2 := newStore(t, srv.JetStream(), cfg)
		got, err := s2.Properties().Get(ctx, "dev/1", "temp")
		require.NoError(t, err)
		assert.JSONEq(t, `21.5`, string(got.Value))
		assert.Equal(t, c.Revision, got.Revision)
		v, err := s2.Properties().GetExtended(ctx, "dev/1", "tenant")
		require.NoError(t, err)
		assert.Equal(t, "acme", v)
		e, err := s2.KV().Get(ctx, "fn", "k|1")
		require.NoError(t, err)
		assert.Equal(t, "v", string(e.Value))
		assert.Equal(t, krev, e.Revision)
		require.NoError(t, s2.Close())
		srv.Shutdown()
	}
}

// TestUnavailable stops the server under a Store connected over TCP: calls
// fail with store.ErrUnavailable within their deadline; when a server comes
// back on the same directory and port, the same Store works again.
func TestUnavailable(t *testing.T) {
	srv := natstest.Start(t, natstest.WithTCP())
	nc, err := natsserver.Connect(srv.URL(), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := t.Context()
	s, err := jsstore.New(ctx, js, jsstore.Config{})
	require.NoError(t, err)
	p, kv := s.Properties(), s.KV()
	_, err = p.Set(ctx, "s", "p", json.RawMessage(`1`), abi.RevAny)
	require.NoError(t, err)
	_, err = kv.Put(ctx, "fn", "k", []byte("v"))
	require.NoError(t, err)

	srv.Shutdown()
	// Reads may be served from the mirror until the client notices the
	// connection is gone, which it does as soon as the socket closes.
	require.Eventually(t, func() bool { return nc.Status() != nats.CONNECTED }, 5*time.Second, time.Millisecond)
	calls := map[string]func(context.Context) error{
		"get": func(ctx context.Context) error { _, err := p.Get(ctx, "s", "p"); return err },
		"set": func(ctx context.Context) error {
			_, err := p.Set(ctx, "s", "p", json.RawMessage(`2`), abi.RevAny)
			return err
		},
		"delete":   func(ctx context.Context) error { _, err := p.Delete(ctx, "s", "p", abi.RevAny); return err },
		"list":     func(ctx context.Context) error { _, err := p.List(ctx, "s"); return err },
		"extended": func(ctx context.Context) error { return p.SetExtended(ctx, "s", "x", "v") },
		"kv get":   func(ctx context.Context) error { _, err := kv.Get(ctx, "fn", "k"); return err },
		"kv put":   func(ctx context.Context) error { _, err := kv.Put(ctx, "fn", "k", []byte("w")); return err },
		"kv keys":  func(ctx context.Context) error { _, err := kv.Keys(ctx, "fn", ""); return err },
	}
	for name, call := range calls {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		start := time.Now()
		err := call(cctx)
		cancel()
		assert.ErrorIs(t, err, store.ErrUnavailable, name)
		assert.Less(t, time.Since(start), 2*time.Second+100*time.Millisecond, "%s returns within its deadline", name)
	}

	srv.Restart()
	require.Eventually(t, func() bool {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := p.Set(cctx, "s", "p", json.RawMessage(`3`), abi.RevAny)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "the same store works after the server is back")
	got, err := p.Get(ctx, "s", "p")
	require.NoError(t, err)
	assert.JSONEq(t, `3`, string(got.Value))
	e, err := kv.Get(ctx, "fn", "k")
	require.NoError(t, err)
	assert.Equal(t, "v", string(e.Value), "data written before the outage is still there")
	require.NoError(t, s.Close())
}

// TestInvalidWritesNothing checks that rejected input never reaches the
// server: the buckets hold nothing afterwards.
func TestInvalidWritesNothing(t *testing.T) {
	ctx := t.Context()
	js := natstest.Start(t).JetStream()
	s := newStore(t, js, jsstore.Config{})
	p, kv := s.Properties(), s.KV()
	for _, tc := range []struct {
		name string
		err  error
		call func() error
	}{
		{"oversized key", store.ErrTooLarge, func() error {
			_, err := kv.Put(ctx, "fn", string(make([]byte, abi.MaxKeyLen+1)), []byte("v"))
			return err
		}},
		{"oversized value", store.ErrTooLarge, func() error {
			_, err := kv.Put(ctx, "fn", "k", make([]byte, abi.MaxValueLen+1))
			return err
		}},
		{"oversized property", store.ErrTooLarge, func() error {
			_, err := p.Set(ctx, "s", "p", json.RawMessage(`"`+string(make([]byte, abi.MaxPropertyLen))+`"`), abi.RevAny)
			return err
		}},
		{"empty subject", store.ErrInvalid, func() error {
			_, err := p.Set(ctx, "", "p", json.RawMessage(`1`), abi.RevAny)
			return err
		}},
		{"invalid UTF-8 subject", store.ErrInvalid, func() error {
			_, err := p.Set(ctx, "a\xffb", "p", json.RawMessage(`1`), abi.RevAny)
			return err
		}},
		{"invalid UTF-8 extended subject", store.ErrInvalid, func() error {
			return p.SetExtended(ctx, "a\xffb", "x", "v")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, tc.call(), tc.err)
		})
	}
	for _, b := range []string{"wasmfaas_kv", "wasmfaas_props", "wasmfaas_ext"} {
		st, err := js.Stream(ctx, "KV_"+b)
		require.NoError(t, err)
		info, err := st.Info(ctx)
		require.NoError(t, err)
		assert.Zero(t, info.State.Msgs, "bucket %s is empty", b)
	}
}

// TestSmallMaxPayload runs against a server with NATS's default
// max_payload (1 MiB), as an external server may have: the largest values
// that need headers (a compare-and-set of a 1 MiB property) fail with
// store.ErrTooLarge, not as an outage.
func TestSmallMaxPayload(t *testing.T) {
	js := natstest.Start(t, natstest.WithMaxPayload(1<<20)).JetStream()
	s := newStore(t, js, jsstore.Config{})
	big := append(append([]byte(`"`), bytes.Repeat([]byte("a"), abi.MaxPropertyLen-2)...), '"')
	_, err := s.Properties().Set(t.Context(), "s", "big", big, abi.RevAny)
	assert.ErrorIs(t, err, store.ErrTooLarge)
	_, err = s.Properties().Set(t.Context(), "s", "small", json.RawMessage(`1`), abi.RevAny)
	assert.NoError(t, err)
}
