//! hello echoes the event's data back as the call's result, with the
//! event's content type: the Rust twin of examples/hello/go, sharing its
//! testdata. It needs no capability beyond the defaults.
//!
//! Build: make guests (or see guest-sdks/rust/README.md).

use wasmfaas::{Context, Error, Event, Level};

fn handle(ctx: &mut Context, ev: &Event) -> Result<(), Error> {
    let data = ev.data();
    let ct = ev.data_content_type().filter(|ct| !ct.is_empty()).unwrap_or_else(|| "application/octet-stream".into());
    ctx.log(Level::Info, &format!("echoing {} bytes of {}", data.len(), ct));
    ctx.field("bytes", &data.len())?;
    ctx.result(&ct, &data)
}

wasmfaas::handler!(handle);
