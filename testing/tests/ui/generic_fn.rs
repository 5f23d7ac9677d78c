#[cgi::main]
fn hello<T: Default>() -> &'static str {
    "Hello"
}
