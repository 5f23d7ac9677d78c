//! One `main`: the generated one.
//!
//! The expansion defines its `main` in a module of its own and glob-imports it. A `fn main`
//! of the user's beside the attribute then shadows it without a clash (an item beats a glob
//! import), where two `fn main` would get rustc's bare "the name `main` is defined multiple
//! times". The generated `main` returns a type of the expansion's that implements
//! [`WrittenByCgiMain`]; [`only_the_generated_main`] accepts only such a `main`, and its
//! error says what to do.

/// Implemented only by what the generated `main` returns.
#[diagnostic::on_unimplemented(
    message = "this program has two `main` functions: `#[cgi::main]` writes one, and there is one of yours",
    label = "`#[cgi::main]` writes `fn main` for you",
    note = "remove your own `fn main`, or call the handler from it without the attribute: `fn main() {{ cgi::run(handler) }}`"
)]
pub trait WrittenByCgiMain {}

/// Compiles only if `main` is the generated one.
pub const fn only_the_generated_main<R: WrittenByCgiMain>(_main: fn() -> R) {}
