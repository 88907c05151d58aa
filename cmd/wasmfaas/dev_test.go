package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const devSource = `#include "wasmfaas.h"
int wf_handle(void) { return wf_result("text/plain", "%s", %d) == WF_OK ? 0 : 1; }
`

// TestDev runs `wasmfaas dev` on a C function folder next to a running
// serve: it builds, deploys and runs the cases; a change redeploys; a
// change that does not compile prints the compiler's error and the
// deployed revision keeps serving; fixing it deploys again.
func TestDev(t *testing.T) {
	rig := newE2ERig(t)
	// Under the repository, so the build finds guest-sdks/c as it does for
	// the examples.
	example, err := filepath.Abs(filepath.Join("..", "..", "build", "devtest", "echo"))
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(example))
	t.Cleanup(func() { os.RemoveAll(example) })
	src := filepath.Join(example, "c")
	require.NoError(t, os.MkdirAll(src, 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(example, "testdata"), 0o755))
	write := func(path, body string) {
		t.Helper()
		require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	}
	version := func(v string) string { return strings.Replace(strings.Replace(devSource, "%s", v, 1), "%d", "2", 1) }
	write(filepath.Join(src, "echo.c"), version("v1"))
	write(filepath.Join(example, "testdata", "one.event.json"), `{"specversion": "1.0", "id": "1", "source": "/t", "type": "t"}`)
	write(filepath.Join(example, "testdata", "one.expect.json"), `{"status": "ok", "result": {"text": "v1"}}`)

	stop := rig.serve(t)
	defer stop()

	dev := exec.Command(rig.bin, "dev", src)
	dev.Dir, dev.Env = rig.dir, rig.env
	pr, pw := io.Pipe()
	dev.Stdout, dev.Stderr = pw, pw
	require.NoError(t, dev.Start())
	t.Cleanup(func() { _ = dev.Process.Kill(); _ = dev.Wait(); pw.Close() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var seen []string
	expect := func(pattern string) string {
		t.Helper()
		re := regexp.MustCompile(pattern)
		deadline := time.After(60 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				require.True(t, ok, "dev exited; output:\n%s", strings.Join(seen, "\n"))
				seen = append(seen, l)
				t.Log(l)
				if re.MatchString(l) {
					return l
				}
			case <-deadline:
				t.Fatalf("no line matching %q in 60s; output:\n%s", pattern, strings.Join(seen, "\n"))
			}
		}
	}
	get := func() string {
		t.Helper()
		resp, err := http.Post("http://"+rig.addr+"/v1/functions/echo/invoke", "text/plain", strings.NewReader("x"))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	expect(`watching .*echo/c \(c\) as function echo`)
	expect(`deployed echo revision 1 `)
	expect(`cases: 1 passed, 0 failed`)
	assert.Equal(t, "v1", get())

	write(filepath.Join(src, "echo.c"), version("v2"))
	expect(`FAIL one`)
	expect(`deployed echo revision 2 `)
	expect(`cases: 0 passed, 1 failed`)
	assert.Equal(t, "v2", get())

	write(filepath.Join(src, "echo.c"), "int wf_handle(void) { return undefined_thing; }\n")
	expect(`build failed \(the deployed revision keeps serving\)`)
	expect(`undefined_thing`)
	assert.Equal(t, "v2", get(), "the old revision keeps serving")

	write(filepath.Join(src, "echo.c"), version("v1"))
	expect(`deployed echo revision 3 `)
	expect(`cases: 1 passed, 0 failed`)
	assert.Equal(t, "v1", get())
}

func TestHumanRendering(t *testing.T) {
	assert.Equal(t, "512 B", humanSize(512))
	assert.Equal(t, "18.0 KiB", humanSize(18*1024))
	assert.Equal(t, "3.1 MiB", humanSize(3250586))
	assert.Equal(t, "3m ago", humanAge(time.Now().Add(-3*time.Minute-time.Second).UTC().Format(time.RFC3339Nano)))
	assert.Equal(t, "2d ago", humanAge(time.Now().Add(-50*time.Hour).UTC().Format(time.RFC3339Nano)))
	assert.Equal(t, "garbage", humanAge("garbage"))

	var out strings.Builder
	p := &progressReader{r: strings.NewReader(strings.Repeat("x", 100)), total: 100, w: &out, label: "POST /v1/modules"}
	b := make([]byte, 10)
	for {
		if _, err := p.Read(b); err != nil {
			break
		}
	}
	assert.Contains(t, out.String(), "uploading 100 B of 100 B (100%)")
	assert.Contains(t, out.String(), "(50%)")
}
