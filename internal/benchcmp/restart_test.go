package benchcmp

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/wasmfaas/wasmfaas/internal/app"
	"github.com/wasmfaas/wasmfaas/modules"
)

// TestRestartLoad is the start-up benchmark: a host with 10 Go functions
// restarts on its data directory, and the time is from app.New (the
// embedded NATS server recovering its streams, the layout, the functions
// loaded from the compilation cache, the router) until every function has
// answered a synchronous invoke. Each function has its own module (the
// no-op guest with a custom section naming it), so ten modules come from
// the cache, not one. It runs only when asked for by name (`make bench`
// does):
//
//	go test -run '^TestRestartLoad$' -count=1 -v .
func TestRestartLoad(t *testing.T) {
	if f := flag.Lookup("test.run"); f == nil || !strings.Contains(f.Value.String(), "RestartLoad") {
		t.Skip("run with -run RestartLoad")
	}
	const functions, rounds = 10, 5
	wasm, err := readGo(hostGuests + "noop")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := app.Config{DataDir: dir, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	ctx := context.Background()
	open := func() *app.App {
		a, err := app.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	shut := func(a *app.App) {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := a.Shutdown(sctx); err != nil {
			t.Fatal(err)
		}
	}
	invoke := func(h http.Handler, fn string) int {
		req, _ := http.NewRequest("POST", "/v1/functions/"+fn+"/invoke", bytes.NewReader([]byte(`{}`)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("ce-specversion", "1.0")
		req.Header.Set("ce-id", fmt.Sprintf("restart-%d", time.Now().UnixNano()))
		req.Header.Set("ce-source", "/bench")
		req.Header.Set("ce-type", "com.example.bench")
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, req)
		return rec.status
	}

	a := open()
	for i := range functions {
		name := fmt.Sprintf("fn%d", i)
		deployModule(t, a.Handler(), withCustomSection(wasm, "wasmfaas-bench", name), name)
		if s := invoke(a.Handler(), name); s/100 != 2 {
			t.Fatalf("invoke %s: %d", name, s)
		}
	}
	shut(a)

	var times []float64
	for round := range rounds {
		start := time.Now()
		a := open()
		// app.New returns once every stored function is loaded: each
		// must answer its first invoke.
		for i := range functions {
			name := fmt.Sprintf("fn%d", i)
			if s := invoke(a.Handler(), name); s/100 != 2 {
				t.Fatalf("%s answered %d right after the restart", name, s)
			}
		}
		d := time.Since(start)
		t.Logf("round %d: every function answered %s after the restart", round+1, d.Round(time.Millisecond))
		times = append(times, d.Seconds())
		shut(a)
	}
	m := median(times)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\nrestart: %d Go functions, app.New until each answers an invoke, median of %d\n", functions, rounds)
	fmt.Fprintln(tw, "target\tmeasured\tresult")
	result := "met"
	if m > 1 {
		result = "missed"
	}
	fmt.Fprintf(tw, "restart until every function answers <= 1 s\t%.0f ms\t%s\n", m*1000, result)
	_ = tw.Flush()
}

// deployModule uploads wasm and deploys it as function name.
func deployModule(t *testing.T, api http.Handler, wasm []byte, name string) {
	t.Helper()
	var mf modules.Manifest
	if err := json.Unmarshal(apiDo(t, api, "POST", "/v1/modules", "application/wasm", wasm), &mf); err != nil {
		t.Fatal(err)
	}
	apiDo(t, api, "PUT", "/v1/functions/"+name, "application/json", []byte(`{"module": "`+mf.Digest+`"}`))
}

// withCustomSection returns wasm with a custom section appended: the same
// code under another digest.
func withCustomSection(wasm []byte, name, payload string) []byte {
	uleb := func(b []byte, n int) []byte {
		for {
			c := byte(n & 0x7f)
			n >>= 7
			if n != 0 {
				c |= 0x80
			}
			b = append(b, c)
			if n == 0 {
				return b
			}
		}
	}
	content := uleb(nil, len(name))
	content = append(content, name...)
	content = append(content, payload...)
	out := append(bytes.Clone(wasm), 0)
	out = uleb(out, len(content))
	return append(out, content...)
}
