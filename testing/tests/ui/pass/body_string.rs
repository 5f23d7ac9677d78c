// A `String` argument named `body` or `text` (or `..._body`, `..._text`) is the body on
// purpose: no warning.
#![deny(warnings)]

#[cgi::main]
fn echo(method: cgi::Method, _raw_body: Option<String>) -> String {
    format!("{method}\n")
}
