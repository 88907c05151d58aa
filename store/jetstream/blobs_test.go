package jetstream_test

import (
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/store"
	jsstore "github.com/wasmfaas/wasmfaas/store/jetstream"
	"github.com/wasmfaas/wasmfaas/store/storetest"
)

func TestBlobs(t *testing.T) {
	var (
		mu  sync.Mutex
		jss = map[store.Blobs]jetstream.JetStream{}
	)
	storetest.RunBlobs(t, storetest.BlobsBackend{
		New: func(t *testing.T, maxSize int64) store.Blobs {
			_, js := logServer(t, t.TempDir())
			b, err := jsstore.NewBlobs(t.Context(), js, jsstore.BlobsConfig{MaxSize: maxSize})
			require.NoError(t, err)
			mu.Lock()
			jss[b] = js
			mu.Unlock()
			return b
		},
		// Corrupt writes other bytes under the digest through the object
		// store itself, so only the digest check of Get can notice.
		Corrupt: func(t *testing.T, b store.Blobs, digest string, data []byte) {
			mu.Lock()
			js := jss[b]
			mu.Unlock()
			obs, err := js.ObjectStore(t.Context(), layout.ModulesBucket)
			require.NoError(t, err)
			_, err = obs.PutBytes(t.Context(), digest, data)
			require.NoError(t, err)
		},
	})
}

func TestBlobsForeignObjects(t *testing.T) {
	_, js := logServer(t, t.TempDir())
	ctx := t.Context()
	b, err := jsstore.NewBlobs(ctx, js, jsstore.BlobsConfig{})
	require.NoError(t, err)
	d, err := b.Put(ctx, []byte("module"))
	require.NoError(t, err)
	obs, err := js.ObjectStore(ctx, layout.ModulesBucket)
	require.NoError(t, err)
	_, err = obs.PutString(ctx, "README", "not a blob")
	require.NoError(t, err)
	infos, err := b.List(ctx)
	require.NoError(t, err)
	require.Len(t, infos, 1, "objects not named by a digest are not listed")
	assert.Equal(t, d, infos[0].Digest)
}

func TestBlobsConfig(t *testing.T) {
	_, js := logServer(t, t.TempDir())
	_, err := jsstore.NewBlobs(t.Context(), js, jsstore.BlobsConfig{MaxSize: -1})
	assert.ErrorIs(t, err, store.ErrInvalid)
}
