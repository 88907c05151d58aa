//! wasmfaas is the Rust guest SDK for wasmfaas: it turns a Rust function
//! into a WebAssembly handler that speaks wasmfaas ABI v1 (abi/README.md).
//!
//! A handler is a `cdylib` crate that registers its function with
//! [`handler!`]:
//!
//! ```ignore
//! use wasmfaas::{Context, Error, Event, Level};
//!
//! fn handle(ctx: &mut Context, ev: &Event) -> Result<(), Error> {
//!     let subject = ev.subject().ok_or_else(|| Error::reject("event has no subject"))?;
//!     let data = ev.data();
//!     ctx.log(Level::Info, &format!("{} bytes about {}", data.len(), subject));
//!     ctx.field("bytes", &data.len())?;
//!     ctx.result("application/json", &data)
//! }
//!
//! wasmfaas::handler!(handle);
//! ```
//!
//! Build it for `wasm32-wasi` with `panic = "abort"` (see the README).
//! Returning an error fails the call with the error's kind;
//! [`Error::reject`] marks the event itself as wrong (status `rejected`),
//! and a panic ends the call as a trap whose message is the panic's.
//!
//! The module imports only the host functions the handler calls, so it must
//! be granted only the capabilities it uses. Every value the SDK hands out
//! ([`Event`], [`Context`], [`Subject`]) is valid only during its call.
//!
//! All `unsafe` code is in [`raw`], the host functions as the ABI declares
//! them; the rest of the crate is safe Rust over slices.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod buf;
mod context;
mod error;
mod event;
mod http;
pub mod json;
mod kv;
pub mod raw;
mod subject;

pub use context::{Context, EmitEvent, Level};
pub use error::{Error, Status, KIND_ERROR, KIND_INVALID_INPUT};
pub use event::Event;
pub use http::{Http, Response};
pub use kv::Kv;
pub use subject::{Subject, MAX_UPDATE_ATTEMPTS, REV_ABSENT, REV_ANY};

/// Registers a function `fn(&mut Context, &Event) -> Result<(), Error>` as
/// the module's handler. It expands, in the handler's crate, to the exports
/// of an ABI v1 reactor (abi/README.md §2): `wasmfaas_abi_v1`,
/// `wasmfaas_handle`, and `_initialize`, which runs the module's static
/// constructors once per instance. Use it exactly once, at the crate's top
/// level.
///
/// `Ok(())` ends the call `ok`; `Err(e)` reports `e.kind` and `e.message`
/// through `error_set` and fails the call (`rejected` for kind
/// `invalid_input`).
#[macro_export]
macro_rules! handler {
    ($handle:path) => {
        /// The ABI v1 version marker; the host never calls it.
        #[no_mangle]
        pub extern "C" fn wasmfaas_abi_v1() {}

        /// Handles one event; 0 is success.
        #[no_mangle]
        pub extern "C" fn wasmfaas_handle() -> i32 {
            $crate::__private::run($handle)
        }

        /// Runs the module's static constructors, once per instance.
        #[no_mangle]
        pub extern "C" fn _initialize() {
            $crate::__private::initialize()
        }
    };
}

/// Used by [`handler!`]'s expansion; not part of the API.
#[doc(hidden)]
pub mod __private {
    use crate::{Context, Error, Event};

    /// Runs once per instance, from `_initialize`.
    pub fn initialize() {
        crate::raw::initialize()
    }

    /// Handles one event and returns wasmfaas_handle's result code.
    pub fn run<F>(handle: F) -> i32
    where
        F: FnOnce(&mut Context, &Event) -> Result<(), Error>,
    {
        let mut ctx = Context::new();
        let ev = Event::new();
        match handle(&mut ctx, &ev) {
            Ok(()) => 0,
            Err(e) => {
                // error_set's status is ignored: a bad kind still fails the
                // call, with kind "error" (abi/README.md §4).
                crate::raw::set_error(&e.kind, &e.message);
                1
            }
        }
    }
}
