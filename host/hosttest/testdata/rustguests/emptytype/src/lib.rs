//! emptytype emits an event whose type is empty through the safe API, then
//! claims success: the host's sticky failure (kind invalid_emit) must win
//! over the handler's Ok.

use wasmfaas::{Context, EmitEvent, Error, Event, Status};

/// bad reports whether the event asks for the misbehaviour: each guest
/// misbehaves only when the data is "bad", so the test can check that the
/// next call on the same function ("calm") is ok.
fn bad(ev: &Event) -> bool {
    &*ev.data() == b"bad"
}

/// calm is the well-behaved answer.
fn calm(ctx: &Context) -> Result<(), Error> {
    ctx.result("text/plain", b"calm")
}

fn handle(ctx: &mut Context, ev: &Event) -> Result<(), Error> {
    if !bad(ev) {
        return calm(ctx);
    }
    match ctx.emit(&EmitEvent::new("").subject("s").data(b"{}".to_vec())) {
        Err(e) if e.status() == Some(Status::Invalid) => calm(ctx),
        r => Err(Error::msg(format!("emit of an empty type returned {:?}, not INVALID", r))),
    }
}

wasmfaas::handler!(handle);
