//! badresult sets its result from a pointer outside its memory, through
//! the raw imports.

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
    let ct = "text/plain";
    let n = unsafe { raw::result_set((end + 0x100) as *const u8, 32, ct.as_ptr(), ct.len()) };
    Err(Error::msg(format!("result_set returned {} instead of trapping", n)))
}

wasmfaas::handler!(handle);
