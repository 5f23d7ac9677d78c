#[cgi::main]
fn show(id: u64) -> String {
    id.to_string()
}
