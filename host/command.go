package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmfaas/wasmfaas/abi"
)

// runCommand runs a WASI command module for one call (abi/README.md §7):
// the event as structured JSON on stdin, stdout as the result, stderr lines
// as logs, the exit code as the outcome. cctx carries the call's deadline;
// parent is the caller's context.
func (h *Host) runCommand(cctx, parent context.Context, c *call) {
	fn, info := c.fn, c.info
	if err := fn.pool.take(cctx, c.deadline); err != nil {
		c.finishAcquireError(parent, err)
		return
	}
	defer fn.pool.give()

	stdin, err := json.Marshal(c.ev)
	if err != nil {
		info.Status = StatusRejected
		info.Error = &ErrorInfo{Kind: abi.KindInvalidInput, Message: "encode event: " + err.Error()}
		return
	}
	stdout := &limitedBuffer{max: fn.limits.MaxOutputBytes}
	errw := &guestWriter{c: c, level: "info", stderr: true}
	c.stderr = errw
	mc := fn.moduleConfig(nil, errw).
		WithStdin(bytes.NewReader(stdin)).
		WithStdout(stdout).
		WithStartFunctions()
	fn.pool.live.Add(1)
	fn.pool.created.Add(1)
	defer fn.pool.live.Add(-1)
	var mem *budgetMemory
	mod, err := fn.env.rt.InstantiateModule(experimental.WithMemoryAllocator(cctx, fn.host.budget.allocator(&mem)), fn.cm, mc)
	if err != nil {
		errw.flush()
		if mem != nil && mem.refused.Load() {
			c.finishAcquireError(parent, &budgetError{limit: fn.host.budget.limit})
			return
		}
		c.finishError(parent, err)
		info.Error.Message = "instantiate: " + info.Error.Message
		return
	}
	if mem != nil && mem.refused.Load() {
		_ = mod.Close(context.WithoutCancel(cctx))
		c.finishAcquireError(parent, &budgetError{limit: fn.host.budget.limit})
		return
	}
	defer c.checkBudget(mem)
	inst, err := newWatched(mod, nil, errw)
	if err != nil {
		_ = mod.Close(context.WithoutCancel(cctx))
		info.Status = StatusError
		info.Error = &ErrorInfo{Kind: abi.KindInternal, Message: err.Error()}
		return
	}
	defer inst.close(context.WithoutCancel(cctx))
	inst.arm(parent, c.deadline)
	_, runErr := mod.ExportedFunction(abi.StartExport).Call(context.WithValue(cctx, instKey{}, inst))
	if code := inst.disarm(); code != 0 {
		runErr = sys.NewExitError(code)
	}
	errw.flush()
	if mem := mod.Memory(); mem != nil {
		info.MemoryBytes = uint64(mem.Size())
	}
	if stdout.Len() > 0 || stdout.over {
		body := stdout.Bytes()
		info.Result = &Result{ContentType: sniffContentType(body), Body: append([]byte(nil), body...)}
	}
	var exit *sys.ExitError
	switch {
	case runErr == nil || errors.As(runErr, &exit) && exit.ExitCode() == 0:
		if stdout.over {
			info.Status = StatusError
			info.Error = &ErrorInfo{Kind: abi.KindLimit, Message: fmt.Sprintf("stdout exceeded the function's max output of %d bytes", fn.limits.MaxOutputBytes)}
			return
		}
		info.Status = StatusOK
	case errors.As(runErr, &exit) && exit.ExitCode() != sys.ExitCodeDeadlineExceeded && exit.ExitCode() != sys.ExitCodeContextCanceled:
		info.Status = StatusError
		msg := fmt.Sprintf("exit code %d", exit.ExitCode())
		if t := errw.lastLine(); t != "" {
			msg += ": " + t
		}
		info.Error = &ErrorInfo{Kind: abi.KindExit, Message: msg}
	default:
		c.finishError(parent, runErr)
	}
}

// limitedBuffer keeps the first max bytes and remembers that more came.
type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.over = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

func sniffContentType(b []byte) string {
	switch {
	case json.Valid(b):
		return "application/json"
	case utf8.Valid(b):
		return "text/plain; charset=utf-8"
	default:
		return "application/octet-stream"
	}
}

func (w *guestWriter) lastLine() string {
	for i := len(w.tail) - 1; i >= 0; i-- {
		if s := w.tail[i]; s != "" {
			return s
		}
	}
	return ""
}
