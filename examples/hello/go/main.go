// Command hello echoes the event's data back as the call's result, with the
// event's content type. It is the smallest useful handler: it needs no
// capability beyond the defaults. Served on an HTTP route with a {name}
// parameter (wasmfaas deploy hello hello.wasm --route 'GET /hello/{name}'),
// it greets the name instead, setting the response's status and a header.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hello.wasm .
package main

import wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"

// A reactor module's main never runs, so the handler registers in init.
func init() {
	wasmfaas.Handle(func(ctx *wasmfaas.Context, ev *wasmfaas.Event) error {
		if name, ok := ev.Extension("paramname"); ok {
			ctx.Logf(wasmfaas.LevelInfo, "greeting %s", name)
			if err := ctx.SetStatus(200); err != nil {
				return err
			}
			if err := ctx.SetHeader("X-Hello-Name", name); err != nil {
				return err
			}
			return ctx.Result("text/plain; charset=utf-8", []byte("hello, "+name+"\n"))
		}
		data := ev.Data()
		ct := ev.DataContentType()
		if ct == "" {
			ct = "application/octet-stream"
		}
		ctx.Logf(wasmfaas.LevelInfo, "echoing %d bytes of %s", len(data), ct)
		if err := ctx.Field("bytes", len(data)); err != nil {
			return err
		}
		return ctx.Result(ct, data)
	})
}

func main() {}
