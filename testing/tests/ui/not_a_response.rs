#[cgi::main]
fn count() -> usize {
    42
}
