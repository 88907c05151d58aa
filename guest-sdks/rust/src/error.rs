//! Errors: the ABI's status codes (abi/README.md §3) and the handler's
//! failure, an error kind with a message.

use std::fmt;

/// A status code of abi/README.md §3: what a host function returns instead
/// of a result. Non-negative return values are results, not statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Status {
    /// The attribute, key, property or config entry does not exist.
    NotFound = -1,
    /// A compare-and-set saw another revision.
    Conflict = -2,
    /// The host did not accept an argument (empty key, bad name, bad JSON).
    Invalid = -3,
    /// A key, value, result or event exceeds its size limit.
    TooLarge = -4,
    /// A per-call quota (emitted events, log bytes) is used up.
    Limit = -5,
    /// The state store cannot be reached; the call may succeed later.
    Unavailable = -6,
    /// The host failed; not the handler's fault.
    Internal = -7,
    /// The function may not do this: an outbound request to a host or
    /// address its allow-list does not allow.
    Denied = -8,
    /// An outbound request did not complete within its timeout.
    Timeout = -9,
}

impl Status {
    /// Returns the status for a host function's return value: `None` for a
    /// result (zero or more), and `Internal` for a negative code this SDK
    /// does not know, as abi/README.md §3 asks.
    pub fn from_code(code: i64) -> Option<Status> {
        Some(match code {
            c if c >= 0 => return None,
            -1 => Status::NotFound,
            -2 => Status::Conflict,
            -3 => Status::Invalid,
            -4 => Status::TooLarge,
            -5 => Status::Limit,
            -6 => Status::Unavailable,
            -8 => Status::Denied,
            -9 => Status::Timeout,
            _ => Status::Internal,
        })
    }

    /// Returns the ABI's code, e.g. -1 for `NotFound`.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// Names the status in the words the other SDKs use ("not found").
    pub fn text(self) -> &'static str {
        match self {
            Status::NotFound => "not found",
            Status::Conflict => "conflict",
            Status::Invalid => "invalid argument",
            Status::TooLarge => "too large",
            Status::Limit => "limit reached",
            Status::Unavailable => "unavailable",
            Status::Internal => "host internal error",
            Status::Denied => "denied",
            Status::Timeout => "timed out",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// The kind of any failure that does not choose one.
pub const KIND_ERROR: &str = "error";
/// The kind that marks the event itself as wrong: the call ends `rejected`
/// and is not retried.
pub const KIND_INVALID_INPUT: &str = "invalid_input";

/// A failure: an error kind, which becomes `error.kind` in the call's
/// ExecutionInfo, and a message. Errors from host functions also carry the
/// [`Status`] they came from.
///
/// Kinds are 1-64 characters of `[a-z0-9_]`; `invalid_input` (see
/// [`Error::reject`]) makes the call `rejected`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The error kind, e.g. `error` or `invalid_input`.
    pub kind: String,
    /// What went wrong, for a person.
    pub message: String,
    status: Option<Status>,
}

impl Error {
    /// Returns an error of the given kind.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Error {
        Error { kind: kind.into(), message: message.into(), status: None }
    }

    /// Returns an error of kind `error`.
    pub fn msg(message: impl Into<String>) -> Error {
        Error::new(KIND_ERROR, message)
    }

    /// Returns an error of kind `invalid_input`: the event is wrong, the
    /// call ends `rejected` and is not retried.
    pub fn reject(message: impl Into<String>) -> Error {
        Error::new(KIND_INVALID_INPUT, message)
    }

    /// Returns the error for a host function's status while doing `op`:
    /// kind `error`, message `"<op>: <status text>"` (`kv get "a": not found`).
    pub fn from_status(op: impl fmt::Display, status: Status) -> Error {
        Error { kind: KIND_ERROR.into(), message: format!("{}: {}", op, status), status: Some(status) }
    }

    /// Returns an error of kind `error` with status s and a message that
    /// says it in its own words.
    pub(crate) fn with_status(message: impl Into<String>, s: Status) -> Error {
        Error { kind: KIND_ERROR.into(), message: message.into(), status: Some(s) }
    }

    /// Returns the status of the host function this error came from, if any.
    pub fn status(&self) -> Option<Status> {
        self.status
    }

    /// Reports whether the error is a host function's `NOT_FOUND`.
    pub fn is_not_found(&self) -> bool {
        self.status == Some(Status::NotFound)
    }

    /// Reports whether the error is a host function's `CONFLICT`.
    pub fn is_conflict(&self) -> bool {
        self.status == Some(Status::Conflict)
    }

    /// Prefixes the message with what was being done (`"update \"count\": …"`),
    /// keeping the kind and status.
    pub fn context(mut self, op: impl fmt::Display) -> Error {
        self.message = format!("{}: {}", op, self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(&self.kind)
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for Error {}

/// Turns a host function's return value into a result: `Ok` with the value
/// when it is zero or more, else the status as an error about `op`, which is
/// only formatted on failure.
pub(crate) fn check<D: fmt::Display>(code: i64, op: impl FnOnce() -> D) -> Result<u64, Error> {
    match Status::from_code(code) {
        None => Ok(code as u64),
        Some(s) => Err(Error::from_status(op(), s)),
    }
}
