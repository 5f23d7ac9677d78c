//! `cgi::Error`: what a handler returns with `?`.

use std::fmt;

use http::StatusCode;

use crate::response::{IntoResponse, Response};

/// An error a handler can return, so that `?` works on anything that fails.
///
/// - Any [`std::error::Error`] (an I/O error, a parse error...) becomes a generic
///   `500 Internal Server Error`: the client learns nothing of it, the server's error log
///   gets the error and its causes.
/// - A rejection (`BodyRejection`, `QueryRejection`, ...) keeps its status and reason.
/// - [`Error::new`] answers with your status and a message the client sees.
///
/// ```
/// use cgi::{Error, Query, StatusCode};
///
/// #[derive(serde::Deserialize)]
/// struct Post { id: u32 }
///
/// fn show(Query(post): Query<Post>) -> Result<String, Error> {
///     if post.id == 0 {
///         return Err(Error::new(StatusCode::NOT_FOUND, "No such post."));
///     }
///     let text = std::fs::read_to_string(format!("/nonexistent/posts/{}.txt", post.id))?;
///     Ok(text)
/// }
///
/// let response = cgi::test::TestRequest::get("/?id=0").call(show);
/// assert_eq!(response.status(), StatusCode::NOT_FOUND);
/// assert_eq!(response.text(), "No such post.\n");
///
/// let response = cgi::test::TestRequest::get("/?id=7").call(show);
/// assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
/// assert!(!response.text().contains("nonexistent"));
/// assert!(response.log().contains("No such file or directory"));
/// ```
pub struct Error {
    status: StatusCode,
    kind: Kind,
}

enum Kind {
    /// Shown to the client.
    Public(String),
    /// Logged only.
    Internal(Box<dyn std::error::Error + Send + Sync>),
    /// The server is not set up for what the script needs (a session secret): logged only.
    #[cfg_attr(not(feature = "sessions"), allow(dead_code))]
    Setup(String),
}

impl Error {
    /// An error that answers `status` with `message` as its plain-text body (and logs it).
    ///
    /// ```
    /// let error = cgi::Error::new(cgi::StatusCode::FORBIDDEN, "Members only.");
    /// assert_eq!(error.status(), cgi::StatusCode::FORBIDDEN);
    /// ```
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Error {
            status,
            kind: Kind::Public(message.into()),
        }
    }

    /// A generic `500` whose reason, for the server's error log only, says what the
    /// server's configuration lacks.
    #[cfg_attr(not(feature = "sessions"), allow(dead_code))]
    pub(crate) fn setup(reason: String) -> Self {
        Error {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: Kind::Setup(reason),
        }
    }

    /// The status the error answers with.
    ///
    /// ```
    /// let error: cgi::Error = std::io::Error::other("disk on fire").into();
    /// assert_eq!(error.status(), cgi::StatusCode::INTERNAL_SERVER_ERROR);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Self {
        Error {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: Kind::Internal(Box::new(error)),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self.kind {
            Kind::Public(message) => Response::rejection(self.status, message),
            Kind::Internal(error) => {
                let mut response = Response::internal_error();
                response.set_diagnostic(format!("500 the handler failed: {}", chain(&*error)));
                response
            }
            Kind::Setup(reason) => {
                let mut response = Response::internal_error();
                response.set_diagnostic(format!("500 {reason}"));
                response
            }
        }
    }
}

/// `error: cause: cause's cause`, on one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Public(message) => f.write_str(message),
            Kind::Internal(error) => f.write_str(&chain(&**error)),
            Kind::Setup(reason) => f.write_str(reason),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("status", &self.status)
            .field("message", &self.to_string())
            .finish()
    }
}
