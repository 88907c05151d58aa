//! schedules drives the SDK's schedule and HTTP response wrappers by the
//! event's data: "plan" schedules, replaces and cancels events and shapes
//! the response; "negative" asks for a negative delay, which the SDK refuses
//! without calling the host; "badkey" and "badstatus" pass the host values
//! it refuses (sticky: the call fails whatever the handler returns).

use wasmfaas::{Context, EmitEvent, Error, Event, Status};

/// LATER is 2030-01-01T00:00:00Z in milliseconds since the Unix epoch.
const LATER: i64 = 1_893_456_000_000;

fn handle(ctx: &mut Context, ev: &Event) -> Result<(), Error> {
    let later = EmitEvent::new("com.example.later").subject("s").extension("step", "1").data(b"{\"n\":1}".to_vec());
    match &*String::from_utf8_lossy(&ev.data()) {
        "plan" => {
            let a = ctx.schedule_at("at", LATER, &later)?;
            let b = ctx.schedule_in("in", 1500, &EmitEvent::new("com.example.soon").data(b"soon".to_vec()))?;
            ctx.cancel_schedule("gone")?;
            ctx.set_status(201)?;
            ctx.set_header("X-Indexes", &format!("{} {}", a, b))?;
            ctx.result("text/plain", b"planned")
        }
        "negative" => match ctx.schedule_in("neg", -1, &later) {
            Err(e) if e.status() == Some(Status::Invalid) => ctx.result("text/plain", e.message.as_bytes()),
            r => Err(Error::msg(format!("schedule_in with a negative delay returned {:?}, not INVALID", r))),
        },
        "badkey" => match ctx.schedule_in("", 10, &later) {
            Err(e) if e.status() == Some(Status::Invalid) => ctx.result("text/plain", b"ignored"),
            r => Err(Error::msg(format!("schedule_in with an empty key returned {:?}, not INVALID", r))),
        },
        "badstatus" => match ctx.set_status(42) {
            Err(e) if e.status() == Some(Status::Invalid) => ctx.result("text/plain", e.message.as_bytes()),
            r => Err(Error::msg(format!("set_status(42) returned {:?}, not INVALID", r))),
        },
        other => Err(Error::msg(format!("unknown step {:?}", other))),
    }
}

wasmfaas::handler!(handle);
