// HTTP: outbound requests through the host (the "http" capability).

import { httpError, httpRequest, httpResponseBody, httpResponseHeaders } from "./imports";
import { Builder, bytesPtr, bytesToString, fill, len, ptr, scratchList, scratchString, utf8 } from "./buffer";
import { INVALID, quoted, StatusError, statusText } from "./errors";

// HTTPHeader is one header line; a name may appear more than once.
export class HTTPHeader {
  constructor(public name: string, public value: string) {}
}

// HTTPRequest is an outbound request.
export class HTTPRequest {
  // method is an HTTP method token; "" means GET.
  method: string = "";
  // url is an absolute http:// or https:// URL.
  url: string = "";
  headers: HTTPHeader[] = [];
  body: Uint8Array = new Uint8Array(0);

  // header adds a header line and returns the request, for chaining.
  header(name: string, value: string): HTTPRequest {
    this.headers.push(new HTTPHeader(name, value));
    return this;
  }
}

// HTTPError is a request that got no response. reason is the host's
// message, which names the host (and port) at fault: a host not on the
// allow-list, a timeout, a refused connection. Its status is DENIED,
// TIMEOUT, TOO_LARGE, LIMIT, INVALID or UNAVAILABLE (isStatus works on it),
// and its message is "http request: <reason>", as the Go SDK's.
export class HTTPError extends StatusError {
  constructor(public reason: string, status: i32) {
    super("http request", status);
    this.message = "http request: " + reason;
    this.name = "HTTPError";
  }
}

// HTTPResponse is what HTTP.do returns: the whole answer to a request (the
// host reads the body, within the function's max_http_response_bytes,
// before returning), or the error when there was no answer. A 404 or a 500
// is a response, not an error.
export class HTTPResponse {
  // status is the response's status code (100-599), 0 when error is set.
  status: i32 = 0;
  // headers are every header line, names in lower case, sorted.
  headers: HTTPHeader[] = [];
  body: Uint8Array = new Uint8Array(0);
  // error is why there is no response, or null.
  error: HTTPError | null = null;

  // ok reports whether a response arrived (whatever its status code).
  get ok(): bool {
    return this.error === null;
  }

  // header returns the values of the header name (case-insensitive)
  // joined with ", ", or "" when it is absent.
  header(name: string): string {
    return this.headerValues(name).join(", ");
  }

  // headerValues returns every value of the header name (case-insensitive).
  headerValues(name: string): string[] {
    const want = name.toLowerCase();
    const out = new Array<string>();
    for (let i = 0; i < this.headers.length; i++) {
      const h = this.headers[i];
      if (h.name.toLowerCase() == want) out.push(h.value);
    }
    return out;
  }

  // text returns the body decoded as UTF-8.
  text(): string {
    return bytesToString(this.body);
  }
}

// HTTP makes outbound HTTP requests through the host. It needs the "http"
// capability, and reaches only the hosts on the function's allow-list
// (allowed_hosts); the host checks every address, redirects included.
// Requests run one at a time.
export class HTTP {
  // do sends req and returns the response, whatever its status code, or
  // an HTTPResponse whose error says why there is none.
  do(req: HTTPRequest): HTTPResponse {
    const hdrs = new Builder();
    for (let i = 0; i < req.headers.length; i++) {
      const h = req.headers[i];
      // A NUL would shift every pair after it: refused here, as emit does.
      if (h.name.indexOf("\0") >= 0 || h.value.indexOf("\0") >= 0) {
        return failed(new HTTPError(statusText(INVALID) + ": header " + quoted(h.name) + " contains NUL", INVALID));
      }
      hdrs.string(h.name).byte(0).string(h.value).byte(0);
    }
    const method = utf8(req.method);
    const url = utf8(req.url);
    const code = httpRequest(ptr(method), len(method), ptr(url), len(url),
      hdrs.dataStart, <usize>hdrs.length, bytesPtr(req.body), <usize>req.body.length);
    if (code < 0) {
      const n = fill(readError);
      return failed(new HTTPError(n < 0 ? statusText(code) : scratchString(n), code));
    }
    const resp = new HTTPResponse();
    resp.status = code;
    // The body gets a buffer of its own, sized by a first call that only
    // asks the length, so that a large body does not grow scratch for good.
    let body = new Uint8Array(0);
    while (true) {
      const n = httpResponseBody(bytesPtr(body), <usize>body.length);
      if (n < 0) return failed(new HTTPError("read response body: " + statusText(n), n));
      if (n <= body.length) {
        resp.body = n == body.length ? body : body.slice(0, n);
        break;
      }
      body = new Uint8Array(n);
    }
    const n = fill(readHeaders);
    if (n < 0) return failed(new HTTPError("read response headers: " + statusText(n), n));
    const list = scratchList(n);
    for (let i = 0; i + 1 < list.length; i += 2) {
      resp.headers.push(new HTTPHeader(list[i], list[i + 1]));
    }
    return resp;
  }

  // get is do with method GET.
  get(url: string): HTTPResponse {
    const req = new HTTPRequest();
    req.method = "GET";
    req.url = url;
    return this.do(req);
  }

  // post is do with method POST, a body and its content type.
  post(url: string, contentType: string, body: Uint8Array): HTTPResponse {
    const req = new HTTPRequest();
    req.method = "POST";
    req.url = url;
    req.body = body;
    return this.do(req.header("Content-Type", contentType));
  }
}

function readError(p: usize, c: usize): i32 {
  return httpError(p, c);
}

function readHeaders(p: usize, c: usize): i32 {
  return httpResponseHeaders(p, c);
}

// failed returns an HTTPResponse for a request that got no response.
function failed(err: HTTPError): HTTPResponse {
  const r = new HTTPResponse();
  r.error = err;
  return r;
}
