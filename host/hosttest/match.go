package hosttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Match compares got against a partial expectation: objects compare by the
// keys expect has, arrays element by element with equal lengths, scalars by
// equality (numbers by value). It returns one line per difference, each
// naming its JSON path; none means a match.
func Match(expect, got json.RawMessage) ([]string, error) {
	var e, g any
	if err := decode(expect, &e); err != nil {
		return nil, fmt.Errorf("parse expectation: %w", err)
	}
	if err := decode(got, &g); err != nil {
		return nil, fmt.Errorf("parse result: %w", err)
	}
	var diffs []string
	match("$", e, g, &diffs)
	return diffs, nil
}

func decode(b []byte, v *any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func match(path string, e, g any, diffs *[]string) {
	switch ev := e.(type) {
	case map[string]any:
		gv, ok := g.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: want an object, got %s", path, show(g)))
			return
		}
		keys := make([]string, 0, len(ev))
		for k := range ev {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gk, ok := gv[k]
			if !ok {
				if isEmpty(ev[k]) {
					continue // null, [] and {} expect absence: ExecutionInfo omits empty fields
				}
				*diffs = append(*diffs, fmt.Sprintf("%s.%s: missing, want %s", path, k, show(ev[k])))
				continue
			}
			match(path+"."+k, ev[k], gk, diffs)
		}
	case []any:
		gv, ok := g.([]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: want an array, got %s", path, show(g)))
			return
		}
		if len(ev) != len(gv) {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %d elements, got %d: %s", path, len(ev), len(gv), show(g)))
			return
		}
		for i := range ev {
			match(fmt.Sprintf("%s[%d]", path, i), ev[i], gv[i], diffs)
		}
	case json.Number:
		gn, ok := g.(json.Number)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %s, got %s", path, ev, show(g)))
			return
		}
		ef, err1 := ev.Float64()
		gf, err2 := gn.Float64()
		if err1 != nil || err2 != nil || ef != gf {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %s, got %s", path, ev, gn))
		}
	default:
		if e != g {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %s, got %s", path, show(e), show(g)))
		}
	}
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}
