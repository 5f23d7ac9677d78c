// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]
//! Shared by the integration tests that run the built examples as real processes: building
//! the examples, running one as a CGI script ([`Script`]), parsing its output strictly
//! ([`parse_cgi`]), and bits of the HTTP clients. The property tests of the `cgikit-testing`
//! package (testing/tests/properties.rs) include it by path for the parser.

mod cgi_response;
mod http;
mod process;

// What the test files use, each file some of it (so an unused one is no warning).
#[allow(unused_imports)]
pub(crate) use self::{
    cgi_response::{
        Cgi, GENERIC_500, Rules, is_field_value_byte, is_tchar, parse_cgi, status_of_prefix,
    },
    http::{dechunk, free_port},
    process::{Outcome, Script, Stdin, TempDir, os},
};

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The built example `name`, next to the test binary (`target/<profile>/deps/<test>-*` →
/// `target/<profile>/examples/<name>`), after building `examples` once.
///
/// The examples are those of any package of the workspace: the facade's real ones
/// (`hello`, `upload`...) and the fixtures of the `cgikit-testing` package (testing/:
/// `fixture_*`). Cargo puts both in the same `target/<profile>/examples/`.
///
/// A full `cargo test --workspace` builds every example first, but `cargo test --test
/// <file>` builds only that file and would run stale binaries (or none, for a fixture of the
/// other package). So, when run by cargo, the examples are built here once (a no-op after a
/// full `cargo test --workspace`; cargo holds no lock while tests run).
pub(crate) fn example(name: &str, examples: &[&str]) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| build(profile_dir, examples));
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace --examples` (cargo test --workspace builds them first)",
        path.display()
    );
    path
}

fn build(profile_dir: &Path, examples: &[&str]) {
    let Some(cargo) = std::env::var_os("CARGO") else {
        return;
    };
    let (Some(target_dir), Some(profile)) = (
        profile_dir.parent(),
        profile_dir.file_name().and_then(OsStr::to_str),
    ) else {
        return;
    };
    let mut command = Command::new(cargo);
    // `--workspace`: each example is looked for in every package of the workspace.
    command
        .args(["build", "--quiet", "--workspace", "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    for example in examples {
        command.args(["--example", example]);
    }
    // The features this test binary was built with, for the examples that need them.
    // (Packages without the feature include this file by path too.)
    #[allow(unexpected_cfgs)]
    let sessions = cfg!(feature = "sessions");
    if sessions {
        command.args(["--features", "sessions"]);
    }
    match profile {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "building the examples failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Says that a check did not run, and why, where the person running the tests sees it:
/// straight to the process's standard error, which the test harness does not capture
/// (`eprintln!` in a passing test is swallowed, and the skip with it).
pub(crate) fn not_run(message: &str) {
    let _ = std::io::stderr().write_all(format!("\n{message}\n").as_bytes());
}
