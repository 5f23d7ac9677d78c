//! HTML responses.

use super::{Body, IntoResponse, Response};

/// An HTML page: sent as `text/html; charset=utf-8`.
///
/// Escape anything that came from the request with [`cgi::html::escape`](crate::html::escape).
///
/// ```
/// use cgi::Html;
///
/// fn page() -> Html<&'static str> {
///     Html("<h1>Hello</h1>")
/// }
///
/// let response = cgi::test::TestRequest::get("/").call(page);
/// assert_eq!(response.header("content-type"), Some("text/html; charset=utf-8"));
/// assert_eq!(response.text(), "<h1>Hello</h1>");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Html<T>(pub T);

impl<T: Into<Body>> IntoResponse for Html<T> {
    fn into_response(self) -> Response {
        Response::with_content_type("text/html; charset=utf-8", self.0.into())
    }
}
