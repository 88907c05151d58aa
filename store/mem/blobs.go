package mem

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wasmfaas/wasmfaas/store"
)

// BlobsConfig configures a Blobs.
type BlobsConfig struct {
	// MaxSize is the largest blob Put accepts; 0 means
	// store.DefaultMaxBlobSize.
	MaxSize int64
	// Now stamps BlobInfo.Created; nil means time.Now.
	Now func() time.Time
}

// Blobs is an in-memory store.Blobs. It is safe for concurrent use.
type Blobs struct {
	max int64
	now func() time.Time

	mu    sync.RWMutex
	blobs map[string]blob // digest → blob; data is never modified after it is stored
}

type blob struct {
	data    []byte
	created time.Time
}

var _ store.Blobs = (*Blobs)(nil)

// NewBlobs returns an empty blob store; a negative MaxSize is
// store.ErrInvalid.
func NewBlobs(cfg BlobsConfig) (*Blobs, error) {
	if cfg.MaxSize < 0 {
		return nil, fmt.Errorf("blob size limit %d: %w: must not be negative", cfg.MaxSize, store.ErrInvalid)
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = store.DefaultMaxBlobSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Blobs{max: cfg.MaxSize, now: cfg.Now, blobs: map[string]blob{}}, nil
}

// Put implements store.Blobs.
func (b *Blobs) Put(ctx context.Context, data []byte) (string, error) {
	if err := store.CheckBlobSize(int64(len(data)), b.max); err != nil {
		return "", err
	}
	digest := store.Digest(data)
	if err := ctx.Err(); err != nil {
		return "", store.WrapBlob("put", digest, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.blobs[digest]; !ok {
		b.blobs[digest] = blob{data: bytes.Clone(data), created: b.now().UTC()}
	}
	return digest, nil
}

// Get implements store.Blobs.
func (b *Blobs) Get(ctx context.Context, digest string) ([]byte, error) {
	if err := store.CheckDigest("get", digest); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, store.WrapBlob("get", digest, err)
	}
	b.mu.RLock()
	bl, ok := b.blobs[digest]
	b.mu.RUnlock()
	if !ok {
		return nil, store.WrapBlob("get", digest, store.ErrNotFound)
	}
	if err := store.VerifyBlob(digest, bl.data); err != nil {
		return nil, err
	}
	return bytes.Clone(bl.data), nil
}

// Delete implements store.Blobs.
func (b *Blobs) Delete(ctx context.Context, digest string) error {
	if err := store.CheckDigest("delete", digest); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return store.WrapBlob("delete", digest, err)
	}
	b.mu.Lock()
	delete(b.blobs, digest)
	b.mu.Unlock()
	return nil
}

// List implements store.Blobs.
func (b *Blobs) List(ctx context.Context) ([]store.BlobInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list blobs: %w", err)
	}
	b.mu.RLock()
	out := make([]store.BlobInfo, 0, len(b.blobs))
	for d, bl := range b.blobs {
		out = append(out, store.BlobInfo{Digest: d, Size: int64(len(bl.data)), Created: bl.created})
	}
	b.mu.RUnlock()
	slices.SortFunc(out, func(x, y store.BlobInfo) int { return cmp.Compare(x.Digest, y.Digest) })
	return out, nil
}

// Corrupt replaces the bytes stored under digest with data, bypassing the
// digest, so a test can check that Get refuses damaged blobs. It is a test
// helper, like Store.Dump.
func (b *Blobs) Corrupt(digest string, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bl := b.blobs[digest]
	if bl.created.IsZero() {
		bl.created = b.now().UTC()
	}
	bl.data = bytes.Clone(data)
	b.blobs[digest] = bl
}
