// `crate = "..."` for a renamed dependency: every path the expansion writes goes through it.
mod framework {
    pub use cgi::*;
}

#[cgi::main(crate = "crate::framework", max_body = 10 * 1024)]
fn hello(method: framework::Method) -> String {
    format!("{method}\n")
}
