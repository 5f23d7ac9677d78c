//! Compile-time errors of `#[cgi::main]`: each `tests/ui/*.rs` must fail with exactly the
//! `.stderr` beside it; `tests/ui/pass/*.rs` must compile and run. The async cases depend
//! on cgikit's `tokio` feature, which this package's own `tokio` feature turns on:
//! `tests/ui/without_tokio/` without it (`cargo test --workspace`), `tests/ui/tokio/` with
//! it (`cargo test -p cgikit-testing --test ui --features tokio`; `.ci/run` runs both).
//! Regenerate after an intended change:
//! `TRYBUILD=overwrite cargo test -p cgikit-testing --test ui [--features tokio]`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
    if cfg!(feature = "tokio") {
        cases.compile_fail("tests/ui/tokio/*.rs");
        cases.pass("tests/ui/tokio/pass/*.rs");
    } else {
        cases.compile_fail("tests/ui/without_tokio/*.rs");
    }
}
