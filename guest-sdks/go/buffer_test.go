package wasmfaas

import (
	"bytes"
	"slices"
	"testing"
)

// fakeHost returns a call for fillInto that serves the successive values of
// data, one per call, the way a value that changes between two host calls
// would look.
func fakeHost(data ...[]byte) (func(buf []byte) int64, *int) {
	calls := 0
	return func(buf []byte) int64 {
		d := data[min(calls, len(data)-1)]
		calls++
		if len(d) <= len(buf) {
			copy(buf, d)
		}
		return int64(len(d))
	}, &calls
}

func TestFill(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 3000)
	bigger := bytes.Repeat([]byte("y"), 5000)
	tests := []struct {
		name    string
		data    [][]byte
		want    []byte
		calls   int
		wantCap int
	}{
		{name: "fits", data: [][]byte{[]byte("hello")}, want: []byte("hello"), calls: 1, wantCap: 16},
		{name: "empty", data: [][]byte{{}}, want: []byte{}, calls: 1, wantCap: 16},
		{name: "grows once", data: [][]byte{big}, want: big, calls: 2, wantCap: 3000},
		{name: "grew between calls", data: [][]byte{big, bigger}, want: bigger, calls: 3, wantCap: 5000},
		{name: "shrank between calls", data: [][]byte{big, []byte("z")}, want: []byte("z"), calls: 2, wantCap: 3000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]byte, 16)
			call, calls := fakeHost(tt.data...)
			got, n := fillInto(&buf, call)
			if n != int64(len(tt.want)) || !bytes.Equal(got, tt.want) {
				t.Errorf("fillInto = (%d bytes, %d), want %d bytes", len(got), n, len(tt.want))
			}
			if *calls != tt.calls {
				t.Errorf("host calls = %d, want %d", *calls, tt.calls)
			}
			if len(buf) != tt.wantCap {
				t.Errorf("buffer size = %d, want %d (kept for the next call)", len(buf), tt.wantCap)
			}
		})
	}
}

func TestFillStatus(t *testing.T) {
	buf := make([]byte, 4)
	got, n := fillInto(&buf, func([]byte) int64 { return statusNotFound })
	if got != nil || n != statusNotFound {
		t.Errorf("fillInto = (%q, %d), want (nil, %d)", got, n, statusNotFound)
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a\x00", []string{"a"}},
		{"a\x00bc\x00", []string{"a", "bc"}},
		{"a\x00\x00b\x00", []string{"a", "", "b"}},
		{"a\x00b", []string{"a", "b"}},
	}
	for _, tt := range tests {
		if got := splitList([]byte(tt.in)); !slices.Equal(got, tt.want) {
			t.Errorf("splitList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEncodeAttrs(t *testing.T) {
	got, err := encodeAttrs(EmitEvent{
		Type:            "com.example.x",
		Subject:         "dev|1",
		DataContentType: "application/json",
		Extensions:      map[string]string{"zeta": "1", "alpha": ""},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "type\x00com.example.x\x00subject\x00dev|1\x00datacontenttype\x00application/json\x00alpha\x00\x00zeta\x001\x00"
	if string(got) != want {
		t.Errorf("encodeAttrs = %q, want %q", got, want)
	}

	for _, ev := range []EmitEvent{
		{},
		{Type: "a\x00b"},
		{Type: "t", Subject: "s\x00"},
		{Type: "t", Extensions: map[string]string{"k": "v\x00"}},
		{Type: "t", Extensions: map[string]string{"k\x00": "v"}},
	} {
		if _, err := encodeAttrs(ev); err == nil {
			t.Errorf("encodeAttrs(%+v) = nil error, want ErrInvalid", ev)
		}
	}
}
