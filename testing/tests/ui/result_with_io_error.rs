#[cgi::main]
fn show() -> Result<String, std::io::Error> {
    let text = std::fs::read_to_string("/etc/motd")?;
    Ok(text)
}
