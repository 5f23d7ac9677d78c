//! Compile-time errors of `#[cgi::main] async fn` with cgikit's `tokio` feature on: each
//! `tests/ui/tokio/*.rs` must fail with exactly the `.stderr` beside it, and
//! `tests/ui/tokio/pass/*.rs` must compile. They live in this package because trybuild
//! builds the cases against the tested package's own dependencies, and this one's cgikit has
//! the feature (the case without it is in the `cgikit-testing` package).
//! Regenerate after an intended change:
//! `TRYBUILD=overwrite cargo test -p cgikit-examples-tokio --test ui`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/tokio/*.rs");
    cases.pass("tests/ui/tokio/pass/*.rs");
}
