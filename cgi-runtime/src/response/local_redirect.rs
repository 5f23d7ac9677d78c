//! Local redirects (RFC 3875 §6.2.2): the server answers with another of its own URLs.

use http::HeaderValue;
use http::header::LOCATION;

use super::{IntoResponse, Response};

/// Asks the server to answer this request with another local URL, without a round trip
/// to the browser: the script writes only `Location: /path` (RFC 3875 §6.2.2).
///
/// Not every server does this, so prefer [`Redirect`](crate::Redirect) unless you know
/// yours. Measured on Debian's packages:
///
/// | server | what happens |
/// |---|---|
/// | Apache httpd (mod_cgi, mod_cgid) | internal redirect: the target runs as a GET, the body is dropped, `REDIRECT_*` variables are set |
/// | lighttpd | with `cgi.local-redir = "enable"`, the same; by default a `302` to the browser |
/// | nginx + fcgiwrap | a `302` to the browser |
/// | busybox httpd, Python's http.server | a `200` with the `Location` header: broken |
/// | under FastCGI or SCGI: nginx, lighttpd mod_fastcgi | a `302` to the browser |
/// | under FastCGI: Apache mod_proxy_fcgi | a `200` with the `Location` header: broken |
///
/// The path must start with a single `/`; anything else (a full URL, `//host`, CR/LF)
/// makes the response a generic 500.
///
/// ```
/// use cgi::LocalRedirect;
///
/// fn latest() -> LocalRedirect {
///     LocalRedirect::to("/news/2026-11.html")
/// }
///
/// let response = cgi::test::TestRequest::get("/").call(latest);
/// assert_eq!(response.raw(), b"Location: /news/2026-11.html\r\n\r\n");
/// ```
#[derive(Debug, Clone)]
#[must_use = "a redirect does nothing unless returned"]
pub struct LocalRedirect {
    path: String,
}

impl LocalRedirect {
    /// A local redirect to `path` (an absolute path on this server, with an optional query).
    ///
    /// ```
    /// assert_eq!(cgi::LocalRedirect::to("/index.html?from=cgi").path(), "/index.html?from=cgi");
    /// ```
    pub fn to(path: &str) -> Self {
        LocalRedirect {
            path: path.to_owned(),
        }
    }

    /// The path it points to.
    ///
    /// ```
    /// assert_eq!(cgi::LocalRedirect::to("/a").path(), "/a");
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl IntoResponse for LocalRedirect {
    fn into_response(self) -> Response {
        // `//host` and `/\host` are URLs to other hosts for browsers; the grammar's
        // local-Location is an abs-path, and a space or control would not survive a header.
        let is_local_path = self.path.starts_with('/')
            && !self.path.starts_with("//")
            && !self.path.starts_with("/\\")
            && !self.path.bytes().any(|byte| byte <= b' ' || byte == 0x7F);
        match HeaderValue::from_str(&self.path) {
            Ok(location) if is_local_path => {
                let mut response = Response::builder().body(super::Body::empty());
                response.headers_mut().insert(LOCATION, location);
                response.local_redirect = true;
                response
            }
            _ => Response::failed(format!(
                "a local redirect needs a path on this server such as `/page`, not {:?}",
                self.path
            )),
        }
    }
}
