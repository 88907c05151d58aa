//! counter atomically increments the property "count" of the event's
//! subject and returns the new value as {"count": n}: the Rust twin of
//! examples/counter/go, sharing its testdata. Concurrent calls about the
//! same subject never lose an increment: the update is a compare-and-set
//! loop (Subject::update).
//!
//! Grants: props.

use wasmfaas::json::{self, Value};
use wasmfaas::{Context, Error, Event};

fn handle(ctx: &mut Context, ev: &Event) -> Result<(), Error> {
    let subject = match ev.subject() {
        Some(s) if !s.is_empty() => s,
        _ => return Err(Error::reject("event has no subject: counter counts per subject")),
    };
    let mut count = 0i64;
    ctx.subject(&subject).update("count", |old| {
        // update may call this several times; only the last run's count
        // was written.
        count = match old.map(json::parse_str) {
            None | Some(Ok(Value::Null)) => 0,
            Some(Ok(v)) if v.as_i64().is_some() => v.as_i64().unwrap_or_default(),
            Some(_) => {
                return Err(Error::msg(format!(
                    "property count of {:?} is {}, not an integer",
                    subject,
                    old.unwrap_or_default()
                )))
            }
        };
        count += 1;
        Ok(count)
    })?;
    ctx.result_json(&json::object().field("count", count))
}

wasmfaas::handler!(handle);
