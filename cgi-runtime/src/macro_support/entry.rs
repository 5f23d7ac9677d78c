//! One `main`: the generated one.
//!
//! The expansion defines its `main` in a module of its own and glob-imports it. A `fn main`
//! of the user's beside the attribute then shadows it without a clash (an item beats a glob
//! import), where two `fn main` would get rustc's bare "the name `main` is defined multiple
//! times". The expansion checks which `main` won with [`only_the_generated_main`], whose
//! error says what to do.

use std::process::{ExitCode, Termination};

/// What the generated `main` returns: the mark by which [`only_the_generated_main`] knows it.
#[derive(Debug)]
pub struct GeneratedMain;

impl Termination for GeneratedMain {
    fn report(self) -> ExitCode {
        ExitCode::SUCCESS
    }
}

/// Implemented only by [`GeneratedMain`].
#[diagnostic::on_unimplemented(
    message = "this program has two `main` functions: `#[cgi::main]` writes one, and there is one of yours",
    label = "`#[cgi::main]` writes `fn main` for you",
    note = "remove your own `fn main`, or call the handler from it without the attribute: `fn main() {{ cgi::run(handler) }}`"
)]
pub trait WrittenByCgiMain {}

impl WrittenByCgiMain for GeneratedMain {}

/// Compiles only if `main` is the generated one.
pub const fn only_the_generated_main<R: WrittenByCgiMain>(_main: fn() -> R) {}
