package wasmfaas

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecodeData feeds event data, which comes from whoever published the
// event, to decodeData: it never panics; a failure is always an *Error of
// kind invalid_input about "data"; a value it accepts re-encodes to data it
// accepts again as the same value.
func FuzzDecodeData(f *testing.F) {
	for _, s := range []string{
		`{"device":"d1","location":{"lat":1.5,"lon":-2},"samples":[{"v":1},{"v":0}]}`,
		`{"device":""}`,
		`{"DEVICE":"case"}`,
		`{"device":"d","location":{"lat":1}}`,
		`{"device":"d","samples":[{"v":null}]}`,
		`null`, `[]`, `{"device":1}`, ` `, `{"device":"d"} trailing`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v located
		err := decodeData(data, &v)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindInvalidInput || !strings.HasPrefix(e.Message, "data") {
				t.Fatalf("decode %q: want an invalid_input *Error about data, got %T %v", data, err, err)
			}
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal %+v: %v", v, err)
		}
		var w located
		if err := decodeData(b, &w); err != nil {
			t.Fatalf("accepted %q but not its re-encoding %s: %v", data, b, err)
		}
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("round trip of %q: %+v, then %+v", data, v, w)
		}
	})
}
