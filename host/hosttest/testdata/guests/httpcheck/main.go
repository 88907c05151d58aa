// Command httpcheck makes the requests its event lists, in order, and
// reports each outcome (status, headers, body, or the error the host gave)
// as its JSON result. A failed request does not fail the call: it shows
// that a guest can read why a request failed and carry on.
package main

import (
	"errors"

	wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"
)

type request struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers [][2]string       `json:"headers"`
	Body    string            `json:"body"`
	Want    map[string]string `json:"-"`
}

type outcome struct {
	Status  int                 `json:"status,omitempty"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    string              `json:"body,omitempty"`
	Error   string              `json:"error,omitempty"`
	Code    string              `json:"code,omitempty"`
}

var sentinels = map[string]error{
	"DENIED": wasmfaas.ErrDenied, "TIMEOUT": wasmfaas.ErrTimeout, "TOO_LARGE": wasmfaas.ErrTooLarge,
	"LIMIT": wasmfaas.ErrLimit, "INVALID": wasmfaas.ErrInvalid, "UNAVAILABLE": wasmfaas.ErrUnavailable,
}

func init() {
	wasmfaas.HandleJSON(func(ctx *wasmfaas.Context, ev *wasmfaas.Event, reqs []request) error {
		out := make([]outcome, 0, len(reqs))
		for _, r := range reqs {
			req := wasmfaas.HTTPRequest{Method: r.Method, URL: r.URL, Body: []byte(r.Body)}
			for _, h := range r.Headers {
				req.Headers = append(req.Headers, wasmfaas.HTTPHeader{Name: h[0], Value: h[1]})
			}
			resp, err := ctx.HTTP().Do(req)
			if err != nil {
				o := outcome{Error: err.Error()}
				for name, s := range sentinels {
					if errors.Is(err, s) {
						o.Code = name
					}
				}
				out = append(out, o)
				continue
			}
			o := outcome{Status: resp.Status, Body: string(resp.Body), Headers: map[string][]string{}}
			for _, h := range resp.Headers {
				o.Headers[h.Name] = append(o.Headers[h.Name], h.Value)
			}
			out = append(out, o)
		}
		return ctx.ResultJSON(out)
	})
}

func main() {}
