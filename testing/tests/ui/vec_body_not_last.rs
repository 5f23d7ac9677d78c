use cgi::Method;

// `Vec<u8>` is the raw body: a body extractor, found by its trait, not by its name.
#[cgi::main]
fn upload(body: Vec<u8>, method: Method) -> String {
    format!("{method} {}", body.len())
}
