#[cgi::main(max_body = "2 MiB")]
fn hello() -> &'static str {
    "Hello"
}
