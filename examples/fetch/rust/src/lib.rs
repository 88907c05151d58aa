//! fetch fetches the URL given in the event's data ({"url": "…"}) and sets
//! the response body, with the response's content type, as the call's
//! result; the response's status and size are domain fields: the Rust twin
//! of examples/fetch/go. A request the host refuses or that gets no
//! response fails the call with kind fetch_failed and the host's reason,
//! which names the host.
//!
//! Grants: http, with the URL's host on the function's allow-list
//! (wasmfaas deploy fetch fetch.wasm --grant http --allow-host api.example.com).

use wasmfaas::json::{DecodeError, FromJson, Value};
use wasmfaas::{Context, Error, Event, Level};

struct Input {
    url: String,
}

impl FromJson for Input {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        Ok(Input { url: v.object()?.required("url")? })
    }
}

fn handle(ctx: &mut Context, ev: &Event) -> Result<(), Error> {
    let input: Input = ev.decode_json()?;
    let resp = ctx.http().get(&input.url).map_err(|e| Error::new("fetch_failed", format!("fetch: {}", e)))?;
    let ct =
        resp.header("content-type").filter(|ct| !ct.is_empty()).unwrap_or_else(|| "application/octet-stream".into());
    ctx.log(Level::Info, &format!("status {}, {} bytes of {}", resp.status, resp.body.len(), ct));
    ctx.field("status", &resp.status)?;
    ctx.field("bytes", &resp.body.len())?;
    ctx.result(&ct, &resp.body)
}

wasmfaas::handler!(handle);
