//! A subject's reactive properties and extended properties.

use crate::buf::{fill, fill_string, into_string};
use crate::error::{check, Error, Status};
use crate::json::{self, FromJson, ToJson};
use crate::raw;

/// The expected revision that makes a write unconditional.
pub const REV_ANY: i64 = -1;
/// The expected revision that makes a write succeed only if the property
/// does not exist.
pub const REV_ABSENT: i64 = 0;

/// MAX_UPDATE_ATTEMPTS bounds [`Subject::update`]'s compare-and-set loop.
/// Each conflict means another writer succeeded, so running out takes
/// extraordinary contention; the bound turns a livelock into an error
/// instead of a timeout.
pub const MAX_UPDATE_ATTEMPTS: usize = 1000;

/// Subject is a subject's reactive properties (JSON values, each with a
/// revision) and extended properties (string metadata copied as extensions
/// onto events about the subject). Every property change produces a
/// property-changed event. Needs the `props` capability.
pub struct Subject {
    name: String,
}

impl Subject {
    pub(crate) fn new(name: &str) -> Subject {
        Subject { name: name.to_string() }
    }

    /// Returns the subject's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn op(&self, verb: &str, prop: &str) -> String {
        format!("{} property {:?} of {:?}", verb, prop, self.name)
    }

    /// Returns property prop as JSON text with its revision, or an error
    /// whose status is [`Status::NotFound`] when it does not exist.
    pub fn get_raw(&self, prop: &str) -> Result<(String, u64), Error> {
        let mut rev = 0u64;
        let v = fill(|buf| raw::props_get_into(&self.name, prop, buf, &mut rev))
            .map_err(|s| Error::from_status(self.op("get", prop), s))?;
        Ok((into_string(v), rev))
    }

    /// Decodes property prop as a T and returns it with its revision, or an
    /// error whose status is [`Status::NotFound`] when it does not exist.
    pub fn get<T: FromJson>(&self, prop: &str) -> Result<(T, u64), Error> {
        let (raw, rev) = self.get_raw(prop)?;
        let v = json::from_str(&raw).map_err(|e| Error::msg(format!("{}: decode: {}", self.op("get", prop), e)))?;
        Ok((v, rev))
    }

    /// Sets property prop to v encoded as JSON, whatever its revision.
    pub fn set<T: ToJson + ?Sized>(&self, prop: &str, v: &T) -> Result<(), Error> {
        self.set_if(prop, v, REV_ANY).map(drop)
    }

    /// Sets property prop to v encoded as JSON if its revision is expect
    /// ([`REV_ABSENT`]: it must not exist; [`REV_ANY`]: unconditional) and
    /// returns the new revision, or an error whose status is
    /// [`Status::Conflict`].
    pub fn set_if<T: ToJson + ?Sized>(&self, prop: &str, v: &T, expect: i64) -> Result<u64, Error> {
        let b = json::to_string(v).map_err(|e| e.context(format!("{}: encode", self.op("set", prop))))?;
        self.set_raw(prop, &b, expect)
    }

    /// Is [`Subject::set_if`] with the value already JSON text (the host
    /// checks that it is valid JSON).
    pub fn set_raw(&self, prop: &str, json: &str, expect: i64) -> Result<u64, Error> {
        check(raw::props_put(&self.name, prop, json.as_bytes(), expect), || self.op("set", prop))
    }

    /// Deletes property prop. Deleting a missing property is not an error;
    /// use [`Subject::delete_if`] to learn that it was missing.
    pub fn delete(&self, prop: &str) -> Result<(), Error> {
        match self.delete_if(prop, REV_ANY) {
            Err(e) if e.is_not_found() => Ok(()),
            r => r,
        }
    }

    /// Deletes property prop if its revision is expect ([`REV_ANY`]:
    /// whatever it is). Fails with [`Status::NotFound`] when the property
    /// does not exist and [`Status::Conflict`] when the revision differs.
    pub fn delete_if(&self, prop: &str, expect: i64) -> Result<(), Error> {
        check(raw::props_remove(&self.name, prop, expect) as i64, || self.op("delete", prop)).map(drop)
    }

    /// Atomically replaces property prop with f's result: reads the
    /// property, calls f with its JSON text (`None` when absent), and writes
    /// the result encoded as JSON only if nobody wrote in between, calling f
    /// again with the newer value otherwise. f may therefore run several
    /// times and must not have side effects beyond its return value; an
    /// error from f ends the update with that error and nothing written.
    /// Returns the JSON text written.
    pub fn update<T, F>(&self, prop: &str, mut f: F) -> Result<String, Error>
    where
        T: ToJson,
        F: FnMut(Option<&str>) -> Result<T, Error>,
    {
        for _ in 0..MAX_UPDATE_ATTEMPTS {
            let (old, expect) = match self.get_raw(prop) {
                Ok((v, rev)) => (Some(v), rev as i64),
                Err(e) if e.is_not_found() => (None, REV_ABSENT),
                Err(e) => return Err(e.context(format!("update {:?}", prop))),
            };
            let v = f(old.as_deref())?;
            let val = json::to_string(&v).map_err(|e| e.context(format!("update {:?}: encode", prop)))?;
            match self.set_raw(prop, &val, expect) {
                Ok(_) => return Ok(val),
                Err(e) if e.is_conflict() => continue,
                Err(e) => return Err(e.context(format!("update {:?}", prop))),
            }
        }
        Err(Error::with_status(format!("update {:?}: gave up after {} conflicts", prop, MAX_UPDATE_ATTEMPTS), Status::Conflict))
    }

    /// Returns the extended property name (a string), `None` when it does
    /// not exist, or an error for anything but its absence.
    pub fn ext(&self, name: &str) -> Result<Option<String>, Error> {
        match fill_string(|buf| raw::props_ext_get_into(&self.name, name, buf)) {
            Ok(v) => Ok(Some(v)),
            Err(Status::NotFound) => Ok(None),
            Err(s) => Err(Error::from_status(self.op("get extended", name), s)),
        }
    }

    /// Sets the extended property name, 1-20 characters of `[a-z0-9]` (it
    /// becomes a CloudEvents extension on events about the subject).
    pub fn set_ext(&self, name: &str, value: &str) -> Result<(), Error> {
        check(raw::props_ext_put(&self.name, name, value) as i64, || self.op("set extended", name)).map(drop)
    }

    /// Deletes the extended property name; a missing one is not an error.
    pub fn delete_ext(&self, name: &str) -> Result<(), Error> {
        check(raw::props_ext_remove(&self.name, name) as i64, || self.op("delete extended", name)).map(drop)
    }
}
