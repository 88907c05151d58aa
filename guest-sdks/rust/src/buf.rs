//! The guest-allocates buffer protocol of abi/README.md §3.

use crate::error::Status;

/// INITIAL_CAP is the first buffer's size: large enough for attributes,
/// config values and small properties, so most reads take one host call.
const INITIAL_CAP: usize = 256;

/// MAX_ROUNDS bounds the grow-and-retry loop: each round means the data grew
/// between two host calls, which a value written concurrently can do a few
/// times but not forever.
const MAX_ROUNDS: usize = 16;

/// Runs `call` with a buffer until the data fits: `call` returns the full
/// length of the data (or a negative status), and when that is more than
/// the buffer holds the host wrote nothing, so the buffer grows to that
/// length and the call is repeated (the data can change size between two
/// calls). Returns the data, or the status.
pub(crate) fn fill(mut call: impl FnMut(&mut [u8]) -> i32) -> Result<Vec<u8>, Status> {
    let mut buf = vec![0u8; INITIAL_CAP];
    for _ in 0..MAX_ROUNDS {
        let n = call(&mut buf);
        if let Some(s) = Status::from_code(n as i64) {
            return Err(s);
        }
        let n = n as usize;
        if n <= buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        buf.resize(n, 0);
    }
    Err(Status::Internal)
}

/// Runs [`fill`] and decodes the data as UTF-8 text (attributes, config
/// values, extended properties), replacing invalid bytes with U+FFFD.
pub(crate) fn fill_string(call: impl FnMut(&mut [u8]) -> i32) -> Result<String, Status> {
    fill(call).map(into_string)
}

/// Converts bytes the host promises are UTF-8 into a String without a copy
/// when they are, and lossily when they are not.
pub(crate) fn into_string(b: Vec<u8>) -> String {
    match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Splits a run of NUL-terminated names (event_extensions, kv_keys). A last
/// name without its NUL is kept rather than lost.
pub(crate) fn split_list(b: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = b;
    while !rest.is_empty() {
        let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        out.push(String::from_utf8_lossy(&rest[..end]).into_owned());
        rest = if end < rest.len() { &rest[end + 1..] } else { &[] };
    }
    out
}
