// Package `cgikit`, library `cgi`: these are rustc's own errors, which no library can change.
#[cgikit::main]
fn hello() -> &'static str {
    "Hello"
}
