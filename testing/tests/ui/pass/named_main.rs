// A handler may itself be called `main`; it still works and stays callable.
#[cgi::main]
fn main() -> &'static str {
    "Hello\n"
}
