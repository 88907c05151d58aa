package jetstream_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
	"github.com/wasmfaas/wasmfaas/store"
	jsstore "github.com/wasmfaas/wasmfaas/store/jetstream"
)

// The benchmarks run each operation against an embedded server over an
// in-process connection, with the host-side mirror (cached) and without it
// (uncached: every read is a direct get on the server). Besides ns/op they
// report the median and 99th percentile of single operations (p50-ns,
// p99-ns), which is what the targets are about.

var benchModes = []struct {
	name string
	cfg  jsstore.Config
}{
	{"cached", jsstore.Config{}},
	{"uncached", jsstore.Config{NoCache: true}},
}

func benchStore(b *testing.B, cfg jsstore.Config) store.Store {
	b.Helper()
	return newStore(b, natstest.Start(b).JetStream(), cfg)
}

// latencies times each call of op and reports the median and p99.
func latencies(b *testing.B, op func() error) {
	b.Helper()
	var ds []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	if len(ds) > 0 {
		b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(ds[len(ds)*99/100].Nanoseconds()), "p99-ns")
	}
}

func BenchmarkKVGet(b *testing.B) {
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			kv := benchStore(b, m.cfg).KV()
			if _, err := kv.Put(ctx, "fn", "user/42", make([]byte, 64)); err != nil {
				b.Fatal(err)
			}
			latencies(b, func() error {
				_, err := kv.Get(ctx, "fn", "user/42")
				return err
			})
		})
	}
}

func BenchmarkKVPut(b *testing.B) {
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			kv := benchStore(b, m.cfg).KV()
			v := make([]byte, 64)
			latencies(b, func() error {
				_, err := kv.Put(ctx, "fn", "user/42", v)
				return err
			})
		})
	}
}

var benchValue = json.RawMessage(`{"tempc": 21.5, "status": "NORMAL"}`)

func BenchmarkPropertyGet(b *testing.B) {
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			p := benchStore(b, m.cfg).Properties()
			if _, err := p.Set(ctx, "device/42", "state", benchValue, abi.RevAny); err != nil {
				b.Fatal(err)
			}
			latencies(b, func() error {
				_, err := p.Get(ctx, "device/42", "state")
				return err
			})
		})
	}
}

// BenchmarkPropertyCAS is one compare-and-set on the revision the previous
// one returned (the second half of an atomic update), including queueing
// its property-changed event.
func BenchmarkPropertyCAS(b *testing.B) {
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			p := benchStore(b, m.cfg).Properties()
			c, err := p.Set(ctx, "device/42", "n", json.RawMessage(`0`), abi.RevAny)
			if err != nil {
				b.Fatal(err)
			}
			rev, n := c.Revision, 0
			latencies(b, func() error {
				n++
				c, err := p.Set(ctx, "device/42", "n", json.RawMessage(strconv.Itoa(n)), int64(rev))
				rev = c.Revision
				return err
			})
		})
	}
}

// BenchmarkPropertyUpdate is a whole atomic update: get, then
// compare-and-set on the revision read.
func BenchmarkPropertyUpdate(b *testing.B) {
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			p := benchStore(b, m.cfg).Properties()
			if _, err := p.Set(ctx, "device/42", "n", json.RawMessage(`0`), abi.RevAny); err != nil {
				b.Fatal(err)
			}
			latencies(b, func() error {
				cur, err := p.Get(ctx, "device/42", "n")
				if err != nil {
					return err
				}
				n, _ := strconv.Atoi(string(cur.Value))
				_, err = p.Set(ctx, "device/42", "n", json.RawMessage(strconv.Itoa(n+1)), int64(cur.Revision))
				return err
			})
		})
	}
}

// BenchmarkWriteID is the cost of idempotent writes: the same write with
// and without a write id (store.WithWriteID), a fresh id per write as a
// guest's calls make them. With an id, a write is one atomic batch of two
// messages (marker and value) instead of one publish.
func BenchmarkWriteID(b *testing.B) {
	for _, withID := range []bool{false, true} {
		name := "plain"
		if withID {
			name = "writeid"
		}
		ctx := func(i int) context.Context {
			if !withID {
				return context.Background()
			}
			return store.WithWriteID(context.Background(), "bench-"+strconv.Itoa(i))
		}
		b.Run("KVPut/"+name, func(b *testing.B) {
			kv := benchStore(b, jsstore.Config{}).KV()
			v, i := make([]byte, 64), 0
			latencies(b, func() error {
				i++
				_, err := kv.Put(ctx(i), "fn", "user/42", v)
				return err
			})
		})
		b.Run("PropertyCAS/"+name, func(b *testing.B) {
			p := benchStore(b, jsstore.Config{}).Properties()
			c, err := p.Set(context.Background(), "device/42", "n", json.RawMessage(`0`), abi.RevAny)
			if err != nil {
				b.Fatal(err)
			}
			rev, i := c.Revision, 0
			latencies(b, func() error {
				i++
				c, err := p.Set(ctx(i), "device/42", "n", json.RawMessage(strconv.Itoa(i)), int64(rev))
				rev = c.Revision
				return err
			})
		})
	}
}
