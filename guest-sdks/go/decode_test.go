package wasmfaas

import (
	"errors"
	"fmt"
	"testing"
)

type reading struct {
	TempC float64 `json:"tempc" wasmfaas:"required"`
	Unit  string  `json:"unit"`
}

type located struct {
	Device   string    `json:"device" wasmfaas:"required"`
	Location *position `json:"location"`
	Samples  []sample  `json:"samples"`
	Note     string    `json:"-" wasmfaas:"required"` // ignored by encoding/json, so never required
}

type position struct {
	Lat float64 `json:"lat" wasmfaas:"required"`
	Lon float64 `json:"lon" wasmfaas:"required"`
}

type sample struct {
	V *float64 `json:"v" wasmfaas:"required"`
}

type Base struct {
	ID string `json:"id" wasmfaas:"required"`
}

type embedded struct {
	Base
	Name string `json:"name"`
}

type validated struct {
	N int `json:"n"`
}

func (v validated) Validate() error {
	if v.N < 0 {
		return fmt.Errorf("n must not be negative, got %d", v.N)
	}
	return nil
}

type ptrValidated struct {
	N int `json:"n"`
}

func (v *ptrValidated) Validate() error {
	if v.N > 10 {
		return Errorf("too_big", "n is %d", v.N)
	}
	return nil
}

func TestDecodeData(t *testing.T) {
	tests := []struct {
		name string
		data string
		into func() any
		want string // "" for success, else the rejection message
	}{
		{name: "ok", data: `{"tempc": 21.5}`, into: func() any { return new(reading) }},
		{name: "extra fields are fine", data: `{"tempc": 1, "humidity": 40}`, into: func() any { return new(reading) }},
		{name: "zero is present", data: `{"tempc": 0}`, into: func() any { return new(reading) }},
		{name: "key case as encoding/json", data: `{"TempC": 3}`, into: func() any { return new(reading) }},
		{name: "missing required", data: `{"unit": "C"}`, into: func() any { return new(reading) }, want: `data: field "tempc" is required`},
		{name: "null required", data: `{"tempc": null}`, into: func() any { return new(reading) }, want: `data: field "tempc" is required`},
		{name: "null document", data: `null`, into: func() any { return new(reading) }, want: `data: field "tempc" is required`},
		{name: "wrong type", data: `{"tempc": "hot"}`, into: func() any { return new(reading) }, want: `data: field "tempc" must be a number, got string`},
		{name: "not an object", data: `[1]`, into: func() any { return new(reading) }, want: `data: must be an object, got array`},
		{name: "syntax", data: `{"tempc": }`, into: func() any { return new(reading) }, want: `data: invalid JSON: invalid character '}' looking for beginning of value (at byte 11)`},
		{name: "truncated", data: `{"tempc": 1`, into: func() any { return new(reading) }, want: `data: invalid JSON: unexpected end of JSON input (at byte 11)`},
		{name: "empty", data: ``, into: func() any { return new(reading) }, want: `data: invalid JSON: no data`},
		{name: "nested ok", data: `{"device": "d", "location": {"lat": 1, "lon": 2}, "samples": [{"v": 0}]}`, into: func() any { return new(located) }},
		{name: "nested absent parent", data: `{"device": "d"}`, into: func() any { return new(located) }},
		{name: "nested missing", data: `{"device": "d", "location": {"lat": 1}}`, into: func() any { return new(located) }, want: `data.location: field "lon" is required`},
		{name: "array element missing", data: `{"device": "d", "samples": [{"v": 1}, {}]}`, into: func() any { return new(located) }, want: `data.samples[1]: field "v" is required`},
		{name: "nested wrong type", data: `{"device": "d", "location": {"lat": "n"}}`, into: func() any { return new(located) }, want: `data: field "location.lat" must be a number, got string`},
		{name: "embedded missing", data: `{"name": "x"}`, into: func() any { return new(embedded) }, want: `data: field "id" is required`},
		{name: "embedded ok", data: `{"id": "x"}`, into: func() any { return new(embedded) }},
		{name: "validate ok", data: `{"n": 1}`, into: func() any { return new(validated) }},
		{name: "validate fails", data: `{"n": -1}`, into: func() any { return new(validated) }, want: `data: n must not be negative, got -1`},
		{name: "pointer validate keeps its kind", data: `{"n": 11}`, into: func() any { return new(ptrValidated) }, want: `n is 11`},
		{name: "pointer T null", data: `null`, into: func() any { return new(*validated) }},
		{name: "map", data: `{"a": 1}`, into: func() any { return new(map[string]int) }},
		{name: "integer overflow", data: `{"n": 1e30}`, into: func() any { return new(validated) }, want: `data: field "n" must be an integer, got number 1e30`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decodeData([]byte(tt.data), tt.into())
			if tt.want == "" {
				if err != nil {
					t.Fatalf("decodeData(%s) = %v, want nil", tt.data, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("decodeData(%s) = nil, want %q", tt.data, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("message = %q, want %q", got, tt.want)
			}
			e, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("error %T is not an *Error", err)
			}
			wantKind := KindInvalidInput
			if tt.name == "pointer validate keeps its kind" {
				wantKind = "too_big"
			}
			if e.Kind != wantKind {
				t.Errorf("kind = %q, want %q", e.Kind, wantKind)
			}
		})
	}
}

func TestDecodeDataValues(t *testing.T) {
	var r reading
	if err := decodeData([]byte(`{"tempc": -4.5, "unit": "C"}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.TempC != -4.5 || r.Unit != "C" {
		t.Errorf("decoded %+v", r)
	}
}

func TestDecodeDataNonPointer(t *testing.T) {
	err := decodeData([]byte(`{}`), reading{})
	if err == nil {
		t.Fatal("want an error")
	}
	if kind, _ := errorParts(err); kind != KindError {
		t.Errorf("kind = %q, want %q: a non-pointer is the handler's bug, not the event's", kind, KindError)
	}
}
