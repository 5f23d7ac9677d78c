//! Compile-time errors of `#[cgi::main]`: each `tests/ui/*.rs` must fail with exactly the
//! `.stderr` beside it; `tests/ui/pass/*.rs` must compile and run. Here cgikit is built
//! without its `tokio` feature (`tests/ui/without_tokio/`: an `async fn` is refused with a
//! message naming it); the async cases with the feature are the `cgikit-examples-tokio`
//! package's `tests/ui.rs`.
//! Regenerate after an intended change:
//! `TRYBUILD=overwrite cargo test -p cgikit-testing --test ui`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/without_tokio/*.rs");
}
