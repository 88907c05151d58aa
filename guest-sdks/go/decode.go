package wasmfaas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// validator is implemented by event data types that check themselves after
// decoding (HandleJSON, Event.DecodeJSON).
type validator interface {
	Validate() error
}

// decodeData decodes event data into v (a non-nil pointer), checks the fields
// tagged `wasmfaas:"required"` and runs Validate. Every failure is an *Error
// of kind invalid_input whose message starts with "data", because it is the
// event's fault, not the handler's: the caller returns it as is.
func decodeData(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		// The handler's bug, not the event's: kind "error", not a rejection.
		return fmt.Errorf("wasmfaas: decode event data into %T: need a non-nil pointer", v)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return Reject("data: invalid JSON: no data")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return Reject("%s", describeJSONError(err))
	}
	if err := checkRequired(rv.Type().Elem(), data, "data"); err != nil {
		return err
	}
	return validate(rv)
}

// validate calls Validate on the decoded value or a pointer to it, whichever
// implements it, so both value and pointer receivers work.
func validate(ptr reflect.Value) error {
	var val validator
	elem := ptr.Elem()
	if x, ok := elem.Interface().(validator); ok {
		if elem.Kind() == reflect.Pointer && elem.IsNil() {
			return nil
		}
		val = x
	} else if x, ok := ptr.Interface().(validator); ok {
		val = x
	}
	if val == nil {
		return nil
	}
	err := val.Validate()
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*Error](err); ok {
		return err
	}
	return Reject("data: %v", err)
}

// describeJSONError rewrites encoding/json's errors in the event author's
// terms: JSON field paths and JSON type names instead of Go types.
func describeJSONError(err error) string {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("data: invalid JSON: %s (at byte %d)", se.Error(), se.Offset)
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		want := jsonTypeName(te.Type)
		if te.Field == "" {
			return fmt.Sprintf("data: must be %s, got %s", want, te.Value)
		}
		return fmt.Sprintf("data: field %q must be %s, got %s", te.Field, want, te.Value)
	}
	return "data: " + strings.TrimPrefix(err.Error(), "json: ")
}

// jsonTypeName names the JSON type a Go type decodes from, with an article.
func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + t.String()
}

// checkRequired reports the first field tagged `wasmfaas:"required"` that is
// absent or null in the JSON, descending into nested objects and arrays of
// objects. It works on the JSON rather than the decoded value because a Go
// zero value cannot tell "absent" from "0".
func checkRequired(t reflect.Type, raw json.RawMessage, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if isNull(raw) {
			obj = nil
		} else if err := json.Unmarshal(raw, &obj); err != nil {
			return nil // not an object: json.Unmarshal already accepted it, e.g. via UnmarshalJSON
		}
		return checkStruct(t, obj, path)
	case reflect.Slice, reflect.Array:
		if !hasRequired(t.Elem(), 0) || isNull(raw) {
			return nil
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil
		}
		for i, item := range items {
			if err := checkRequired(t.Elem(), item, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkStruct(t reflect.Type, obj map[string]json.RawMessage, path string) error {
	for i := range t.NumField() {
		f := t.Field(i)
		name, skip := jsonName(f)
		if skip {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if err := checkStruct(ft, obj, path); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		raw, present := lookupField(obj, name)
		if present && !isNull(raw) {
			if err := checkRequired(f.Type, raw, path+"."+name); err != nil {
				return err
			}
			continue
		}
		if isRequired(f) {
			return Reject("%s: field %q is required", path, name)
		}
	}
	return nil
}

// lookupField finds a key the way encoding/json matches it: exactly, or else
// case-insensitively.
func lookupField(obj map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if raw, ok := obj[name]; ok {
		return raw, true
	}
	for k, raw := range obj {
		if strings.EqualFold(k, name) {
			return raw, true
		}
	}
	return nil, false
}

// jsonName returns the field's name from its json tag ("" if the tag gives
// none) and whether encoding/json ignores the field.
func jsonName(f reflect.StructField) (string, bool) {
	tag, ok := f.Tag.Lookup("json")
	if !ok {
		return "", false
	}
	if tag == "-" {
		return "", true
	}
	name, _, _ := strings.Cut(tag, ",")
	return name, false
}

func isRequired(f reflect.StructField) bool {
	for opt := range strings.SplitSeq(f.Tag.Get("wasmfaas"), ",") {
		if strings.TrimSpace(opt) == "required" {
			return true
		}
	}
	return false
}

// hasRequired reports whether t holds a required field anywhere, so that
// large arrays of plain values are not walked for nothing.
func hasRequired(t reflect.Type, depth int) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || depth > 32 {
		return false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if isRequired(f) || hasRequired(f.Type, depth+1) {
			return true
		}
	}
	return false
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}
