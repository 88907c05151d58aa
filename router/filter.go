package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/store"
)

// ErrInvalidFilter is wrapped by every filter validation error.
var ErrInvalidFilter = errors.New("invalid filter")

// Filter is one Knative subscriptions-API filter: exactly one dialect is
// set. Exact, Prefix and Suffix map attribute (or extension) names to
// values, all of which must match; All and Any combine filters; Not negates.
type Filter struct {
	Exact  map[string]string `json:"exact,omitempty"`
	Prefix map[string]string `json:"prefix,omitempty"`
	Suffix map[string]string `json:"suffix,omitempty"`
	All    []Filter          `json:"all,omitempty"`
	Any    []Filter          `json:"any,omitempty"`
	Not    *Filter           `json:"not,omitempty"`
}

// dialects are the keys a filter object may have; anything else is refused
// by name (CE SQL, for one, is not supported).
var dialects = map[string]bool{"exact": true, "prefix": true, "suffix": true, "all": true, "any": true, "not": true}

// UnmarshalJSON refuses unknown dialects and objects with more or fewer
// than one dialect, naming what is wrong.
func (f *Filter) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("%w: a filter is a JSON object: %v", ErrInvalidFilter, err)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !dialects[k] {
			return fmt.Errorf("%w: unknown filter dialect %q (supported: all, any, exact, not, prefix, suffix)", ErrInvalidFilter, k)
		}
	}
	if len(keys) != 1 {
		return fmt.Errorf("%w: a filter has exactly one dialect, this one has %d (%s)", ErrInvalidFilter, len(keys), strings.Join(keys, ", "))
	}
	type plain Filter
	var p plain
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalidFilter, keys[0], err)
	}
	*f = Filter(p)
	return f.Validate()
}

// Validate checks f and its children: attribute names are CloudEvents
// attribute names, values and lists are non-empty.
func (f *Filter) Validate() error {
	n := 0
	for _, set := range []bool{f.Exact != nil, f.Prefix != nil, f.Suffix != nil, f.All != nil, f.Any != nil, f.Not != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: a filter has exactly one dialect, this one has %d", ErrInvalidFilter, n)
	}
	for dialect, m := range map[string]map[string]string{"exact": f.Exact, "prefix": f.Prefix, "suffix": f.Suffix} {
		if m == nil {
			continue
		}
		if len(m) == 0 {
			return fmt.Errorf("%w: %s needs at least one attribute", ErrInvalidFilter, dialect)
		}
		for attr, v := range m {
			if !validAttrName(attr) {
				return fmt.Errorf("%w: %s: %q is not a CloudEvents attribute name ([a-z0-9]{1,20})", ErrInvalidFilter, dialect, attr)
			}
			if v == "" {
				return fmt.Errorf("%w: %s: attribute %q has an empty value", ErrInvalidFilter, dialect, attr)
			}
		}
	}
	for dialect, list := range map[string][]Filter{"all": f.All, "any": f.Any} {
		if list == nil {
			continue
		}
		if len(list) == 0 {
			return fmt.Errorf("%w: %s needs at least one filter", ErrInvalidFilter, dialect)
		}
		for i := range list {
			if err := list[i].Validate(); err != nil {
				return fmt.Errorf("%s[%d]: %w", dialect, i, err)
			}
		}
	}
	if f.Not != nil {
		if err := f.Not.Validate(); err != nil {
			return fmt.Errorf("not: %w", err)
		}
	}
	return nil
}

func validAttrName(s string) bool { return store.IsAttributeName(s) }

// Match reports whether ev passes f.
func (f *Filter) Match(ev *cloudevents.Event) bool {
	switch {
	case f.Exact != nil:
		return matchAttrs(ev, f.Exact, func(v, want string) bool { return v == want })
	case f.Prefix != nil:
		return matchAttrs(ev, f.Prefix, strings.HasPrefix)
	case f.Suffix != nil:
		return matchAttrs(ev, f.Suffix, strings.HasSuffix)
	case f.All != nil:
		return MatchAll(f.All, ev)
	case f.Any != nil:
		for i := range f.Any {
			if f.Any[i].Match(ev) {
				return true
			}
		}
		return false
	case f.Not != nil:
		return !f.Not.Match(ev)
	}
	return false
}

// MatchAll reports whether ev passes every filter (a trigger's filters are
// ANDed; no filters match everything).
func MatchAll(filters []Filter, ev *cloudevents.Event) bool {
	for i := range filters {
		if !filters[i].Match(ev) {
			return false
		}
	}
	return true
}

func matchAttrs(ev *cloudevents.Event, want map[string]string, ok func(v, want string) bool) bool {
	for name, w := range want {
		v, present := Attr(ev, name)
		if !present || !ok(v, w) {
			return false
		}
	}
	return true
}

// Attr returns a context attribute or extension of ev in its canonical
// string form, as filters see it: the same string a guest reads
// (host.EventAttr).
func Attr(ev *cloudevents.Event, name string) (string, bool) { return host.EventAttr(ev, name) }

// tri is a three-valued truth: what a filter can say about events of which
// only the type is known.
type tri int8

const (
	triNo tri = iota
	triMaybe
	triYes
)

// onType evaluates fs (ANDed, as a trigger's filters) against the events
// of type typ, every other attribute unknown: triNo if no such event can
// match, triYes if every one does, triMaybe otherwise. The router uses it
// to decide which streams a trigger consumes before it reads any event.
func onType(fs []Filter, typ string) tri {
	out := triYes
	for i := range fs {
		out = min(out, fs[i].onType(typ))
	}
	return out
}

func (f *Filter) onType(typ string) tri {
	switch {
	case f.Exact != nil:
		return attrsOnType(f.Exact, typ, func(v, want string) bool { return v == want })
	case f.Prefix != nil:
		return attrsOnType(f.Prefix, typ, strings.HasPrefix)
	case f.Suffix != nil:
		return attrsOnType(f.Suffix, typ, strings.HasSuffix)
	case f.All != nil:
		return onType(f.All, typ)
	case f.Any != nil:
		out := triNo
		for i := range f.Any {
			out = max(out, f.Any[i].onType(typ))
		}
		return out
	case f.Not != nil:
		return triYes - f.Not.onType(typ)
	}
	return triNo
}

func attrsOnType(want map[string]string, typ string, ok func(v, want string) bool) tri {
	out := triYes
	for name, w := range want {
		switch {
		case name != "type":
			out = min(out, triMaybe)
		case !ok(typ, w):
			return triNo
		}
	}
	return out
}

// selectsType reports whether fs admit events of type typ but no event of
// an arbitrary other type: the filters name typ. Execution events reach
// only such triggers, so a trigger that matches everything does not also
// run on every call's execution event (each of which would make another).
func selectsType(fs []Filter, typ string) bool {
	return onType(fs, typ) != triNo && onType(fs, "\x00unlikely type") == triNo
}
