package jetstream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/store"
)

// BlobsConfig configures a Blobs. The zero value is the single-host default.
type BlobsConfig struct {
	// Bucket is the object store bucket; layout.ModulesBucket if empty.
	Bucket string
	// MaxSize is the largest blob Put accepts; store.DefaultMaxBlobSize if
	// zero. The object store chunks blobs, so it is not bound by NATS's
	// max_payload.
	MaxSize int64
}

// Blobs is a store.Blobs on a JetStream object store: one object per blob,
// named by its digest, so every host sharing the NATS cluster reads the
// modules any host uploaded. It is safe for concurrent use.
type Blobs struct {
	cfg BlobsConfig
	nc  *nats.Conn
	obs jetstream.ObjectStore
}

var _ store.Blobs = (*Blobs)(nil)

// NewBlobs opens the bucket, which must exist (layout.Ensure).
func NewBlobs(ctx context.Context, js jetstream.JetStream, cfg BlobsConfig) (*Blobs, error) {
	if cfg.MaxSize < 0 {
		return nil, fmt.Errorf("open blob store: %w: negative size limit", store.ErrInvalid)
	}
	cfg.Bucket = cmp.Or(cfg.Bucket, layout.ModulesBucket)
	cfg.MaxSize = cmp.Or(cfg.MaxSize, store.DefaultMaxBlobSize)
	obs, err := js.ObjectStore(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("open blob bucket %s: %w", cfg.Bucket, natsUnavailable(ctx, err))
	}
	return &Blobs{cfg: cfg, nc: js.Conn(), obs: obs}, nil
}

// Put implements store.Blobs. A blob already stored is left alone, so a
// second upload of a module neither rewrites its chunks under a concurrent
// reader nor changes its creation time.
func (b *Blobs) Put(ctx context.Context, data []byte) (string, error) {
	if err := store.CheckBlobSize(int64(len(data)), b.cfg.MaxSize); err != nil {
		return "", err
	}
	digest := store.Digest(data)
	if err := b.check(ctx); err != nil {
		return "", store.WrapBlob("put", digest, err)
	}
	_, err := b.obs.GetInfo(ctx, digest)
	switch {
	case err == nil:
		return digest, nil
	case !errors.Is(err, jetstream.ErrObjectNotFound):
		return "", store.WrapBlob("put", digest, natsUnavailable(ctx, err))
	}
	if _, err := b.obs.PutBytes(ctx, digest, data); err != nil {
		return "", store.WrapBlob("put", digest, natsUnavailable(ctx, err))
	}
	return digest, nil
}

// Get implements store.Blobs. The object store checks its own SHA-256 of
// the chunks it read; Get also checks the bytes against the name, which
// catches an object written under the wrong digest.
func (b *Blobs) Get(ctx context.Context, digest string) ([]byte, error) {
	if err := store.CheckDigest("get", digest); err != nil {
		return nil, err
	}
	if err := b.check(ctx); err != nil {
		return nil, store.WrapBlob("get", digest, err)
	}
	data, err := b.obs.GetBytes(ctx, digest)
	switch {
	case errors.Is(err, jetstream.ErrObjectNotFound):
		return nil, store.WrapBlob("get", digest, store.ErrNotFound)
	case errors.Is(err, jetstream.ErrDigestMismatch):
		return nil, store.WrapBlob("get", digest, fmt.Errorf("%w: %w", store.ErrCorrupt, err))
	case err != nil:
		return nil, store.WrapBlob("get", digest, natsUnavailable(ctx, err))
	}
	if err := store.VerifyBlob(digest, data); err != nil {
		return nil, err
	}
	return data, nil
}

// Delete implements store.Blobs.
func (b *Blobs) Delete(ctx context.Context, digest string) error {
	if err := store.CheckDigest("delete", digest); err != nil {
		return err
	}
	if err := b.check(ctx); err != nil {
		return store.WrapBlob("delete", digest, err)
	}
	err := b.obs.Delete(ctx, digest)
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return store.WrapBlob("delete", digest, natsUnavailable(ctx, err))
	}
	return nil
}

// List implements store.Blobs. Objects whose names are not digests (put in
// the bucket by something else) are not blobs and are left out.
func (b *Blobs) List(ctx context.Context) ([]store.BlobInfo, error) {
	if err := b.check(ctx); err != nil {
		return nil, fmt.Errorf("list blobs: %w", err)
	}
	infos, err := b.obs.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, fmt.Errorf("list blobs: %w", natsUnavailable(ctx, err))
	}
	out := make([]store.BlobInfo, 0, len(infos))
	for _, info := range infos {
		if info.Deleted || store.CheckDigest("list", info.Name) != nil {
			continue
		}
		out = append(out, store.BlobInfo{Digest: info.Name, Size: int64(info.Size), Created: info.ModTime.UTC()})
	}
	slices.SortFunc(out, func(x, y store.BlobInfo) int { return cmp.Compare(x.Digest, y.Digest) })
	return out, nil
}

// check returns the context's error, or an error wrapping
// store.ErrUnavailable when the connection is down.
func (b *Blobs) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if st := b.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("%w: nats connection is %s", store.ErrUnavailable, st)
	}
	return nil
}
