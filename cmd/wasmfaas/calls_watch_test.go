package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// runCLI runs the CLI in-process and returns its stdout and error.
func runCLI(ctx context.Context, args ...string) (string, error) {
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// watch starts `calls -w` with args and returns its output lines as they
// come, and a func that stops it and returns its error.
func watch(t *testing.T, args ...string) (<-chan string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	root := newRoot()
	root.SetOut(pw)
	root.SetErr(pw)
	root.SetArgs(append([]string{"calls", "-w"}, args...))
	done := make(chan error, 1)
	go func() {
		err := root.ExecuteContext(ctx)
		pw.Close()
		done <- err
	}()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return context.DeadlineExceeded
		}
	}
}

func nextLine(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		require.True(t, ok, "calls -w ended")
		return l
	case <-time.After(15 * time.Second):
		require.FailNow(t, "no line from calls -w within 15s")
		return ""
	}
}

// TestCallsWatch: `wasmfaas calls -w` prints one line per call logged
// after it started, filtered like `calls`, with -o json one ExecutionInfo
// per line, until interrupted.
func TestCallsWatch(t *testing.T) {
	a := startApp(t, &Config{HTTP: HTTPConfig{Addr: "127.0.0.1:0"}})
	ts := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		a.CloseStreams()
		ts.Close()
	})
	hello, err := hosttest.BuildGo(t.Context(), "../../examples/hello/go")
	require.NoError(t, err)
	server := "--server=" + ts.URL
	out, err := runCLI(t.Context(), "deploy", "hello", hello, server)
	require.NoError(t, err, out)
	out, err = runCLI(t.Context(), "deploy", "hello2", hello, server)
	require.NoError(t, err, out)

	text, stopText := watch(t, server, "--function", "hello")
	asJSON, stopJSON := watch(t, server, "-o", "json")
	// The header says the text stream is open; the JSON one prints none,
	// so a first call shows it is open before the calls that count.
	assert.Equal(t, strings.Join(callHeader, "  "), nextLine(t, text))
	deadline := time.Now().Add(15 * time.Second)
	var first map[string]any
	for first == nil {
		_, err := runCLI(t.Context(), "invoke", "hello2", "--data", "probe", server)
		require.NoError(t, err)
		select {
		case l := <-asJSON:
			require.NoError(t, json.Unmarshal([]byte(l), &first), l)
		case <-time.After(200 * time.Millisecond): // the JSON stream may not be open yet: invoke again
			require.True(t, time.Now().Before(deadline), "calls -w -o json printed nothing")
		}
	}
	assert.Equal(t, "hello2", first["function"])
	for len(asJSON) > 0 {
		<-asJSON // further probes
	}

	var ids []string
	for _, fn := range []string{"hello", "hello2", "hello"} {
		out, err := runCLI(t.Context(), "invoke", fn, "--data", "hi", "-o", "json", server)
		require.NoError(t, err, out)
		var info struct {
			CallID string `json:"call_id"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &info), out)
		ids = append(ids, info.CallID)
	}
	for _, want := range []string{ids[0], ids[2]} {
		fields := strings.Fields(nextLine(t, text))
		require.GreaterOrEqual(t, len(fields), 5)
		assert.Equal(t, []string{want, "hello", "ok"}, fields[:3], "the call of hello2 is filtered out")
	}
	for _, want := range ids {
		var got map[string]any
		l := nextLine(t, asJSON)
		require.NoError(t, json.Unmarshal([]byte(l), &got), l)
		assert.Equal(t, want, got["call_id"])
	}
	assert.NoError(t, stopText(), "an interrupted watch ends without an error")
	assert.NoError(t, stopJSON())

	_, err = runCLI(t.Context(), "calls", "-w", "some-id", server)
	assert.ErrorContains(t, err, "takes no call id")
}
