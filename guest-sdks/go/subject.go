package wasmfaas

import (
	"encoding/json"
	"errors"
	"fmt"
	"unsafe"
)

// Expected revisions for compare-and-set (SetIf, DeleteIf).
const (
	// RevAny makes a write unconditional.
	RevAny int64 = -1
	// RevAbsent makes a write succeed only if the property does not exist.
	RevAbsent int64 = 0
)

// MaxUpdateAttempts bounds Update's compare-and-set loop. Each conflict means
// another writer succeeded, so running out takes extraordinary contention;
// the bound turns a livelock into an error instead of a timeout.
const MaxUpdateAttempts = 1000

// Subject is a subject's reactive properties (JSON values, each with a
// revision) and extended properties (string metadata copied as extensions
// onto events about the subject). Every property change produces a
// property-changed event. Using a Subject needs the "props" capability.
type Subject struct {
	name string
}

// Name returns the subject's name.
func (s *Subject) Name() string { return s.name }

// GetRaw returns property prop as raw JSON with its revision, or an error
// wrapping ErrNotFound when it does not exist.
func (s *Subject) GetRaw(prop string) (json.RawMessage, uint64, error) {
	b, n := fill(func(buf []byte) int64 {
		return int64(propsGet(sptr(s.name), slen(s.name), sptr(prop), slen(prop), bptr(buf), blen(buf), unsafe.Pointer(&revSlot)))
	})
	if err := s.checkOp("get", prop, n); err != nil {
		return nil, 0, err
	}
	return append(json.RawMessage{}, b...), revSlot, nil
}

// Get decodes property prop into v and returns its revision, or an error
// wrapping ErrNotFound when it does not exist (v is then untouched, so it
// can hold a default).
func (s *Subject) Get(prop string, v any) (uint64, error) {
	raw, rev, err := s.GetRaw(prop)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return rev, fmt.Errorf("%s: decode: %w", s.op("get", prop), err)
	}
	return rev, nil
}

// Set sets property prop to v encoded as JSON, whatever its revision.
func (s *Subject) Set(prop string, v any) error {
	_, err := s.SetIf(prop, v, RevAny)
	return err
}

// SetIf sets property prop to v encoded as JSON if its revision is
// expectRev (RevAbsent: it must not exist; RevAny: unconditional) and
// returns the new revision, or an error wrapping ErrConflict.
func (s *Subject) SetIf(prop string, v any, expectRev int64) (uint64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("%s: encode: %w", s.op("set", prop), err)
	}
	return s.setRaw(prop, b, expectRev)
}

func (s *Subject) setRaw(prop string, val []byte, expectRev int64) (uint64, error) {
	rev := propsSet(sptr(s.name), slen(s.name), sptr(prop), slen(prop), bptr(val), blen(val), expectRev)
	if err := s.checkOp("set", prop, rev); err != nil {
		return 0, err
	}
	return uint64(rev), nil
}

// Delete deletes property prop. Deleting a missing property is not an
// error, as for KV.Delete; use DeleteIf to learn that it was missing.
func (s *Subject) Delete(prop string) error {
	err := s.DeleteIf(prop, RevAny)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// DeleteIf deletes property prop if its revision is expectRev (RevAny:
// whatever it is). It returns an error wrapping ErrNotFound when the
// property does not exist and ErrConflict when the revision differs.
func (s *Subject) DeleteIf(prop string, expectRev int64) error {
	return s.checkOp("delete", prop, int64(propsDelete(sptr(s.name), slen(s.name), sptr(prop), slen(prop), expectRev)))
}

// Update atomically replaces property prop with fn's result: it reads the
// property, calls fn with its JSON value (nil when absent), and writes the
// result encoded as JSON only if nobody wrote in between, calling fn again
// with the newer value otherwise. fn may therefore run several times and
// must not have side effects; an error from fn ends Update with that error
// and nothing written. It returns the JSON value written.
func (s *Subject) Update(prop string, fn func(old json.RawMessage) (any, error)) (json.RawMessage, error) {
	for range MaxUpdateAttempts {
		old, rev, err := s.GetRaw(prop)
		expect := int64(rev)
		switch {
		case errors.Is(err, ErrNotFound):
			old, expect = nil, RevAbsent
		case err != nil:
			return nil, fmt.Errorf("update %q: %w", prop, err)
		}
		v, err := fn(old)
		if err != nil {
			return nil, err
		}
		val, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("update %q: encode: %w", prop, err)
		}
		_, err = s.setRaw(prop, val, expect)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("update %q: %w", prop, err)
		}
		return val, nil
	}
	return nil, &wrapError{fmt.Sprintf("update %q: gave up after %d conflicts", prop, MaxUpdateAttempts), ErrConflict}
}

// Ext returns the extended property name (a string), whether it exists, and
// an error for anything but its absence.
func (s *Subject) Ext(name string) (string, bool, error) {
	b, n := fill(func(buf []byte) int64 {
		return int64(propsExtGet(sptr(s.name), slen(s.name), sptr(name), slen(name), bptr(buf), blen(buf)))
	})
	if n == statusNotFound {
		return "", false, nil
	}
	if err := s.checkOp("get extended", name, n); err != nil {
		return "", false, err
	}
	return string(b), true, nil
}

// SetExt sets the extended property name, 1-20 characters of [a-z0-9] (it
// becomes a CloudEvents extension on events about the subject).
func (s *Subject) SetExt(name, value string) error {
	return s.checkOp("set extended", name, int64(propsExtSet(sptr(s.name), slen(s.name), sptr(name), slen(name), sptr(value), slen(value))))
}

// DeleteExt deletes the extended property name; a missing one is not an
// error.
func (s *Subject) DeleteExt(name string) error {
	return s.checkOp("delete extended", name, int64(propsExtDelete(sptr(s.name), slen(s.name), sptr(name), slen(name))))
}

// checkOp is check with the description built only on failure.
func (s *Subject) checkOp(verb, prop string, code int64) error {
	if code >= 0 {
		return nil
	}
	return check(s.op(verb, prop), code)
}

func (s *Subject) op(verb, prop string) string {
	return fmt.Sprintf("%s property %q of %q", verb, prop, s.name)
}
