//! The handler's services for one call: result, HTTP response, logs,
//! fields, config, emitted and scheduled events, and the handles to state
//! and outbound HTTP.

use std::collections::BTreeMap;

use crate::buf::fill_string;
use crate::error::{check, Error, Status};
use crate::http::Http;
use crate::json::{self, ToJson};
use crate::kv::Kv;
use crate::raw;
use crate::subject::Subject;

/// A log level; the values are Go's log/slog's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Level {
    /// slog's DEBUG.
    Debug = -4,
    /// slog's INFO.
    Info = 0,
    /// slog's WARN.
    Warn = 4,
    /// slog's ERROR.
    Error = 8,
}

/// Context gives a handler the host's services for the current call: its
/// result and HTTP response, logs, domain fields, config, emitted and
/// scheduled events, KV store, subject properties and outbound HTTP
/// requests. It is valid only during the call it was passed to.
///
/// A module imports only the host functions its handler calls, so it must
/// be granted only the capabilities it uses.
pub struct Context {
    _private: (),
}

impl Context {
    pub(crate) fn new() -> Context {
        Context { _private: () }
    }

    /// Sets the call's result: body with its content type (`""` means
    /// application/octet-stream). A later call replaces an earlier one.
    /// Past the function's max output bytes it fails with
    /// [`Status::TooLarge`], which also fails the call.
    pub fn result(&self, content_type: &str, body: &[u8]) -> Result<(), Error> {
        check(raw::set_result(body, content_type) as i64, || "set result").map(drop)
    }

    /// Sets the call's result to v encoded as JSON (application/json).
    pub fn result_json<T: ToJson + ?Sized>(&self, v: &T) -> Result<(), Error> {
        let b = json::to_string(v).map_err(|e| e.context("encode result"))?;
        self.result("application/json", b.as_bytes())
    }

    /// Sets the HTTP status of the call's response (100-599), for a function
    /// that serves an HTTP route; the default is 200. A code outside
    /// 100-599 fails with [`Status::Invalid`], which also fails the call
    /// (kind `invalid_response`).
    pub fn set_status(&self, code: i32) -> Result<(), Error> {
        check(raw::set_status(code) as i64, || format!("set status {}", code)).map(drop)
    }

    /// Adds a header to the call's HTTP response; the same name again adds
    /// another value. A `Content-Type` header replaces the result's content
    /// type. A bad name or value fails with [`Status::Invalid`] (a value
    /// over 8 KiB with [`Status::TooLarge`]), which also fails the call
    /// (kind `invalid_response`).
    pub fn set_header(&self, name: &str, value: &str) -> Result<(), Error> {
        check(raw::add_header(name, value) as i64, || format!("set header {:?}", name)).map(drop)
    }

    /// Appends a line to the call's logs. Past the function's max log bytes
    /// the host drops the line and marks the logs truncated; that is not
    /// the handler's problem, so nothing is reported.
    pub fn log(&self, level: Level, msg: &str) {
        raw::write_log(level as i32, msg);
    }

    /// Adds the domain field key, with v encoded as JSON, to the call's
    /// ExecutionInfo; the same key again replaces it. Keys are 1-64
    /// characters of `[A-Za-z0-9_.-]`. Fails with [`Status::Limit`] past
    /// the function's max log bytes.
    pub fn field<T: ToJson + ?Sized>(&self, key: &str, v: &T) -> Result<(), Error> {
        let b = json::to_string(v).map_err(|e| e.context(format!("field {:?}: encode", key)))?;
        check(raw::set_info(key, b.as_bytes()) as i64, || format!("field {:?}", key)).map(drop)
    }

    /// Returns a fact about the call: `call_id`, `function`,
    /// `module_digest`, `attempt` (from 1) or `deadline` (RFC 3339).
    pub fn call_info(&self, name: &str) -> Option<String> {
        fill_string(|buf| raw::info_get_into(name, buf)).ok()
    }

    /// Returns the function's config entry key. Needs the `config`
    /// capability.
    pub fn config(&self, key: &str) -> Option<String> {
        fill_string(|buf| raw::config_get_into(key, buf)).ok()
    }

    /// Emits ev and returns its emit index (0, 1, …). Needs the `emit`
    /// capability. Emitted events are published only if the call ends ok;
    /// a malformed event (an empty type, a bad extension name) or one past
    /// the function's limits fails the call whatever the handler returns.
    pub fn emit(&self, ev: &EmitEvent) -> Result<u32, Error> {
        let attrs = ev.encode_attrs().map_err(|e| e.context(format!("emit {:?}", ev.ty)))?;
        check(raw::emit(&attrs, &ev.data) as i64, || format!("emit {:?}", ev.ty)).map(|i| i as u32)
    }

    /// Emits an event of type ty about subject (`None` for none) with v
    /// encoded as JSON as its data (datacontenttype application/json).
    pub fn emit_json<T: ToJson + ?Sized>(&self, ty: &str, subject: Option<&str>, v: &T) -> Result<u32, Error> {
        let data = json::to_string(v).map_err(|e| e.context(format!("emit {:?}: encode data", ty)))?;
        let mut ev = EmitEvent::new(ty).data_content_type("application/json").data(data.into_bytes());
        if let Some(s) = subject {
            ev = ev.subject(s);
        }
        self.emit(&ev)
    }

    /// Schedules ev to be delivered delay_ms milliseconds after the call
    /// ends, under key, and returns its schedule index (0, 1, …): scheduling
    /// again under the same key replaces the pending event. Needs the
    /// `schedule` capability. Like emitted events, schedules take effect
    /// only if the call ends ok; a bad key or event, or one past the
    /// function's limits, fails the call whatever the handler returns.
    pub fn schedule_in(&self, key: &str, delay_ms: i64, ev: &EmitEvent) -> Result<u32, Error> {
        if delay_ms < 0 {
            return Err(Error::with_status(
                format!("schedule {:?}: invalid argument: negative delay {}ms", key, delay_ms),
                Status::Invalid,
            ));
        }
        let attrs = ev.encode_attrs().map_err(|e| e.context(format!("schedule {:?}", key)))?;
        check(raw::schedule_in(key, &attrs, &ev.data, delay_ms) as i64, || format!("schedule {:?}", key))
            .map(|i| i as u32)
    }

    /// Schedules ev to be delivered at unix_ms (milliseconds since the Unix
    /// epoch, UTC) under key, as [`schedule_in`](Context::schedule_in); a
    /// time in the past is delivered at once.
    pub fn schedule_at(&self, key: &str, unix_ms: i64, ev: &EmitEvent) -> Result<u32, Error> {
        let attrs = ev.encode_attrs().map_err(|e| e.context(format!("schedule {:?}", key)))?;
        check(raw::schedule_at(key, &attrs, &ev.data, unix_ms) as i64, || format!("schedule {:?}", key))
            .map(|i| i as u32)
    }

    /// Cancels the pending event under key, if any (a missing key is not an
    /// error). Needs the `schedule` capability; takes effect only if the
    /// call ends ok.
    pub fn cancel_schedule(&self, key: &str) -> Result<(), Error> {
        check(raw::cancel_schedule(key) as i64, || format!("cancel schedule {:?}", key)).map(drop)
    }

    /// Returns the function's outbound HTTP client. Needs the `http`
    /// capability, and reaches only the hosts on the function's allow-list.
    pub fn http(&self) -> Http {
        Http::new()
    }

    /// Returns the function's key/value store. Needs the `kv` capability.
    pub fn kv(&self) -> Kv {
        Kv::new()
    }

    /// Returns the subject name, whose properties the handler can read and
    /// change. Needs the `props` capability.
    pub fn subject(&self, name: &str) -> Subject {
        Subject::new(name)
    }
}

/// A CloudEvent to [emit](Context::emit). The host sets id, specversion and
/// time; source defaults to `wasmfaas/functions/<function>`.
///
/// ```
/// # use wasmfaas::EmitEvent;
/// let ev = EmitEvent::new("com.example.alert").subject("device|1").extension("severity", "high").data(b"{}".to_vec());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmitEvent {
    /// The event's type; required and non-empty (the host checks).
    pub ty: String,
    /// The subject, if any.
    pub subject: Option<String>,
    /// The source; the host's default when `None`.
    pub source: Option<String>,
    /// The data's content type; without one, data that is valid JSON is
    /// application/json and anything else application/octet-stream.
    pub data_content_type: Option<String>,
    /// The data's schema, if any.
    pub data_schema: Option<String>,
    /// Extension attributes; names are 1-20 characters of `[a-z0-9]`.
    pub extensions: BTreeMap<String, String>,
    /// The data, raw bytes.
    pub data: Vec<u8>,
}

impl EmitEvent {
    /// Returns an event of type ty without data.
    pub fn new(ty: impl Into<String>) -> EmitEvent {
        EmitEvent { ty: ty.into(), ..EmitEvent::default() }
    }

    /// Sets the subject.
    pub fn subject(mut self, s: impl Into<String>) -> EmitEvent {
        self.subject = Some(s.into());
        self
    }

    /// Sets the source.
    pub fn source(mut self, s: impl Into<String>) -> EmitEvent {
        self.source = Some(s.into());
        self
    }

    /// Sets the data's content type.
    pub fn data_content_type(mut self, s: impl Into<String>) -> EmitEvent {
        self.data_content_type = Some(s.into());
        self
    }

    /// Sets the data's schema.
    pub fn data_schema(mut self, s: impl Into<String>) -> EmitEvent {
        self.data_schema = Some(s.into());
        self
    }

    /// Adds an extension attribute.
    pub fn extension(mut self, name: impl Into<String>, value: impl Into<String>) -> EmitEvent {
        self.extensions.insert(name.into(), value.into());
        self
    }

    /// Sets the data.
    pub fn data(mut self, data: Vec<u8>) -> EmitEvent {
        self.data = data;
        self
    }

    /// Builds the attrs block of emit_event and schedule_event*: name NUL value NUL pairs, type
    /// first, extensions sorted, so the same event always crosses as the
    /// same bytes. A NUL inside a name or value would shift every pair after
    /// it, so it is refused here; everything else (an empty type, a bad
    /// name) is the host's to judge, which fails the call with kind
    /// `invalid_emit`.
    pub(crate) fn encode_attrs(&self) -> Result<Vec<u8>, Error> {
        let mut b = Vec::with_capacity(64);
        let mut add = |name: &str, value: &str| -> Result<(), Error> {
            if name.contains('\0') || value.contains('\0') {
                return Err(Error::with_status(format!("attribute {:?} contains NUL", name), Status::Invalid));
            }
            b.extend_from_slice(name.as_bytes());
            b.push(0);
            b.extend_from_slice(value.as_bytes());
            b.push(0);
            Ok(())
        };
        add("type", &self.ty)?;
        for (name, value) in [
            ("subject", &self.subject),
            ("source", &self.source),
            ("datacontenttype", &self.data_content_type),
            ("dataschema", &self.data_schema),
        ] {
            // An empty optional attribute is left out, as the Go SDK does.
            if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
                add(name, v)?;
            }
        }
        for (name, value) in &self.extensions {
            add(name, value)?;
        }
        Ok(b)
    }
}
