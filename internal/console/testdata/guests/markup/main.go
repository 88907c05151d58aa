// Command markup is the console tests' guest: everything it writes
// (logs, a field, a property, its result, its error) holds HTML that would
// run script if a page inserted it as markup. It fails when the event's
// data is "fail", which makes a dead letter of a trigger without retries.
package main

import (
	"errors"

	wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"
)

const (
	script = `<script>window.__xss=1</script>`
	img    = `<img src=x onerror="window.__xss=1">`
)

func init() {
	wasmfaas.Handle(func(ctx *wasmfaas.Context, ev *wasmfaas.Event) error {
		data := string(ev.Data())
		ctx.Log(wasmfaas.LevelInfo, script)
		ctx.Log(wasmfaas.LevelWarn, img)
		if err := ctx.Field("html", img); err != nil {
			return err
		}
		if s := ev.Subject(); s != "" {
			if err := ctx.Subject(s).Set("note", img+" "+data); err != nil {
				return err
			}
		}
		if data == "fail" {
			return errors.New("asked to fail: " + script)
		}
		return ctx.Result("text/html", []byte(img+script+" echo: "+data))
	})
}

func main() {}
