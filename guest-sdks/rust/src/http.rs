//! Outbound HTTP requests, made by the host for the guest.

use crate::buf::{fill, into_string, split_list};
use crate::error::{Error, Status};
use crate::raw;

/// Http makes outbound HTTP requests through the host. It needs the `http`
/// capability and reaches only the hosts on the function's allow-list
/// (`allowed_hosts`); the host checks every address, redirects included
/// (abi/README.md §4, "http"). Requests within a call run one at a time.
pub struct Http {
    _private: (),
}

/// The whole answer to a request: the host reads the body (within the
/// function's `max_http_response_bytes`) before returning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// The status code, 100-599.
    pub status: u16,
    /// Every header line as (name, value), names in lower case and sorted,
    /// one pair per value in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, decoded when the server compressed it.
    pub body: Vec<u8>,
}

impl Response {
    /// Returns the values of the header name (case-insensitive) joined with
    /// `", "`, or `None` when it is absent.
    pub fn header(&self, name: &str) -> Option<String> {
        let values = self.header_values(name);
        if values.is_empty() {
            None
        } else {
            Some(values.join(", "))
        }
    }

    /// Returns every value of the header name (case-insensitive), in the
    /// order received.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }
}

impl Http {
    pub(crate) fn new() -> Http {
        Http { _private: () }
    }

    /// Sends a request and returns the response, whatever its status code:
    /// a 404 or a 500 is a response, not an error. method `""` means GET;
    /// url is an absolute http or https URL; headers are (name, value)
    /// pairs, a name may repeat (the host sets `Host`, `Content-Length` and
    /// the hop-by-hop headers itself, and `User-Agent: wasmfaas` unless
    /// given); body is sent as is (none when empty).
    ///
    /// A request that gets no response is an error whose message is
    /// `http request: ` and the host's reason, which names the host (and
    /// port) at fault but never the URL's path or query
    /// (`http request: host evil.example.com (port 443) is not on the
    /// function's allow-list`), and whose status says why:
    /// [`Status::Denied`] (host or address not allowed, also after a
    /// redirect), [`Status::Timeout`], [`Status::TooLarge`] (request or
    /// response body over the function's limits), [`Status::Limit`] (past
    /// the call's max http requests), [`Status::Invalid`] (a bad method,
    /// URL or header) or [`Status::Unavailable`] (the server could not be
    /// reached). None of them fails the call by itself: the handler
    /// decides. A NUL in a header name or value would shift every pair
    /// after it, so the SDK refuses it ([`Status::Invalid`]) without asking
    /// the host.
    pub fn request(&self, method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Response, Error> {
        let block = encode_headers(headers)?;
        let code = raw::http_send(method, url, &block, body);
        if let Some(s) = Status::from_code(code as i64) {
            // http_error says why in the host's words; NOT_FOUND here would
            // mean a host that failed without a reason, so the status's own
            // text stands in.
            let why = fill(raw::http_error_into).map(into_string).unwrap_or_else(|_| s.text().to_string());
            return Err(Error::with_status(format!("http request: {}", why), s));
        }
        let body = fill(raw::http_response_body_into)
            .map_err(|s| Error::from_status("http request: read response body", s))?;
        let block = fill(raw::http_response_headers_into)
            .map_err(|s| Error::from_status("http request: read response headers", s))?;
        let list = split_list(&block);
        let headers = list.chunks_exact(2).map(|p| (p[0].clone(), p[1].clone())).collect();
        Ok(Response { status: code as u16, headers, body })
    }

    /// Is [`request`](Http::request) with method GET, no headers and no
    /// body.
    pub fn get(&self, url: &str) -> Result<Response, Error> {
        self.request("GET", url, &[], &[])
    }

    /// Is [`request`](Http::request) with method POST, a body and its
    /// content type.
    pub fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Response, Error> {
        self.request("POST", url, &[("Content-Type", content_type)], body)
    }
}

/// Builds http_request's header block: name NUL value NUL pairs, in the
/// order given.
fn encode_headers(headers: &[(&str, &str)]) -> Result<Vec<u8>, Error> {
    let mut b = Vec::new();
    for (name, value) in headers {
        if name.contains('\0') || value.contains('\0') {
            return Err(Error::with_status(format!("http request: header {:?} contains NUL", name), Status::Invalid));
        }
        b.extend_from_slice(name.as_bytes());
        b.push(0);
        b.extend_from_slice(value.as_bytes());
        b.push(0);
    }
    Ok(b)
}
