package wasmfaas

import "strings"

// HTTP makes outbound HTTP requests through the host. It needs the "http"
// capability, and reaches only the hosts on the function's allow-list
// (allowed_hosts); the host checks every address, redirects included.
type HTTP struct{}

// HTTP returns the function's outbound HTTP client.
func (c *Context) HTTP() HTTP { return HTTP{} }

// HTTPHeader is one header line; a name may appear more than once.
type HTTPHeader struct {
	Name, Value string
}

// HTTPRequest is an outbound request.
type HTTPRequest struct {
	Method  string // "" means GET
	URL     string // absolute http:// or https:// URL
	Headers []HTTPHeader
	Body    []byte
}

// HTTPResponse is the whole answer to a request: the host reads the body
// (within the function's max_http_response_bytes) before returning.
type HTTPResponse struct {
	Status int
	// Headers are every header line, names in lower case, sorted.
	Headers []HTTPHeader
	Body    []byte
}

// Header returns the values of the header name (case-insensitive) joined
// with ", ", or "" when it is absent.
func (r *HTTPResponse) Header(name string) string {
	return strings.Join(r.HeaderValues(name), ", ")
}

// HeaderValues returns every value of the header name (case-insensitive).
func (r *HTTPResponse) HeaderValues(name string) []string {
	var out []string
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, name) {
			out = append(out, h.Value)
		}
	}
	return out
}

// HTTPError is a request that got no response. Message is the host's
// reason, which names the host (and port) at fault: a host not on the
// allow-list, a timeout, a refused connection. It wraps the status's
// sentinel: ErrDenied, ErrTimeout, ErrTooLarge, ErrLimit, ErrInvalid or
// ErrUnavailable.
type HTTPError struct {
	Message string
	err     error
}

func (e *HTTPError) Error() string { return "http request: " + e.Message }

// Unwrap returns the status's sentinel, for errors.Is.
func (e *HTTPError) Unwrap() error { return e.err }

// Do sends req and returns the response, whatever its status code: a 404
// or a 500 is a response, not an error. The error is an *HTTPError.
func (HTTP) Do(req HTTPRequest) (*HTTPResponse, error) {
	var hdrs []byte
	for _, h := range req.Headers {
		hdrs = appendAttr(hdrs, h.Name, h.Value)
	}
	code := httpRequest(sptr(req.Method), slen(req.Method), sptr(req.URL), slen(req.URL),
		bptr(hdrs), blen(hdrs), bptr(req.Body), blen(req.Body))
	if code < 0 {
		msg, n := fill(func(buf []byte) int64 { return int64(httpError(bptr(buf), blen(buf))) })
		text := string(msg)
		if n < 0 {
			text = statusError(int64(code)).Error()
		}
		return nil, &HTTPError{Message: text, err: statusError(int64(code))}
	}
	resp := &HTTPResponse{Status: int(code)}
	// The body gets a buffer of its own, sized by a first call that only
	// asks the length, so that a large body does not grow scratch for good.
	var body []byte
	b, n := fillInto(&body, func(buf []byte) int64 { return int64(httpResponseBody(bptr(buf), blen(buf))) })
	if n < 0 {
		return nil, &HTTPError{Message: "read response body: " + statusError(n).Error(), err: statusError(n)}
	}
	resp.Body = b
	hb, n := fill(func(buf []byte) int64 { return int64(httpResponseHeaders(bptr(buf), blen(buf))) })
	if n < 0 {
		return nil, &HTTPError{Message: "read response headers: " + statusError(n).Error(), err: statusError(n)}
	}
	list := splitList(hb)
	for i := 0; i+1 < len(list); i += 2 {
		resp.Headers = append(resp.Headers, HTTPHeader{Name: list[i], Value: list[i+1]})
	}
	return resp, nil
}

// Get is Do with method GET.
func (h HTTP) Get(url string) (*HTTPResponse, error) {
	return h.Do(HTTPRequest{Method: "GET", URL: url})
}

// Post is Do with method POST, a body and its content type.
func (h HTTP) Post(url, contentType string, body []byte) (*HTTPResponse, error) {
	return h.Do(HTTPRequest{Method: "POST", URL: url, Body: body,
		Headers: []HTTPHeader{{Name: "Content-Type", Value: contentType}}})
}
