//! hello echoes the event's data back as the call's result, with the
//! event's content type: the Rust twin of examples/hello/go, sharing its
//! testdata. It needs no capability beyond the defaults. Served on an HTTP
//! route with a {name} parameter (wasmfaas deploy hello hello.wasm --route
//! 'GET /hello/{name}'), it greets the name instead, setting the response's
//! status and a header.
//!
//! Build: make guests (or see guest-sdks/rust/README.md).

use wasmfaas::{Context, Error, Event, Level};

fn handle(ctx: &mut Context, ev: &Event) -> Result<(), Error> {
    if let Some(name) = ev.extension("paramname") {
        ctx.log(Level::Info, &format!("greeting {}", name));
        ctx.set_status(200)?;
        ctx.set_header("X-Hello-Name", &name)?;
        return ctx.result("text/plain; charset=utf-8", format!("hello, {}\n", name).as_bytes());
    }
    let data = ev.data();
    let ct = ev.data_content_type().filter(|ct| !ct.is_empty()).unwrap_or_else(|| "application/octet-stream".into());
    ctx.log(Level::Info, &format!("echoing {} bytes of {}", data.len(), ct));
    ctx.field("bytes", &data.len())?;
    ctx.result(&ct, &data)
}

wasmfaas::handler!(handle);
