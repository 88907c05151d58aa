//! reminder notices subjects that fall silent: the Rust twin of
//! examples/reminder/go, sharing its testdata. Every com.example.reading
//! marks its subject "reporting" and schedules a com.example.check for the
//! subject after check_after_ms milliseconds (config, default 10000), under
//! the subject as the key: a newer reading replaces the pending check, so a
//! check arrives only once a subject has sent nothing for that long. The
//! check marks the subject "silent".
//!
//! Grants: props, schedule, config.

use wasmfaas::json;
use wasmfaas::{Context, EmitEvent, Error, Event};

const READING_TYPE: &str = "com.example.reading";
const CHECK_TYPE: &str = "com.example.check";

/// DEFAULT_CHECK_AFTER_MS is the silence, in milliseconds, after which a
/// subject is checked when the config has no check_after_ms.
const DEFAULT_CHECK_AFTER_MS: i64 = 10000;

fn handle(ctx: &mut Context, ev: &Event) -> Result<(), Error> {
    let subject = match ev.subject() {
        Some(s) if !s.is_empty() => s,
        _ => return Err(Error::reject("event has no subject: reminder watches subjects")),
    };
    match ev.ty().as_str() {
        READING_TYPE => reading(ctx, &subject),
        CHECK_TYPE => check(ctx, &subject),
        other => Err(Error::reject(format!("reminder handles {} and {}, not {}", READING_TYPE, CHECK_TYPE, other))),
    }
}

/// reading marks subject "reporting" and (re)schedules its check.
fn reading(ctx: &Context, subject: &str) -> Result<(), Error> {
    let after = match ctx.config("check_after_ms") {
        None => DEFAULT_CHECK_AFTER_MS,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n >= 0 => n,
            _ => return Err(Error::new("config", format!("check_after_ms {:?} is not a number of milliseconds", s))),
        },
    };
    ctx.subject(subject).set("status", "reporting")?;
    let data = json::to_string(&json::object().field("after_ms", after))?;
    let check =
        EmitEvent::new(CHECK_TYPE).subject(subject).data_content_type("application/json").data(data.into_bytes());
    ctx.schedule_in(subject, after, &check)?;
    ctx.result_json(&json::object().field("check_after_ms", after).field("status", "reporting"))
}

/// check marks subject "silent": nothing arrived since its check was
/// scheduled.
fn check(ctx: &Context, subject: &str) -> Result<(), Error> {
    ctx.subject(subject).set("status", "silent")?;
    ctx.result_json(&json::object().field("status", "silent"))
}

wasmfaas::handler!(handle);
