package jetstream

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/wasmfaas/wasmfaas/store"
)

// kv is the store.KV view of a Store: one bucket, key "<namespace>.<key>".
type kv Store

// key checks ns and key and returns the NATS key.
func (k *kv) key(op, ns, key string) (string, error) {
	if err := store.CheckKey(op, ns, key); err != nil {
		return "", err
	}
	nk := natsKey(ns, key)
	if len(nk) > maxNATSKey {
		return "", store.WrapKey(op, key, fmt.Errorf("%w: namespace and key encode to %d bytes, limit %d", store.ErrTooLarge, len(nk), maxNATSKey))
	}
	return nk, nil
}

func (k *kv) Get(ctx context.Context, ns, key string) (store.Entry, error) {
	nk, err := k.key("get", ns, key)
	if err != nil {
		return store.Entry{}, err
	}
	if err := (*Store)(k).check(ctx); err != nil {
		return store.Entry{}, store.WrapKey("get", key, err)
	}
	st, _, err := k.kvB.get(ctx, nk)
	switch {
	case err != nil:
		return store.Entry{}, store.WrapKey("get", key, err)
	case !st.exists:
		return store.Entry{}, store.WrapKey("get", key, store.ErrNotFound)
	}
	return store.Entry{Value: st.value, Revision: st.last}, nil
}

func (k *kv) Put(ctx context.Context, ns, key string, value []byte) (uint64, error) {
	nk, err := k.key("put", ns, key)
	if err != nil {
		return 0, err
	}
	if err := store.CheckValue("put", key, value); err != nil {
		return 0, err
	}
	if err := (*Store)(k).check(ctx); err != nil {
		return 0, store.WrapKey("put", key, err)
	}
	// The mirror keeps the value: copy it, and keep an empty value non-nil.
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{}
	}
	rev, err := k.kvB.put(ctx, nk, v)
	if err == errApplied {
		// A repeat: answer the key's current revision (0 if it is gone).
		st, err := k.kvB.fetch(ctx, nk)
		if err != nil {
			return 0, store.WrapKey("put", key, err)
		}
		if !st.exists {
			return 0, nil
		}
		return st.last, nil
	}
	if err != nil {
		return 0, store.WrapKey("put", key, err)
	}
	return rev, nil
}

func (k *kv) Delete(ctx context.Context, ns, key string) error {
	nk, err := k.key("delete", ns, key)
	if err != nil {
		return err
	}
	if err := (*Store)(k).check(ctx); err != nil {
		return store.WrapKey("delete", key, err)
	}
	// A delete marker for a missing key is harmless and saves a read.
	if _, err := k.kvB.remove(ctx, nk, 0, false, nil); err != nil && err != errApplied {
		return store.WrapKey("delete", key, err)
	}
	return nil
}

func (k *kv) Keys(ctx context.Context, ns, prefix string) ([]string, error) {
	if err := store.CheckNamespace("list keys of", ns); err != nil {
		return nil, err
	}
	if err := (*Store)(k).check(ctx); err != nil {
		return nil, fmt.Errorf("list keys of namespace %q: %w", ns, err)
	}
	es, err := k.kvB.group(ctx, encode(ns))
	if err != nil {
		return nil, fmt.Errorf("list keys of namespace %q: %w", ns, err)
	}
	out := []string{}
	for _, e := range es {
		if strings.HasPrefix(e.name, prefix) {
			out = append(out, e.name)
		}
	}
	return out, nil
}
