//! Compile-time errors of `#[cgi::main]`: each `tests/ui/*.rs` must fail with exactly the
//! `.stderr` beside it; `tests/ui/pass/*.rs` must compile and run.
//! Regenerate after an intended change:
//! `TRYBUILD=overwrite cargo test -p cgikit-testing --test ui`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
