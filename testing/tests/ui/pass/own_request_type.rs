// A type of the user's that happens to be called `Request` is judged by its traits, not
// its name: this one reads only the head, so it may come before the last argument.
use cgi::{FromRequestParts, Method};

struct Request {
    user: String,
}

impl FromRequestParts for Request {
    type Rejection = std::convert::Infallible;

    fn from_request_parts(request: &cgi::Request) -> Result<Self, Self::Rejection> {
        let user = request.var("REMOTE_USER").unwrap_or(b"-");
        Ok(Request {
            user: String::from_utf8_lossy(user).into_owned(),
        })
    }
}

#[cgi::main]
fn whoami(request: Request, method: Method) -> String {
    format!("{method} {}\n", request.user)
}
