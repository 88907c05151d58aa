//! badlen passes a negative length (-1, read as 0xFFFFFFFF) and, when the
//! event's subject is "huge", a huge one to host calls, through the raw
//! imports.

use wasmfaas::{raw, Context, Error, Event};

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
    let name = "type";
    let n = if ev.subject().as_deref() == Some("huge") {
        let msg = "x";
        unsafe { raw::log_write(0, msg.as_ptr(), 0x7FFF_FFF0) }
    } else {
        unsafe { raw::event_attr(name.as_ptr(), -1i32 as u32 as usize, std::ptr::null_mut(), 0) }
    };
    Err(Error::msg(format!("host call returned {} instead of trapping", n)))
}

wasmfaas::handler!(handle);
