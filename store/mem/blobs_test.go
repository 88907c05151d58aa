package mem_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/store"
	"github.com/wasmfaas/wasmfaas/store/mem"
	"github.com/wasmfaas/wasmfaas/store/storetest"
)

func TestBlobs(t *testing.T) {
	storetest.RunBlobs(t, storetest.BlobsBackend{
		New: func(t *testing.T, maxSize int64) store.Blobs {
			b, err := mem.NewBlobs(mem.BlobsConfig{MaxSize: maxSize})
			require.NoError(t, err)
			return b
		},
		Corrupt: func(t *testing.T, b store.Blobs, digest string, data []byte) {
			b.(*mem.Blobs).Corrupt(digest, data)
		},
	})
}

func TestBlobsConfig(t *testing.T) {
	_, err := mem.NewBlobs(mem.BlobsConfig{MaxSize: -1})
	assert.ErrorIs(t, err, store.ErrInvalid)
}
