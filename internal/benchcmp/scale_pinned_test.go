package benchcmp

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/natstest"
	"github.com/wasmfaas/wasmfaas/router"
)

// TestScalePinned is the scaling benchmark's pinned variant: 1, 2 and 3
// hosts as `wasmfaas serve` processes, host i pinned with taskset to core
// i modulo the machine's cores, all pointed (--nats-url, --nats-replicas 3)
// at one three-node JetStream cluster run by this test process (not
// pinned). The no-op guest, router defaults: CPU-bound. It runs only when
// asked for by name (`make bench` does):
//
//	go test -run '^TestScalePinned$' -count=1 -v .
//
// On a machine with fewer cores than hosts, hosts share cores: the table
// says how many cores there were.
func TestScalePinned(t *testing.T) {
	if f := flag.Lookup("test.run"); f == nil || !strings.Contains(f.Value.String(), "ScalePinned") {
		t.Skip("run with -run ScalePinned")
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		t.Fatalf("taskset (util-linux) is needed: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "wasmfaas")
	build := exec.Command("go", "build", "-o", bin, "./cmd/wasmfaas")
	build.Dir = "../.." // the host's own module: this one's go.sum does not cover the CLI
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build wasmfaas: %v\n%s", err, out)
	}
	noop, err := readGo(hostGuests + "noop")
	if err != nil {
		t.Fatal(err)
	}
	var rates [3]float64
	for k := 1; k <= 3; k++ {
		t.Run(fmt.Sprintf("hosts%d", k), func(t *testing.T) {
			rates[k-1] = measurePinned(t, bin, taskset, noop, k, *scaleEvents)
			t.Logf("%d pinned hosts: %.0f events/s", k, rates[k-1])
		})
	}
	fmt.Printf("\nscaling, pinned processes: hosts as serve processes, host i on core i mod %d, a 3-node cluster in the test process\n", runtime.NumCPU())
	fmt.Println("| hosts | events/s | × 1 host |")
	fmt.Println("|---:|---:|---:|")
	for k, r := range rates {
		fmt.Printf("| %d | %.0f | %.2fx |\n", k+1, r, r/rates[0])
	}
}

// measurePinned runs one measurement with k pinned serve processes.
func measurePinned(t *testing.T, bin, taskset string, wasm []byte, k, n int) float64 {
	t.Helper()
	ctx := context.Background()
	nodes := natstest.Cluster(t, 3)
	urls := []string{nodes.URL(0), nodes.URL(1), nodes.URL(2)}
	addrs := make([]string, k)
	for i := range k {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
		// Host i connects to node i first.
		order := append(append([]string(nil), urls[i%3:]...), urls[:i%3]...)
		cmd := exec.Command(taskset, "-c", fmt.Sprint(i%runtime.NumCPU()), bin, "serve",
			"--nats-url", strings.Join(order, ","), "--nats-replicas", "3",
			"--http-addr", addrs[i], "--data-dir", t.TempDir(), "--log-level", "warn")
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
			}
			if t.Failed() {
				t.Logf("host %d:\n%s", i, logs.String())
			}
		})
	}
	get := func(addr, path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, a := range addrs {
		pollUntil(t, fmt.Sprintf("host %d ready", i), func() bool { return get(a, "/readyz") == http.StatusOK })
	}
	post := func(method, path, ctype string, body []byte) []byte {
		req, _ := http.NewRequest(method, "http://"+addrs[0]+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b.String())
		}
		return b.Bytes()
	}
	var mf struct{ Digest string }
	if err := json.Unmarshal(post("POST", "/v1/modules", "application/wasm", wasm), &mf); err != nil {
		t.Fatal(err)
	}
	digest := mf.Digest
	post("PUT", "/v1/functions/noop", "application/json", []byte(`{"module": "`+digest+`"}`))
	post("PUT", "/v1/triggers/"+routeConsumer, "application/json", []byte(`{"function": "noop", "filters": [{"exact": {"type": "`+routeType+`"}}]}`))
	for i, a := range addrs {
		pollUntil(t, fmt.Sprintf("host %d runs the function", i), func() bool { return get(a, "/v1/functions/noop") == http.StatusOK })
	}
	js := nodes.JetStream(0, jetstream.WithPublishAsyncMaxPending(4096))
	var cons jetstream.Consumer
	pollUntil(t, "the trigger's consumer", func() bool {
		var err error
		cons, err = js.Consumer(ctx, layout.EventsStream, router.DurableName(routeConsumer))
		return err == nil
	})
	// Every host pulls: each keeps a pull request waiting while idle.
	pollUntil(t, fmt.Sprintf("%d hosts pulling", k), func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumWaiting >= k
	})
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		ev := benchEvent()
		ev.SetID(fmt.Sprintf("pinned-%07d", i))
		m, err := router.EncodeMsg("events.bench", ev)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = m
	}
	return publishAndWait(t, js, cons, msgs)
}
