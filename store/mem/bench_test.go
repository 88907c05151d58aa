package mem_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
	"github.com/wasmfaas/wasmfaas/store/mem"
)

func BenchmarkKVGet(b *testing.B) {
	ctx := context.Background()
	kv := mem.New().KV()
	if _, err := kv.Put(ctx, "fn", "user/42", make([]byte, 64)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kv.Get(ctx, "fn", "user/42"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKVGetParallel(b *testing.B) {
	ctx := context.Background()
	kv := mem.New().KV()
	if _, err := kv.Put(ctx, "fn", "user/42", make([]byte, 64)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := kv.Get(ctx, "fn", "user/42"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkKVPut(b *testing.B) {
	ctx := context.Background()
	kv := mem.New().KV()
	v := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kv.Put(ctx, "fn", "user/42", v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPropertySet measures a set without the change log, which would
// otherwise grow by one entry per iteration and dominate the result.
func BenchmarkPropertySet(b *testing.B) {
	ctx := context.Background()
	p := mem.New(mem.WithoutChangeLog()).Properties()
	v := json.RawMessage(`{"tempc": 21.5, "status": "NORMAL"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Set(ctx, "device/42", "state", v, abi.RevAny); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPropertySetNotified(b *testing.B) {
	ctx := context.Background()
	n := 0
	p := mem.New(mem.WithoutChangeLog(), mem.WithNotifier(func(context.Context, store.Change) { n++ })).Properties()
	v := json.RawMessage(`{"tempc": 21.5, "status": "NORMAL"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Set(ctx, "device/42", "state", v, abi.RevAny); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPropertyGet(b *testing.B) {
	ctx := context.Background()
	p := mem.New().Properties()
	if _, err := p.Set(ctx, "device/42", "state", json.RawMessage(`{"tempc": 21.5, "status": "NORMAL"}`), abi.RevAny); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Get(ctx, "device/42", "state"); err != nil {
			b.Fatal(err)
		}
	}
}
