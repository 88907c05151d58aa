//! overflow hands the host a 16-byte region at the very end of its memory
//! but claims a capacity of 64, through the raw imports: a host that
//! trusted the capacity would write past the end of memory.

use std::arch::wasm32::memory_size;
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
    let end = memory_size::<0>() * 65536;
    let n = unsafe { raw::event_data((end - 16) as *mut u8, 64) };
    Err(Error::msg(format!("event_data returned {} instead of trapping", n)))
}

wasmfaas::handler!(handle);
