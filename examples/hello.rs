//! The smallest script: answers every request with a greeting.
//!
//! Try it: `cargo run --example hello`. Deploy it: copy `target/release/examples/hello`
//! into your server's `cgi-bin/` (see the README).

#[cgi::main]
fn hello() -> &'static str {
    "Hello, world!\n"
}
