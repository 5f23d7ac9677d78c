#[cgi::main(max_size = 1024)]
fn hello() -> &'static str {
    "Hello"
}
