#[cgi::main]
async fn hello() -> &'static str {
    "Hello"
}
