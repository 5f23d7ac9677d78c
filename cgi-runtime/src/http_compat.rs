//! The `http` crate's request and response types, for code written against them.

use http::Version;

use crate::extract::private::ViaRequest;
use crate::extract::{FromRequest, FromRequestParts, RemoteAddr};
use crate::rejection::BodyRejection;
use crate::request::Request;
use crate::response::{Body, IntoResponse, Response};

/// The request as an [`http::Request`] with the whole body: method, URI, version (from
/// `SERVER_PROTOCOL`; `INCLUDED` counts as HTTP/1.0), headers, and the
/// [`RemoteAddr`] in its extensions when the server passed one. For handlers ported
/// from the `http` crate, or from the `cgi` crate, whose scripts take this type.
///
/// ```
/// fn port(request: cgi::http::Request<Vec<u8>>) -> cgi::http::Response<String> {
///     let text = format!("{} {} {:?} {} bytes", request.method(), request.uri(), request.version(), request.body().len());
///     cgi::http::Response::new(text)
/// }
/// let response = cgi::test::TestRequest::post("/items?id=1").body("abc").call(port);
/// assert_eq!(response.text(), "POST /items?id=1 HTTP/1.1 3 bytes");
/// ```
impl FromRequest<ViaRequest> for http::Request<Vec<u8>> {
    type Rejection = BodyRejection;

    fn from_request(mut request: Request) -> Result<Self, Self::Rejection> {
        let version = match request.server_protocol() {
            Some("HTTP/0.9") => Version::HTTP_09,
            Some("HTTP/1.0" | "INCLUDED") => Version::HTTP_10,
            Some("HTTP/2" | "HTTP/2.0") => Version::HTTP_2,
            Some("HTTP/3" | "HTTP/3.0") => Version::HTTP_3,
            _ => Version::HTTP_11,
        };
        let remote_addr = RemoteAddr::from_request_parts(&request).ok();
        let mut converted = http::Request::new(Vec::new());
        *converted.method_mut() = request.method().clone();
        *converted.uri_mut() = request.uri().clone();
        *converted.version_mut() = version;
        *converted.headers_mut() = request.headers().clone();
        if let Some(remote_addr) = remote_addr {
            converted.extensions_mut().insert(remote_addr);
        }
        *converted.body_mut() = request.body_mut().read_to_vec()?;
        Ok(converted)
    }
}

/// An [`http::Response`] whose body converts into a [`Body`]. Its headers are written as
/// they are, after the same checks as any response.
///
/// ```
/// fn made_with_http() -> cgi::http::Response<&'static str> {
///     cgi::http::Response::builder()
///         .status(201)
///         .header("content-type", "text/csv")
///         .body("a,b\n")
///         .unwrap()
/// }
/// let response = cgi::test::TestRequest::get("/").call(made_with_http);
/// assert_eq!(response.status(), cgi::StatusCode::CREATED);
/// assert_eq!(response.header("content-type"), Some("text/csv"));
/// ```
impl<B: Into<Body>> IntoResponse for http::Response<B> {
    fn into_response(self) -> Response {
        let (parts, body) = self.into_parts();
        let mut response = Response::builder().status(parts.status).body(body);
        *response.headers_mut() = parts.headers;
        response
    }
}
