//! The function's key/value store.

use crate::buf::{fill, split_list};
use crate::error::{check, Error, Status};
use crate::raw;

/// Kv is the function's key/value store, one namespace per function. Keys
/// are 1-1024 bytes of UTF-8 without NUL; values are up to 1 MiB of any
/// bytes. Every write returns the entry's new revision. Needs the `kv`
/// capability.
pub struct Kv {
    _private: (),
}

impl Kv {
    pub(crate) fn new() -> Kv {
        Kv { _private: () }
    }

    /// Returns the value of key and its revision, or an error whose status
    /// is [`Status::NotFound`] when the key does not exist.
    pub fn get(&self, key: &str) -> Result<(Vec<u8>, u64), Error> {
        let mut rev = 0u64;
        let v = fill(|buf| raw::kv_get_into(key, buf, &mut rev)).map_err(|s| Error::from_status(format!("kv get {:?}", key), s))?;
        Ok((v, rev))
    }

    /// Stores val under key and returns its new revision.
    pub fn set(&self, key: &str, val: &[u8]) -> Result<u64, Error> {
        check(raw::kv_put(key, val), || format!("kv set {:?}", key))
    }

    /// Deletes key; deleting a missing key is not an error.
    pub fn delete(&self, key: &str) -> Result<(), Error> {
        check(raw::kv_remove(key) as i64, || format!("kv delete {:?}", key)).map(drop)
    }

    /// Returns the keys that start with prefix (`""` for all), sorted.
    pub fn keys(&self, prefix: &str) -> Result<Vec<String>, Error> {
        fill(|buf| raw::kv_keys_into(prefix, buf))
            .map(|b| split_list(&b))
            .map_err(|s: Status| Error::from_status(format!("kv keys {:?}", prefix), s))
    }
}
