// Command fetch fetches the URL given in the event's data ({"url": "…"})
// and sets the response body, with the response's content type, as the
// call's result; the response's status and size are domain fields. A
// request the host refuses or that gets no response fails the call with
// kind fetch_failed and the host's reason, which names the host.
//
// Grants: http, with the URL's host on the function's allow-list
// (wasmfaas deploy fetch fetch.wasm --grant http --allow-host api.example.com).
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o fetch.wasm .
package main

import wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"

type input struct {
	URL string `json:"url" wasmfaas:"required"`
}

func init() {
	wasmfaas.HandleJSON(func(ctx *wasmfaas.Context, ev *wasmfaas.Event, in input) error {
		resp, err := ctx.HTTP().Get(in.URL)
		if err != nil {
			return wasmfaas.Errorf("fetch_failed", "fetch: %w", err)
		}
		ct := resp.Header("content-type")
		if ct == "" {
			ct = "application/octet-stream"
		}
		ctx.Logf(wasmfaas.LevelInfo, "status %d, %d bytes of %s", resp.Status, len(resp.Body), ct)
		if err := ctx.Field("status", resp.Status); err != nil {
			return err
		}
		if err := ctx.Field("bytes", len(resp.Body)); err != nil {
			return err
		}
		return ctx.Result(ct, resp.Body)
	})
}

func main() {}
