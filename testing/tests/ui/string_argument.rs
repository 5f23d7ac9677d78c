// A student's first query: `name: String` compiles (a `String` argument is the request
// body as text), so `/?name=Ada` would answer `Hello, !`. The macro warns at the argument.
// trybuild records only builds that fail, so this file turns the warning into an error; a
// student sees the same text as a warning.
#![deny(deprecated)]

#[cgi::main]
fn greet(name: String) -> String {
    format!("Hello, {name}!")
}
