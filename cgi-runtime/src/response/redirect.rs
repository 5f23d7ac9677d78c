//! Client redirects (RFC 3875 §6.2.4: Location, Status, and a short document).

use http::StatusCode;

use super::{IntoResponse, Response};
use crate::html::escape;

/// Sends the browser elsewhere.
///
/// Written as RFC 3875's "client redirect with document": `Status`, `Location`, and a
/// short HTML page with the link. That form works on every server measured, including
/// busybox httpd and Python's http.server, which ignore a bare `Location`.
///
/// A location with CR or LF makes the response a generic 500, never a split header.
///
/// ```
/// use cgi::{Form, Redirect};
/// #[derive(serde::Deserialize)]
/// struct Comment { text: String }
///
/// fn post(Form(comment): Form<Comment>) -> Redirect {
///     // ... save comment.text ...
///     # let _ = comment.text;
///     Redirect::to("/guestbook") // 303: the browser GETs the page (post/redirect/get)
/// }
///
/// let response = cgi::test::TestRequest::post("/").form(&[("text", "hi")]).call(post);
/// assert_eq!(response.status(), cgi::StatusCode::SEE_OTHER);
/// assert_eq!(response.header("location"), Some("/guestbook"));
/// ```
#[derive(Debug, Clone)]
#[must_use = "a redirect does nothing unless returned"]
pub struct Redirect {
    status: StatusCode,
    location: String,
}

impl Redirect {
    /// `303 See Other`: after a form POST, the browser loads `location` with GET.
    ///
    /// ```
    /// assert_eq!(cgi::Redirect::to("/done").status(), cgi::StatusCode::SEE_OTHER);
    /// ```
    pub fn to(location: &str) -> Self {
        Self::with_status(StatusCode::SEE_OTHER, location)
    }

    /// `302 Found`: the historical redirect; browsers turn a POST into a GET.
    ///
    /// ```
    /// assert_eq!(cgi::Redirect::found("/elsewhere").status().as_u16(), 302);
    /// ```
    pub fn found(location: &str) -> Self {
        Self::with_status(StatusCode::FOUND, location)
    }

    /// `307 Temporary Redirect`: the browser repeats the same method and body at `location`.
    ///
    /// ```
    /// assert_eq!(cgi::Redirect::temporary("/v2/upload").status().as_u16(), 307);
    /// ```
    pub fn temporary(location: &str) -> Self {
        Self::with_status(StatusCode::TEMPORARY_REDIRECT, location)
    }

    /// `308 Permanent Redirect`: moved for good; the method and body are kept.
    ///
    /// ```
    /// assert_eq!(cgi::Redirect::permanent("https://example.com/").status().as_u16(), 308);
    /// ```
    pub fn permanent(location: &str) -> Self {
        Self::with_status(StatusCode::PERMANENT_REDIRECT, location)
    }

    /// The status this redirect answers with.
    ///
    /// ```
    /// assert_eq!(cgi::Redirect::to("/").status(), cgi::StatusCode::SEE_OTHER);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Where it points.
    ///
    /// ```
    /// assert_eq!(cgi::Redirect::to("/next").location(), "/next");
    /// ```
    pub fn location(&self) -> &str {
        &self.location
    }

    fn with_status(status: StatusCode, location: &str) -> Self {
        Redirect {
            status,
            location: location.to_owned(),
        }
    }
}

impl IntoResponse for Redirect {
    fn into_response(self) -> Response {
        if self.location.is_empty() {
            return Response::failed("a redirect needs a location; it was empty".to_owned());
        }
        let link = escape(&self.location);
        Response::builder()
            .status(self.status)
            .header("Location", &self.location)
            .header("Content-Type", "text/html; charset=utf-8")
            .body(format!("<!DOCTYPE html>\n<title>Redirect</title>\n<p>Continue to <a href=\"{link}\">{link}</a>.</p>\n"))
    }
}
