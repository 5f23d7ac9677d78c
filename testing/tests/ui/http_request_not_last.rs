use cgi::Method;

// An `http::Request` carries the body, so it can only be the last argument.
#[cgi::main]
fn echo(request: cgi::http::Request<Vec<u8>>, method: Method) -> String {
    format!("{method} {}", request.body().len())
}
