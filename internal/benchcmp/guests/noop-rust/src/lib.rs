//! noop does nothing and succeeds: the Rust twin of
//! host/hosttest/testdata/guests/noop and guests/noop-c, for
//! BenchmarkCompare's noop-rust row. Built with guest-sdks/rust.

use wasmfaas::{Context, Error, Event};

fn handle(_: &mut Context, _: &Event) -> Result<(), Error> {
    Ok(())
}

wasmfaas::handler!(handle);
