//! The event that triggered the call.

use std::cell::{Ref, RefCell};

use crate::buf::{fill, fill_string, split_list};
use crate::error::Error;
use crate::json::{self, FromJson};
use crate::raw;

/// Event is the CloudEvent that triggered the call. Attributes and data are
/// read from the host on first use and kept for the rest of the call; an
/// Event is valid only during the call it was passed to.
#[derive(Default)]
pub struct Event {
    attrs: RefCell<Vec<(String, Option<String>)>>,
    data: RefCell<Option<Vec<u8>>>,
}

impl Event {
    pub(crate) fn new() -> Event {
        Event::default()
    }

    /// Returns the attribute name (a context attribute such as `id` or
    /// `source`, or an extension) in its canonical CloudEvents string form,
    /// or `None` when the event does not have it.
    pub fn attr(&self, name: &str) -> Option<String> {
        if let Some((_, v)) = self.attrs.borrow().iter().find(|(n, _)| n == name) {
            return v.clone();
        }
        let v = fill_string(|buf| raw::event_attr_into(name, buf)).ok();
        self.attrs.borrow_mut().push((name.to_string(), v.clone()));
        v
    }

    fn attr_or_empty(&self, name: &str) -> String {
        self.attr(name).unwrap_or_default()
    }

    /// Returns the event's id.
    pub fn id(&self) -> String {
        self.attr_or_empty("id")
    }

    /// Returns the event's source.
    pub fn source(&self) -> String {
        self.attr_or_empty("source")
    }

    /// Returns the event's type (`type` is a Rust keyword).
    pub fn ty(&self) -> String {
        self.attr_or_empty("type")
    }

    /// Returns the CloudEvents spec version, normally `1.0`.
    pub fn spec_version(&self) -> String {
        self.attr_or_empty("specversion")
    }

    /// Returns the event's subject, or `None` when it has none.
    pub fn subject(&self) -> Option<String> {
        self.attr("subject")
    }

    /// Returns the content type of the data, or `None` when unset.
    pub fn data_content_type(&self) -> Option<String> {
        self.attr("datacontenttype")
    }

    /// Returns the event's dataschema, or `None` when unset.
    pub fn data_schema(&self) -> Option<String> {
        self.attr("dataschema")
    }

    /// Returns the event's time as the host sends it (RFC 3339, UTC), or
    /// `None` when it has none.
    pub fn time(&self) -> Option<String> {
        self.attr("time")
    }

    /// Returns the extension attribute name, in CloudEvents canonical string
    /// form (integers in decimal, booleans true/false, binary in base64).
    pub fn extension(&self, name: &str) -> Option<String> {
        self.attr(name)
    }

    /// Returns the names of the event's extension attributes, sorted.
    pub fn extensions(&self) -> Vec<String> {
        fill(raw::event_extensions_into).map(|b| split_list(&b)).unwrap_or_default()
    }

    /// Returns the event's data exactly as received (empty for none). The
    /// bytes are read once per call and shared by every `data` call.
    pub fn data(&self) -> Ref<'_, [u8]> {
        if self.data.borrow().is_none() {
            // event_data has no failure of its own; a status (a host bug)
            // reads as no data.
            let d = fill(raw::event_data_into).unwrap_or_default();
            *self.data.borrow_mut() = Some(d);
        }
        Ref::map(self.data.borrow(), |d| d.as_deref().unwrap_or_default())
    }

    /// Decodes the data as JSON into a T. A failure is an error of kind
    /// `invalid_input`, which the handler can return as is to reject the
    /// event, with the Go SDK's messages: `data: invalid JSON: no data`,
    /// `data: field "tempc" is required`, `data: field "tempc" must be a
    /// number, got string`, `data: must be an object, got array`.
    pub fn decode_json<T: FromJson>(&self) -> Result<T, Error> {
        let data = self.data();
        if data.iter().all(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n')) {
            return Err(Error::reject("data: invalid JSON: no data"));
        }
        json::from_slice(&data).map_err(|e| Error::reject(e.describe("data")))
    }
}
