//! temperature is a KRules-style rule, the Rust twin of
//! examples/temperature/go (same testdata): it records a device's reading
//! as the property "tempc" of the event's subject, classifies it against the
//! subject's thresholds, and when the class changes it updates
//! "temp_status" and emits com.example.temperature.status.changed.
//!
//! The event data is {"tempc": <number>}. Thresholds are the subject's
//! properties "temp_min" and "temp_max" (defaults 20 and 30): tempc <=
//! temp_min is COLD, tempc >= temp_max is WARM, 45 and above is CRITICAL,
//! and anything between is NORMAL.
//!
//! Grants: props, emit.

use wasmfaas::json::{self, DecodeError, FromJson, Raw, Value};
use wasmfaas::{Context, Error, Event, Level, Subject, REV_ABSENT};

/// The type of the event emitted when temp_status changes.
const STATUS_CHANGED_TYPE: &str = "com.example.temperature.status.changed";

/// Default thresholds for subjects without temp_min / temp_max.
const DEFAULT_MIN: f64 = 20.0;
const DEFAULT_MAX: f64 = 30.0;
const CRITICAL: f64 = 45.0;

/// MAX_STATUS_ATTEMPTS bounds the compare-and-set loop on temp_status.
const MAX_STATUS_ATTEMPTS: usize = 100;

struct Reading {
    tempc: f64,
}

impl FromJson for Reading {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        let tempc: f64 = v.object()?.required("tempc")?;
        // Readings no thermometer can produce are rejected rather than
        // recorded, so that a unit mistake does not pass for a reading.
        if tempc < -273.15 {
            return Err(DecodeError::invalid(format!("tempc {} is below absolute zero", json::format_g(tempc))));
        }
        Ok(Reading { tempc })
    }
}

fn handle(ctx: &mut Context, ev: &Event) -> Result<(), Error> {
    let r: Reading = ev.decode_json()?;
    let subject = match ev.subject() {
        Some(s) if !s.is_empty() => s,
        _ => return Err(Error::reject("event has no subject: temperature readings are about a device")),
    };
    let s = ctx.subject(&subject);
    s.set("tempc", &r.tempc)?;
    let lo = threshold(&s, "temp_min", DEFAULT_MIN)?;
    let hi = threshold(&s, "temp_max", DEFAULT_MAX)?;
    let status = classify(r.tempc, lo, hi);
    let (old, changed) = set_status(&s, status)?;
    ctx.field("status_changed", &changed)?;
    ctx.field("temp_status", status)?;
    if changed {
        let from = old.as_deref().unwrap_or("none");
        ctx.log(
            Level::Info,
            &format!("{}: temp_status {} -> {:?} at {}°C", subject, from, status, json::format_g(r.tempc)),
        );
        let data = json::object().field("from", old.as_deref().map(Raw)).field("to", status);
        ctx.emit_json(STATUS_CHANGED_TYPE, Some(&subject), &data)?;
    }
    ctx.result_json(&json::object().field("temp_status", status).field("changed", changed))
}

/// classify maps a temperature to a status; CRITICAL wins over WARM.
fn classify(tempc: f64, lo: f64, hi: f64) -> &'static str {
    if tempc >= CRITICAL {
        "CRITICAL"
    } else if tempc >= hi {
        "WARM"
    } else if tempc <= lo {
        "COLD"
    } else {
        "NORMAL"
    }
}

/// threshold reads a numeric property, or def when the subject lacks it.
fn threshold(s: &Subject, prop: &str, def: f64) -> Result<f64, Error> {
    match s.get::<f64>(prop) {
        Ok((v, _)) => Ok(v),
        Err(e) if e.is_not_found() => Ok(def),
        Err(e) => Err(e),
    }
}

/// set_status sets temp_status to status unless it already is, and returns
/// the previous JSON value (None when absent) and whether it wrote. The
/// write is a compare-and-set against the revision read, so two concurrent
/// readings cannot both report the same transition.
fn set_status(s: &Subject, status: &str) -> Result<(Option<String>, bool), Error> {
    for _ in 0..MAX_STATUS_ATTEMPTS {
        let (old, expect) = match s.get_raw("temp_status") {
            Ok((v, rev)) => (Some(v), rev as i64),
            Err(e) if e.is_not_found() => (None, REV_ABSENT),
            Err(e) => return Err(e),
        };
        let current: Option<String> = old.as_deref().and_then(|o| json::from_str(o).ok());
        if current.as_deref() == Some(status) {
            return Ok((old, false));
        }
        match s.set_if("temp_status", status, expect) {
            Ok(_) => return Ok((old, true)),
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::msg(format!("set temp_status: gave up after {} conflicts", MAX_STATUS_ATTEMPTS)))
}

wasmfaas::handler!(handle);
