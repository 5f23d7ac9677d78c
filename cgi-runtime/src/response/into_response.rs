//! The `IntoResponse` trait and its implementations for the everyday return types.

use std::borrow::Cow;
use std::convert::Infallible;

use http::StatusCode;

use super::{Body, Response};
use crate::bounds::ErrorResponse;

/// A value a handler can return: it knows how to become a [`Response`].
///
/// | return | response |
/// |---|---|
/// | `&'static str`, `String` | `200`, `text/plain; charset=utf-8` |
/// | `Vec<u8>` | `200`, `application/octet-stream` |
/// | [`Html<T>`](crate::Html) | `200`, `text/html; charset=utf-8` |
/// | [`StatusCode`] | that status, its reason phrase as text |
/// | `(StatusCode, R)` | `R` with that status |
/// | `Result<R, E>` | `R` or `E`, both `IntoResponse` |
/// | `()` | `204 No Content` |
/// | [`Redirect`](crate::Redirect), [`Response`] | as built |
///
/// ```
/// use cgi::{IntoResponse, Response, StatusCode};
///
/// struct Teapot;
///
/// impl IntoResponse for Teapot {
///     fn into_response(self) -> Response {
///         (StatusCode::IM_A_TEAPOT, "short and stout").into_response()
///     }
/// }
///
/// fn brew() -> Teapot { Teapot }
/// assert_eq!(cgi::test::TestRequest::get("/").call(brew).status().as_u16(), 418);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a CGI handler",
    label = "`{Self}` does not implement `cgi::IntoResponse`",
    note = "a handler may return `&'static str`, `String`, `Html<T>`, `StatusCode`, `Redirect`, `Response`, `(StatusCode, R)`, `Result<R, E>` or `()` (where `R` and `E` are themselves responses), or a type of yours that implements `cgi::IntoResponse`"
)]
pub trait IntoResponse {
    /// Turns `self` into a response.
    ///
    /// ```
    /// use cgi::IntoResponse;
    /// let response = (cgi::StatusCode::ACCEPTED, "queued").into_response();
    /// assert_eq!(response.status().as_u16(), 202);
    /// ```
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::builder().body(self)
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::builder().body(self)
    }
}

impl IntoResponse for Cow<'static, str> {
    fn into_response(self) -> Response {
        Response::builder().body(self)
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        Response::builder().body(self)
    }
}

impl IntoResponse for Body {
    fn into_response(self) -> Response {
        Response::builder().body(self)
    }
}

/// The status with its reason phrase as a one-line text body, so a browser shows more
/// than a blank page.
impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        let reason = self.canonical_reason().unwrap_or("");
        Response::builder()
            .status(self)
            .body(format!("{} {reason}\n", self.as_u16()))
    }
}

impl<R: IntoResponse> IntoResponse for (StatusCode, R) {
    fn into_response(self) -> Response {
        let (status, inner) = self;
        let mut response = inner.into_response();
        response.set_status(status);
        response
    }
}

/// For any `E: IntoResponse` (`ErrorResponse` is that bound, named for its compile error,
/// which suggests `cgi::Error`).
impl<R: IntoResponse, E: ErrorResponse<R>> IntoResponse for Result<R, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(value) => value.into_response(),
            Err(error) => error.into_response(),
        }
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Body::empty())
    }
}

impl IntoResponse for Infallible {
    fn into_response(self) -> Response {
        match self {}
    }
}
