package host

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host/egress"
)

// This file is the http capability's host functions (abi/README.md §4,
// "http"); the allow-list, the address policy and the client are
// host/egress.

// ParseAllowedHost checks one allowed_hosts entry, for a catalog that
// refuses a definition before making it live (NewFunction checks every
// entry again).
func ParseAllowedHost(entry string) error { return egress.ParseAllowedHost(entry) }

// httpState is a call's last outbound response or error: each
// http_request replaces both.
type httpState struct {
	requests int
	// overLimit is set once a request past max_http_requests is recorded:
	// a guest looping on LIMIT does not grow the ExecutionInfo.
	overLimit bool
	resp      *egress.Response
	err       string
}

// doHTTP runs one request under the function's limits.
func (c *call) doHTTP(req egress.Request) (*egress.Response, HTTPRequest, *egress.Error) {
	lim := c.fn.limits
	rec := HTTPRequest{Method: req.Method, Host: egress.Target(req.URL), RequestBytes: len(req.Headers) + len(req.Body)}
	if rec.Method == "" {
		rec.Method = "GET"
	}
	if c.httpState.requests >= lim.MaxHTTPRequests {
		return nil, rec, &egress.Error{Code: abi.Limit, Msg: fmt.Sprintf("more than %d requests in one call (the function's max_http_requests)", lim.MaxHTTPRequests)}
	}
	c.httpState.requests++
	if rec.RequestBytes > lim.MaxHTTPRequestBytes {
		return nil, rec, &egress.Error{Code: abi.TooLarge, Msg: fmt.Sprintf("request is %d bytes (headers and body); the function's max_http_request_bytes is %d", rec.RequestBytes, lim.MaxHTTPRequestBytes)}
	}
	// The request's timeout is the function's, cut short by the call's
	// deadline; the call is also the context, so a caller that gives up
	// cancels the request.
	req.Timeout, req.TimeoutWhy = lim.HTTPTimeout, fmt.Sprintf("the function's http_timeout of %s", lim.HTTPTimeout)
	if left := time.Until(c.deadline); left < req.Timeout {
		req.Timeout, req.TimeoutWhy = left, "the call's deadline"
	}
	req.MaxResponseBytes = lim.MaxHTTPResponseBytes
	resp, target, fail := c.fn.http.Do(c.storeCtx(), req)
	if target != "" {
		rec.Host = target
	}
	if resp != nil {
		rec.ResponseBytes = len(resp.Body)
	}
	return resp, rec, fail
}

func httpRequest(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	req := egress.Request{
		Method:  string(region(mod, "http_request", u32(stack[0]), u32(stack[1]))),
		URL:     string(region(mod, "http_request", u32(stack[2]), u32(stack[3]))),
		Headers: region(mod, "http_request", u32(stack[4]), u32(stack[5])),
		Body:    region(mod, "http_request", u32(stack[6]), u32(stack[7])),
	}
	c.httpState.resp, c.httpState.err = nil, ""
	if c.fn.http == nil { // CheckGrants keeps this from happening
		c.httpState.err = "capability http is not granted"
		stack[0] = status(abi.Denied)
		return
	}
	start := time.Now()
	resp, rec, fail := c.doHTTP(req)
	rec.DurationNS = int64(time.Since(start))
	if fail != nil {
		c.httpState.err = strings.ToValidUTF8(fail.Msg, "\uFFFD")
		rec.ErrorCode, rec.Error = fail.Code.String(), c.httpState.err
		stack[0] = status(fail.Code)
		if fail.Code == abi.Limit {
			if c.httpState.overLimit {
				return
			}
			c.httpState.overLimit = true
		}
	} else {
		c.httpState.resp = resp
		rec.Status = resp.Status
		stack[0] = uint64(resp.Status)
	}
	c.info.HTTPRequests = append(c.info.HTTPRequests, rec)
}

func httpResponseBody(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	region(mod, "http_response_body", u32(stack[0]), u32(stack[1]))
	if c.httpState.resp == nil {
		stack[0] = status(abi.NotFound)
		return
	}
	stack[0] = output(mod, "http_response_body", u32(stack[0]), u32(stack[1]), c.httpState.resp.Body)
}

func httpResponseHeader(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	name := string(region(mod, "http_response_header", u32(stack[0]), u32(stack[1])))
	region(mod, "http_response_header", u32(stack[2]), u32(stack[3]))
	if c.httpState.resp == nil {
		stack[0] = status(abi.NotFound)
		return
	}
	vals := c.httpState.resp.HeaderValues(name)
	if len(vals) == 0 {
		stack[0] = status(abi.NotFound)
		return
	}
	stack[0] = output(mod, "http_response_header", u32(stack[2]), u32(stack[3]), []byte(strings.Join(vals, ", ")))
}

func httpResponseHeaders(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	region(mod, "http_response_headers", u32(stack[0]), u32(stack[1]))
	if c.httpState.resp == nil {
		stack[0] = status(abi.NotFound)
		return
	}
	stack[0] = output(mod, "http_response_headers", u32(stack[0]), u32(stack[1]), abi.AppendPairs(nil, c.httpState.resp.HeaderPairs()))
}

func httpError(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	region(mod, "http_error", u32(stack[0]), u32(stack[1]))
	if c.httpState.err == "" {
		stack[0] = status(abi.NotFound)
		return
	}
	stack[0] = output(mod, "http_error", u32(stack[0]), u32(stack[1]), []byte(c.httpState.err))
}
