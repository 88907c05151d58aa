package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
)

func testHammer(t *testing.T, s store.Store) {
	const (
		workers = 8
		each    = 500
	)
	ctx, p := t.Context(), s.Properties()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []error
		retries  int
	)
	for range workers {
		wg.Go(func() {
			for range each {
				n, err := increment(ctx, p)
				mu.Lock()
				retries += n
				if err != nil {
					failures = append(failures, err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	require.Empty(t, failures)
	got, err := p.Get(ctx, "counter", "n")
	require.NoError(t, err)
	assert.JSONEq(t, strconv.Itoa(workers*each), string(got.Value), "lost updates (%d retries)", retries)
	t.Logf("%d increments, %d conflicts retried", workers*each, retries)
}

// increment adds 1 to the counter with a get → compare-and-set loop, the way
// a guest does an atomic update; it returns the number of conflicts retried.
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
				return retries, fmt.Errorf("counter value %q: %w", cur.Value, err)
			}
			expect = int64(cur.Revision)
		}
		_, err = p.Set(ctx, "counter", "n", raw(strconv.Itoa(n+1)), expect)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return retries, err
	}
}
