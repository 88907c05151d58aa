//! httpcheck drives the SDK's Http by the event's data, a JSON array of
//! requests `{"call": "request" | "get" | "post", "method", "url",
//! "headers": [[name, value], …], "body", "content_type", "lookup"}`, made
//! in order. It reports each outcome as an element of its JSON result:
//! `{"status", "headers": [[name, value], …], "body", "lookup"}` (lookup is
//! `Response::header` of the request's lookup name, null when absent) for a
//! response, `{"error", "code"}` (the message and the Status's code) for a
//! request that got none. A failed request does not fail the call.

use wasmfaas::json::{self, DecodeError, FromJson, Value};
use wasmfaas::{Context, Error, Event, Response};

struct Request {
    call: String,
    method: String,
    url: String,
    headers: Vec<Vec<String>>,
    body: String,
    content_type: String,
    lookup: String,
}

impl FromJson for Request {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        let o = v.object()?;
        Ok(Request {
            call: o.optional("call")?.unwrap_or_else(|| "request".into()),
            method: o.optional("method")?.unwrap_or_default(),
            url: o.required("url")?,
            headers: o.optional("headers")?.unwrap_or_default(),
            body: o.optional("body")?.unwrap_or_default(),
            content_type: o.optional("content_type")?.unwrap_or_default(),
            lookup: o.optional("lookup")?.unwrap_or_default(),
        })
    }
}

fn send(ctx: &Context, r: &Request) -> Result<Response, Error> {
    let http = ctx.http();
    match r.call.as_str() {
        "get" => http.get(&r.url),
        "post" => http.post(&r.url, &r.content_type, r.body.as_bytes()),
        _ => {
            let headers: Vec<(&str, &str)> = r
                .headers
                .iter()
                .map(|h| (h.get(0).map_or("", |s| s.as_str()), h.get(1).map_or("", |s| s.as_str())))
                .collect();
            http.request(&r.method, &r.url, &headers, r.body.as_bytes())
        }
    }
}

fn handle(ctx: &mut Context, ev: &Event) -> Result<(), Error> {
    let reqs: Vec<Request> = ev.decode_json()?;
    let mut out = json::array();
    for r in &reqs {
        out = match send(ctx, r) {
            Ok(resp) => {
                let headers: Vec<[&str; 2]> = resp.headers.iter().map(|(n, v)| [n.as_str(), v.as_str()]).collect();
                out.item(
                    json::object()
                        .field("status", resp.status)
                        .field("headers", headers)
                        .field("body", String::from_utf8_lossy(&resp.body).as_ref())
                        .field("lookup", resp.header(&r.lookup)),
                )
            }
            Err(e) => {
                out.item(json::object().field("error", e.message.as_str()).field("code", e.status().map(|s| s.code())))
            }
        };
    }
    ctx.result_json(&out)
}

wasmfaas::handler!(handle);
