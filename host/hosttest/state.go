package hosttest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/wasmfaas/wasmfaas/abi"
)

// State is a state fixture: what the store holds before a call.
//
//	{"properties": {"device|1": {"temp_min": 18}},
//	 "extended":   {"device|1": {"fleet": "north"}},
//	 "kv":         {"greeting": "hello"},
//	 "config":     {"mode": "strict"}}
//
// kv keys land in the namespace of the function under test; config is
// applied to it when it is deployed.
type State struct {
	Properties map[string]map[string]json.RawMessage `json:"properties,omitempty"`
	Extended   map[string]map[string]string          `json:"extended,omitempty"`
	KV         map[string]string                     `json:"kv,omitempty"`
	Config     map[string]string                     `json:"config,omitempty"`
}

// ReadState reads a state fixture; unknown fields are errors so a typo never
// silently seeds nothing.
func ReadState(path string) (State, error) {
	var s State
	f, err := os.Open(path)
	if err != nil {
		return s, fmt.Errorf("read state: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("parse state %s: %w", path, err)
	}
	return s, nil
}

// Merge returns s with o's entries added (o wins).
func (s State) Merge(o State) State {
	out := State{
		Properties: map[string]map[string]json.RawMessage{},
		Extended:   map[string]map[string]string{},
		KV:         map[string]string{},
		Config:     map[string]string{},
	}
	for _, st := range []State{s, o} {
		for subj, props := range st.Properties {
			if out.Properties[subj] == nil {
				out.Properties[subj] = map[string]json.RawMessage{}
			}
			for k, v := range props {
				out.Properties[subj][k] = v
			}
		}
		for subj, ext := range st.Extended {
			if out.Extended[subj] == nil {
				out.Extended[subj] = map[string]string{}
			}
			for k, v := range ext {
				out.Extended[subj][k] = v
			}
		}
		for k, v := range st.KV {
			out.KV[k] = v
		}
		for k, v := range st.Config {
			out.Config[k] = v
		}
	}
	return out
}

// Seed writes the fixture's properties, extended properties and KV (in
// function fn's namespace) into the store.
func (h *Host) Seed(ctx context.Context, fn string, s State) error {
	ps, kv := h.state.Properties(), h.state.KV()
	for subj, props := range s.Properties {
		for name, v := range props {
			if _, err := ps.Set(ctx, subj, name, v, abi.RevAny); err != nil {
				return fmt.Errorf("seed property %q of %q: %w", name, subj, err)
			}
		}
	}
	for subj, ext := range s.Extended {
		for name, v := range ext {
			if err := ps.SetExtended(ctx, subj, name, v); err != nil {
				return fmt.Errorf("seed extended property %q of %q: %w", name, subj, err)
			}
		}
	}
	for k, v := range s.KV {
		if _, err := kv.Put(ctx, fn, k, []byte(v)); err != nil {
			return fmt.Errorf("seed key %q: %w", k, err)
		}
	}
	return nil
}
