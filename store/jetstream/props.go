package jetstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/store"
)

// props is the store.Properties view of a Store: properties in one bucket,
// extended properties in another, both keyed "<subject>.<name>".
type props Store

func (p *props) s() *Store { return (*Store)(p) }

// key returns the NATS key of a property or extended property.
func key(op, subject, name string) (string, error) {
	nk := natsKey(subject, name)
	if len(nk) > maxNATSKey {
		// Unreachable within abi's limits (keys.go); kept as a guard.
		return "", store.WrapProperty(op, subject, name, fmt.Errorf("%w: subject and name encode to %d bytes, limit %d", store.ErrTooLarge, len(nk), maxNATSKey))
	}
	return nk, nil
}

func (p *props) Get(ctx context.Context, subj, name string) (store.Property, error) {
	if err := store.CheckProperty("get", subj, name); err != nil {
		return store.Property{}, err
	}
	nk, err := key("get", subj, name)
	if err != nil {
		return store.Property{}, err
	}
	if err := p.s().check(ctx); err != nil {
		return store.Property{}, store.WrapProperty("get", subj, name, err)
	}
	st, _, err := p.propB.get(ctx, nk)
	switch {
	case err != nil:
		return store.Property{}, store.WrapProperty("get", subj, name, err)
	case !st.exists:
		return store.Property{}, store.WrapProperty("get", subj, name, store.ErrNotFound)
	}
	return store.Property{Value: st.value, Revision: st.last}, nil
}

// Set writes with JetStream's expected last subject sequence, so the
// server decides every compare-and-set. The current state comes from the
// mirror first; when the mirror's view fails the expectation or the server
// rejects the write, the loop reads the server and decides again, so a
// stale mirror costs a round trip, never a wrong answer. With abi.RevAny
// the loop retries until it wins, so that Change.Old is exactly the value
// it replaced.
func (p *props) Set(ctx context.Context, subj, name string, value json.RawMessage, expect int64) (store.Change, error) {
	if err := store.CheckProperty("set", subj, name); err != nil {
		return store.Change{}, err
	}
	if err := store.CheckPropertyValue("set", subj, name, value); err != nil {
		return store.Change{}, err
	}
	if expect < abi.RevAny {
		return store.Change{}, store.WrapProperty("set", subj, name, store.CheckExpect(0, false, expect))
	}
	nk, err := key("set", subj, name)
	if err != nil {
		return store.Change{}, err
	}
	if err := p.s().check(ctx); err != nil {
		return store.Change{}, store.WrapProperty("set", subj, name, err)
	}
	v := bytes.Clone(value)
	fresh := false
	for {
		var (
			st         state
			fromMirror bool
		)
		if fresh {
			st, err = p.propB.fetch(ctx, nk)
		} else {
			st, fromMirror, err = p.propB.get(ctx, nk)
		}
		if err != nil {
			return store.Change{}, store.WrapProperty("set", subj, name, err)
		}
		if err := store.CheckExpect(st.last, st.exists, expect); err != nil {
			if fromMirror {
				fresh = true
				continue
			}
			if c, ok, rerr := p.repeat(ctx, p.propB, subj, name, nk, false); rerr != nil {
				return store.Change{}, store.WrapProperty("set", subj, name, rerr)
			} else if ok {
				return c, nil
			}
			return store.Change{}, store.WrapProperty("set", subj, name, err)
		}
		rev, err := p.propB.update(ctx, nk, v, st.last, prevHeader(st))
		if err == errStale {
			fresh = true
			continue
		}
		if err == errApplied {
			c, _, err := p.repeat(ctx, p.propB, subj, name, nk, true)
			if err != nil {
				return store.Change{}, store.WrapProperty("set", subj, name, err)
			}
			return c, nil
		}
		if err != nil {
			return store.Change{}, store.WrapProperty("set", subj, name, err)
		}
		c := store.Change{Subject: subj, Name: name, New: v, Revision: rev}
		if st.exists {
			c.Old = st.value
		}
		p.s().committed(ctx, c, rev)
		return cloneChange(c), nil
	}
}

// Delete is Set's loop with a delete marker: a property the mirror says is
// absent is checked on the server before answering ErrNotFound.
func (p *props) Delete(ctx context.Context, subj, name string, expect int64) (store.Change, error) {
	if err := store.CheckProperty("delete", subj, name); err != nil {
		return store.Change{}, err
	}
	if expect < abi.RevAny {
		return store.Change{}, store.WrapProperty("delete", subj, name, store.CheckExpect(0, false, expect))
	}
	nk, err := key("delete", subj, name)
	if err != nil {
		return store.Change{}, err
	}
	if err := p.s().check(ctx); err != nil {
		return store.Change{}, store.WrapProperty("delete", subj, name, err)
	}
	fresh := false
	for {
		var (
			st         state
			fromMirror bool
		)
		if fresh {
			st, err = p.propB.fetch(ctx, nk)
		} else {
			st, fromMirror, err = p.propB.get(ctx, nk)
		}
		if err != nil {
			return store.Change{}, store.WrapProperty("delete", subj, name, err)
		}
		err = nil
		if !st.exists {
			err = store.ErrNotFound
		} else {
			err = store.CheckExpect(st.last, st.exists, expect)
		}
		if err != nil {
			if fromMirror {
				fresh = true
				continue
			}
			if _, ok, rerr := p.repeat(ctx, p.propB, subj, name, nk, false); rerr != nil {
				return store.Change{}, store.WrapProperty("delete", subj, name, rerr)
			} else if ok {
				return store.Change{Subject: subj, Name: name}, nil
			}
			return store.Change{}, store.WrapProperty("delete", subj, name, err)
		}
		rev, err := p.propB.remove(ctx, nk, st.last, true, prevHeader(st))
		if err == errStale {
			fresh = true
			continue
		}
		if err == errApplied {
			return store.Change{Subject: subj, Name: name}, nil
		}
		if err != nil {
			return store.Change{}, store.WrapProperty("delete", subj, name, err)
		}
		c := store.Change{Subject: subj, Name: name, Old: st.value}
		p.s().committed(ctx, c, rev)
		return cloneChange(c), nil
	}
}

func (p *props) List(ctx context.Context, subj string) (map[string]store.Property, error) {
	if err := store.CheckSubject("list properties of", subj); err != nil {
		return nil, err
	}
	if err := p.s().check(ctx); err != nil {
		return nil, store.WrapSubject("list properties of", subj, err)
	}
	es, err := p.propB.group(ctx, encode(subj))
	if err != nil {
		return nil, store.WrapSubject("list properties of", subj, err)
	}
	out := make(map[string]store.Property, len(es))
	for _, e := range es {
		out[e.name] = store.Property{Value: e.value, Revision: e.rev}
	}
	return out, nil
}

func (p *props) GetExtended(ctx context.Context, subj, name string) (string, error) {
	if err := store.CheckExtended("get", subj, name); err != nil {
		return "", err
	}
	if err := p.s().check(ctx); err != nil {
		return "", store.WrapExtended("get", subj, name, err)
	}
	st, _, err := p.extB.get(ctx, natsKey(subj, name))
	switch {
	case err != nil:
		return "", store.WrapExtended("get", subj, name, err)
	case !st.exists:
		return "", store.WrapExtended("get", subj, name, store.ErrNotFound)
	}
	return string(st.value), nil
}

func (p *props) SetExtended(ctx context.Context, subj, name, value string) error {
	if err := store.CheckExtended("set", subj, name); err != nil {
		return err
	}
	if err := store.CheckExtendedValue("set", subj, name, value); err != nil {
		return err
	}
	if err := p.s().check(ctx); err != nil {
		return store.WrapExtended("set", subj, name, err)
	}
	if _, err := p.extB.put(ctx, natsKey(subj, name), []byte(value)); err != nil && err != errApplied {
		return store.WrapExtended("set", subj, name, err)
	}
	return nil
}

func (p *props) DeleteExtended(ctx context.Context, subj, name string) error {
	if err := store.CheckExtended("delete", subj, name); err != nil {
		return err
	}
	if err := p.s().check(ctx); err != nil {
		return store.WrapExtended("delete", subj, name, err)
	}
	if _, err := p.extB.remove(ctx, natsKey(subj, name), 0, false, nil); err != nil && err != errApplied {
		return store.WrapExtended("delete", subj, name, err)
	}
	return nil
}

func (p *props) Extended(ctx context.Context, subj string) (map[string]string, error) {
	if err := store.CheckSubject("list extended properties of", subj); err != nil {
		return nil, err
	}
	if err := p.s().check(ctx); err != nil {
		return nil, store.WrapSubject("list extended properties of", subj, err)
	}
	return p.s().extended(ctx, subj)
}

// extended returns the extended properties of subj.
func (s *Store) extended(ctx context.Context, subj string) (map[string]string, error) {
	es, err := s.extB.group(ctx, encode(subj))
	if err != nil {
		return nil, store.WrapSubject("list extended properties of", subj, err)
	}
	out := make(map[string]string, len(es))
	for _, e := range es {
		out[e.name] = string(e.value)
	}
	return out, nil
}

// repeat answers a write whose id was applied before (store.WithWriteID):
// the property's current value and revision, nothing notified. known says
// the caller already knows it is a repeat (the batch found the marker);
// otherwise repeat checks the marker, reporting ok false when the write
// carries no id or was not applied.
func (p *props) repeat(ctx context.Context, b *bucket, subj, name, nk string, known bool) (c store.Change, ok bool, err error) {
	if !known {
		id := store.WriteID(ctx)
		if id == "" {
			return store.Change{}, false, nil
		}
		if ok, err := b.applied(ctx, id, nk); err != nil || !ok {
			return store.Change{}, false, err
		}
	}
	st, err := b.fetch(ctx, nk)
	if err != nil {
		return store.Change{}, false, err
	}
	c = store.Change{Subject: subj, Name: name}
	if st.exists {
		c.New, c.Revision = bytes.Clone(st.value), st.last
	}
	return c, true, nil
}

func cloneChange(c store.Change) store.Change {
	c.Old = bytes.Clone(c.Old)
	c.New = bytes.Clone(c.New)
	return c
}
