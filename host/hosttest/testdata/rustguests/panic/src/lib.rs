//! panic panics: built with panic = "abort", std's hook prints the message
//! on stderr and the module traps, so the call ends as trap with the
//! panic's message.

use wasmfaas::{Context, Error, Event};

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
    let items: Vec<u32> = Vec::new();
    let i = ev.data().len(); // 3: not constant-folded into a compile error
    panic!("rust guest gave up: index {} of {} items", i, items.len())
}

wasmfaas::handler!(handle);
