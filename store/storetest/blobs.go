package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/store"
)

// BlobsBackend builds the blob stores RunBlobs tests.
type BlobsBackend struct {
	// New returns an empty store that refuses blobs over maxSize bytes
	// (0: the backend's default). It is called once per subtest.
	New func(t *testing.T, maxSize int64) store.Blobs
	// Corrupt replaces the bytes b holds under digest with data, bypassing
	// Put, so the suite can check that Get detects damage. Nil skips that
	// check.
	Corrupt func(t *testing.T, b store.Blobs, digest string, data []byte)
}

// RunBlobs runs the blob-store suite against a backend.
func RunBlobs(t *testing.T, be BlobsBackend) {
	t.Helper()
	for _, tc := range []struct {
		name    string
		maxSize int64
		run     func(t *testing.T, b store.Blobs)
	}{
		{"PutGet", 0, testBlobPutGet},
		{"Idempotent", 0, testBlobIdempotent},
		{"Empty", 0, testBlobEmpty},
		{"Large", 4 << 20, testBlobLarge},
		{"NotFound", 0, testBlobNotFound},
		{"Delete", 0, testBlobDelete},
		{"List", 0, testBlobList},
		{"SizeLimit", 1024, testBlobLimit},
		{"InvalidDigest", 0, testBlobInvalid},
		{"Copies", 0, testBlobCopies},
		{"CanceledContext", 0, testBlobCanceled},
		{"ConcurrentPuts", 0, testBlobConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := be.New(t, tc.maxSize)
			require.NotNil(t, b, "New returned nil")
			tc.run(t, b)
		})
	}
	t.Run("Corrupt", func(t *testing.T) {
		if be.Corrupt == nil {
			t.Skip("backend cannot corrupt a blob")
		}
		ctx := t.Context()
		b := be.New(t, 0)
		d, err := b.Put(ctx, []byte("the module"))
		require.NoError(t, err)
		be.Corrupt(t, b, d, []byte("the mudule"))
		got, err := b.Get(ctx, d)
		assert.ErrorIs(t, err, store.ErrCorrupt)
		assert.Nil(t, got, "damaged bytes are not returned")
		require.NoError(t, b.Delete(ctx, d))
		d2, err := b.Put(ctx, []byte("the module"))
		require.NoError(t, err)
		require.Equal(t, d, d2)
		got, err = b.Get(ctx, d)
		require.NoError(t, err, "a fresh put after delete repairs the blob")
		assert.Equal(t, "the module", string(got))
	})
}

// pattern returns n bytes that differ from any shifted copy of themselves,
// so a misplaced chunk shows.
func pattern(n int, seed byte) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(i*31+i/251) ^ seed
	}
	return out
}

func testBlobPutGet(t *testing.T, b store.Blobs) {
	ctx := t.Context()
	data := []byte("\x00asm\x01\x00\x00\x00")
	d, err := b.Put(ctx, data)
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	assert.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), d)
	assert.NoError(t, store.CheckDigest("put", d))
	got, err := b.Get(ctx, d)
	require.NoError(t, err)
	assert.Equal(t, data, got)
}

func testBlobIdempotent(t *testing.T, b store.Blobs) {
	ctx := t.Context()
	data := pattern(1000, 1)
	d1, err := b.Put(ctx, data)
	require.NoError(t, err)
	before, err := b.List(ctx)
	require.NoError(t, err)
	d2, err := b.Put(ctx, slices.Clone(data))
	require.NoError(t, err)
	assert.Equal(t, d1, d2)
	after, err := b.List(ctx)
	require.NoError(t, err)
	require.Len(t, after, 1)
	assert.Equal(t, before, after, "a second put of the same bytes changes nothing, not even Created")
}

func testBlobEmpty(t *testing.T, b store.Blobs) {
	ctx := t.Context()
	d, err := b.Put(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", d)
	got, err := b.Get(ctx, d)
	require.NoError(t, err, "an empty blob is a blob")
	assert.Empty(t, got)
	infos, err := b.List(ctx)
	require.NoError(t, err)
	require.Len(t, infos, 1)
	assert.Zero(t, infos[0].Size)
}

func testBlobLarge(t *testing.T, b store.Blobs) {
	ctx := t.Context()
	data := pattern(3<<20+12345, 7)
	d, err := b.Put(ctx, data)
	require.NoError(t, err)
	got, err := b.Get(ctx, d)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got), "3 MiB round trip")
}

func testBlobNotFound(t *testing.T, b store.Blobs) {
	ctx := t.Context()
	_, err := b.Get(ctx, store.Digest([]byte("never stored")))
	assert.ErrorIs(t, err, store.ErrNotFound)
	d, err := b.Put(ctx, []byte("stored"))
	require.NoError(t, err)
	_, err = b.Get(ctx, d)
	require.NoError(t, err)
	_, err = b.Get(ctx, store.Digest([]byte("stored ")))
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testBlobDelete(t *testing.T, b store.Blobs) {
	ctx := t.Context()
	keep, err := b.Put(ctx, []byte("keep"))
	require.NoError(t, err)
	d, err := b.Put(ctx, []byte("drop"))
	require.NoError(t, err)
	require.NoError(t, b.Delete(ctx, d))
	_, err = b.Get(ctx, d)
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.NoError(t, b.Delete(ctx, d), "deleting a deleted blob is not an error")
	assert.NoError(t, b.Delete(ctx, store.Digest([]byte("never"))), "deleting a missing blob is not an error")
	infos, err := b.List(ctx)
	require.NoError(t, err)
	require.Len(t, infos, 1)
	assert.Equal(t, keep, infos[0].Digest)

	d2, err := b.Put(ctx, []byte("drop"))
	require.NoError(t, err, "put after delete")
	assert.Equal(t, d, d2)
	got, err := b.Get(ctx, d)
	require.NoError(t, err)
	assert.Equal(t, "drop", string(got))
}

func testBlobList(t *testing.T, b store.Blobs) {
	ctx := t.Context()
	infos, err := b.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, infos)

	start := time.Now().Add(-time.Second)
	want := map[string]int64{}
	for i, n := range []int{10, 200000, 3} {
		data := pattern(n, byte(i))
		d, err := b.Put(ctx, data)
		require.NoError(t, err)
		want[d] = int64(n)
	}
	end := time.Now().Add(time.Second)
	infos, err = b.List(ctx)
	require.NoError(t, err)
	require.Len(t, infos, 3)
	assert.True(t, slices.IsSortedFunc(infos, func(x, y store.BlobInfo) int { return strings.Compare(x.Digest, y.Digest) }), "sorted by digest")
	for _, info := range infos {
		assert.Equal(t, want[info.Digest], info.Size, info.Digest)
		assert.True(t, info.Created.After(start) && info.Created.Before(end), "created %v not in [%v, %v]", info.Created, start, end)
	}
}

func testBlobLimit(t *testing.T, b store.Blobs) {
	ctx := t.Context()
	_, err := b.Put(ctx, pattern(1025, 0))
	assert.ErrorIs(t, err, store.ErrTooLarge)
	_, err = b.Get(ctx, store.Digest(pattern(1025, 0)))
	assert.ErrorIs(t, err, store.ErrNotFound, "an oversized put writes nothing")
	infos, err := b.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, infos)
	d, err := b.Put(ctx, pattern(1024, 0))
	require.NoError(t, err, "a blob of exactly the limit is allowed")
	got, err := b.Get(ctx, d)
	require.NoError(t, err)
	assert.Len(t, got, 1024)
}

func testBlobInvalid(t *testing.T, b store.Blobs) {
	ctx := t.Context()
	good := store.Digest([]byte("x"))
	hexPart := strings.TrimPrefix(good, store.DigestPrefix)
	for _, d := range []string{
		"",
		"sha256:",
		hexPart,
		"sha256:" + hexPart[:63],
		"sha256:" + hexPart + "0",
		"sha256:" + strings.ToUpper(hexPart),
		"SHA256:" + hexPart,
		"sha512:" + hexPart,
		"sha256-" + hexPart,
		" " + good,
		good + "\n",
		"sha256:" + hexPart[:62] + "g0",
		"sha256:" + hexPart[:63] + "\x00",
		"sha256:../../" + hexPart[13:],
	} {
		_, err := b.Get(ctx, d)
		assert.ErrorIs(t, err, store.ErrInvalid, "get %q", d)
		assert.ErrorIs(t, b.Delete(ctx, d), store.ErrInvalid, "delete %q", d)
	}
}

func testBlobCopies(t *testing.T, b store.Blobs) {
	ctx := t.Context()
	buf := []byte("original")
	d, err := b.Put(ctx, buf)
	require.NoError(t, err)
	copy(buf, "XXXXXXXX")
	got, err := b.Get(ctx, d)
	require.NoError(t, err, "the store must copy data in")
	assert.Equal(t, "original", string(got))
	copy(got, "YYYYYYYY")
	got, err = b.Get(ctx, d)
	require.NoError(t, err, "the store must copy data out")
	assert.Equal(t, "original", string(got))
}

func testBlobCanceled(t *testing.T, b store.Blobs) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := b.Put(ctx, []byte("x"))
	assert.ErrorIs(t, err, context.Canceled)
	d := store.Digest([]byte("x"))
	_, err = b.Get(ctx, d)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, b.Delete(ctx, d), context.Canceled)
	_, err = b.List(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = b.Get(t.Context(), d)
	assert.ErrorIs(t, err, store.ErrNotFound, "a canceled put writes nothing")
}

// testBlobConcurrent puts the same few blobs from many goroutines.
func testBlobConcurrent(t *testing.T, b store.Blobs) {
	const workers = 8
	ctx := t.Context()
	blobs := [][]byte{pattern(100, 1), pattern(300000, 2), pattern(5000, 3)}
	var wg sync.WaitGroup
	errs := make(chan error, workers*len(blobs)*3)
	for w := range workers {
		wg.Go(func() {
			for i := range 3 * len(blobs) {
				data := blobs[(w+i)%len(blobs)]
				d, err := b.Put(ctx, data)
				if err == nil && d != store.Digest(data) {
					err = assert.AnError
				}
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	infos, err := b.List(ctx)
	require.NoError(t, err)
	assert.Len(t, infos, len(blobs))
	for _, data := range blobs {
		got, err := b.Get(ctx, store.Digest(data))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data, got))
	}
}
