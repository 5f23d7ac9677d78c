// The expansion names only `__private` items of the runtime: a `crate = "..."` path that
// offers nothing else is enough.
mod framework {
    pub use cgi::__private;
}

#[cgi::main(crate = "crate::framework", max_body = 1024)]
fn hello(method: cgi::Method, body: String) -> (cgi::StatusCode, String) {
    (cgi::StatusCode::OK, format!("{method} {body}\n"))
}
