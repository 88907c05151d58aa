package natsserver_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/natsserver"
)

func start(t testing.TB, cfg natsserver.Config) *natsserver.Server {
	t.Helper()
	s, err := natsserver.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func TestStartInProcess(t *testing.T) {
	s := start(t, natsserver.Config{DataDir: t.TempDir()})
	assert.Empty(t, s.ClientURL(), "no TCP listener unless asked")

	nc, err := s.Conn()
	require.NoError(t, err)
	sub, err := nc.SubscribeSync("hello")
	require.NoError(t, err)
	require.NoError(t, nc.Publish("hello", []byte("world")))
	m, err := sub.NextMsg(time.Second)
	require.NoError(t, err)
	assert.Equal(t, "world", string(m.Data))

	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.AccountInfo(t.Context())
	require.NoError(t, err, "JetStream is enabled")

	require.NoError(t, s.Shutdown(t.Context()))
	assert.True(t, nc.IsClosed(), "Shutdown drains and closes handed-out connections")
}

func TestListenAndConnect(t *testing.T) {
	s := start(t, natsserver.Config{DataDir: t.TempDir(), Listen: ":0"})
	url := s.ClientURL()
	require.NotEmpty(t, url)
	assert.Contains(t, url, "127.0.0.1", "a listen address without a host binds 127.0.0.1")

	nc, err := natsserver.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	require.NoError(t, nc.Flush())
}

func TestConnectToken(t *testing.T) {
	_, err := natsserver.Connect("nats://127.0.0.1:1", natsserver.Token("x"))
	assert.Error(t, err, "nothing listens on port 1")
}

func TestBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  natsserver.Config
	}{
		{"no data dir", natsserver.Config{}},
		{"bad listen", natsserver.Config{DataDir: t.TempDir(), Listen: "nonsense"}},
		{"bad port", natsserver.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:x"}},
		{"negative sync", natsserver.Config{DataDir: t.TempDir(), SyncInterval: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := natsserver.Start(tc.cfg)
			assert.Error(t, err)
		})
	}
}

func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	for _, sync := range []time.Duration{0, natsserver.SyncAlways} {
		t.Run(fmt.Sprint(sync), func(t *testing.T) {
			bucket := fmt.Sprintf("B%d", sync+1)
			s, err := natsserver.Start(natsserver.Config{DataDir: dir, SyncInterval: sync})
			require.NoError(t, err)
			nc, err := s.Conn()
			require.NoError(t, err)
			js, err := jetstream.New(nc)
			require.NoError(t, err)
			kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, Storage: jetstream.FileStorage})
			require.NoError(t, err)
			for i := range 10 {
				_, err := kv.Put(ctx, fmt.Sprintf("k%d", i), []byte(fmt.Sprint(i)))
				require.NoError(t, err)
			}
			require.NoError(t, s.Shutdown(ctx))

			s = start(t, natsserver.Config{DataDir: dir, SyncInterval: sync})
			nc, err = s.Conn()
			require.NoError(t, err)
			js, err = jetstream.New(nc)
			require.NoError(t, err)
			kv, err = js.KeyValue(ctx, bucket)
			require.NoError(t, err)
			keys, err := kv.Keys(ctx)
			require.NoError(t, err)
			sort.Strings(keys)
			assert.Len(t, keys, 10)
			e, err := kv.Get(ctx, "k7")
			require.NoError(t, err)
			assert.Equal(t, "7", string(e.Value()))
			require.NoError(t, s.Shutdown(ctx))
		})
	}
}

// BenchmarkKVPutSync measures one KV put over an in-process connection with
// each fsync policy: the cost DefaultSyncInterval avoids and SyncAlways pays.
func BenchmarkKVPutSync(b *testing.B) {
	for _, tc := range []struct {
		name string
		sync time.Duration
	}{
		{"interval=1s", 0},
		{"interval=2m", 2 * time.Minute},
		{"always", natsserver.SyncAlways},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := start(b, natsserver.Config{DataDir: b.TempDir(), SyncInterval: tc.sync})
			nc, err := s.Conn()
			require.NoError(b, err)
			js, err := jetstream.New(nc)
			require.NoError(b, err)
			ctx := context.Background()
			kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "bench", Storage: jetstream.FileStorage})
			require.NoError(b, err)
			v := make([]byte, 100)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := kv.Put(ctx, fmt.Sprintf("k%d", i%100), v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
