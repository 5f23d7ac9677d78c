// The package is `cgikit`, but the library is imported as `cgi`.
#[cgikit::main]
fn hello() -> &'static str {
    "Hello"
}
