//! The start-up floor for `bench/startup.sh`: the least a Rust CGI program can do.
//!
//! It prints the same fixed response as `examples/hello.rs` answering a GET, with one
//! write to the locked stdout and no parsing of the request at all. Built as the
//! `bench_floor` example so it shares the release profile (LTO, one codegen unit).

use std::io::Write;

/// The exact bytes `examples/hello.rs` writes for a GET.
const RESPONSE: &[u8] = b"Status: 200 OK\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 14\r\n\
\r\n\
Hello, world!\n";

fn main() {
    let mut out = std::io::stdout().lock();
    // A closed pipe or a full disk is the server's problem: ignore, never panic.
    let _ = out.write_all(RESPONSE);
    let _ = out.flush();
}
