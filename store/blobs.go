package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// ErrCorrupt: stored bytes do not match the digest they are stored under.
//
// It belongs with the other sentinels in errors.go; it lives here until the
// blob store lands, to keep this change to its own files.
var ErrCorrupt = errors.New("corrupt")

// DigestPrefix starts every blob digest: "sha256:" followed by 64 lowercase
// hex digits, the form OCI and the module registry use.
const DigestPrefix = "sha256:"

// DefaultMaxBlobSize is the blob size limit a backend applies when its
// configuration gives none: large enough for a module built from Go or .NET
// with its runtime, small enough that an upload cannot fill memory.
const DefaultMaxBlobSize = 64 << 20

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Digest  string
	Size    int64
	Created time.Time // when the blob was first stored
}

// Blobs stores modules' bytes by content address, so two uploads of the same
// module are one blob and a reader can check what it got. Every method
// returns the context's error for a context that is already done.
type Blobs interface {
	// Put stores data and returns its digest (Digest). It is idempotent: a
	// blob already stored is not written again. Data over the backend's size
	// limit is ErrTooLarge; Put checks nothing else about the bytes.
	Put(ctx context.Context, data []byte) (digest string, err error)
	// Get returns the blob's bytes; ErrNotFound if absent. It verifies the
	// digest of what it read, so bytes damaged in storage are ErrCorrupt,
	// never returned as the module.
	Get(ctx context.Context, digest string) ([]byte, error)
	// Delete removes the blob; a missing blob is not an error.
	Delete(ctx context.Context, digest string) error
	// List describes every stored blob, sorted by digest.
	List(ctx context.Context) ([]BlobInfo, error)
}

// Digest returns the content address of data: "sha256:<64 lowercase hex>".
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return DigestPrefix + hex.EncodeToString(sum[:])
}

// CheckDigest validates a digest's form: DigestPrefix and 64 lowercase hex
// digits. Uppercase is refused rather than folded, so one blob has one name.
func CheckDigest(op, digest string) error {
	ok := len(digest) == len(DigestPrefix)+2*sha256.Size && digest[:len(DigestPrefix)] == DigestPrefix
	for i := len(DigestPrefix); ok && i < len(digest); i++ {
		c := digest[i]
		ok = '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
	}
	if !ok {
		return WrapBlob(op, digest, fmt.Errorf("%w: digest must be %q and 64 lowercase hex digits", ErrInvalid, DigestPrefix))
	}
	return nil
}

// CheckBlobSize refuses a blob of size bytes over limit with ErrTooLarge.
func CheckBlobSize(size, limit int64) error {
	if size > limit {
		return fmt.Errorf("put blob: %w: blob is %d bytes, limit %d", ErrTooLarge, size, limit)
	}
	return nil
}

// VerifyBlob checks that data has the given digest; ErrCorrupt if not.
func VerifyBlob(digest string, data []byte) error {
	if got := Digest(data); got != digest {
		return WrapBlob("get", digest, fmt.Errorf("%w: stored bytes have digest %s", ErrCorrupt, got))
	}
	return nil
}

// WrapBlob adds the operation and digest to err: `get blob "sha256:…": not found`.
func WrapBlob(op, digest string, err error) error {
	q := quote(digest)
	if len(digest) <= len(DigestPrefix)+2*sha256.Size {
		q = fmt.Sprintf("%q", digest) // a whole digest, not cut at maxQuoted
	}
	return fmt.Errorf("%s blob %s: %w", op, q, err)
}
