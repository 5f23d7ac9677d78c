//! Compile-time errors of `#[cgi::main]`: each `tests/ui/*.rs` must fail with exactly the
//! `.stderr` beside it; `tests/ui/pass/*.rs` must compile and run. The async cases depend
//! on cgikit's `tokio` feature: `tests/ui/without_tokio/` without it, `tests/ui/tokio/`
//! with it (`cargo test --test ui --features tokio`; `cargo test --workspace` has it on,
//! since the `examples-tokio` member enables it).
//! Regenerate after an intended change: `TRYBUILD=overwrite cargo test --test ui`.

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
