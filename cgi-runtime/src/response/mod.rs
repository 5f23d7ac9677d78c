//! What a handler answers, and how it becomes CGI output.

mod attachment;
mod html_response;
mod into_response;
mod local_redirect;
mod redirect;
mod response_body;
mod set_cookie;
pub(crate) mod write;

use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderMap, StatusCode};

pub use html_response::Html;
pub use into_response::IntoResponse;
pub use local_redirect::LocalRedirect;
pub use redirect::Redirect;
pub use response_body::Body;
pub(crate) use set_cookie::is_token_byte;
pub use set_cookie::{SameSite, SetCookie};

/// A complete response: status, headers and body.
///
/// Build one with [`Response::builder`]. Any [`IntoResponse`] value can be turned into one.
///
/// ```
/// use cgi::{Response, SetCookie, StatusCode};
///
/// fn create() -> Response {
///     Response::builder()
///         .status(StatusCode::CREATED)
///         .header("Cache-Control", "no-store")
///         .cookie(SetCookie::new("visited", "yes").path("/"))
///         .body("created\n")
/// }
///
/// let response = cgi::test::TestRequest::post("/").call(create);
/// assert_eq!(response.status(), StatusCode::CREATED);
/// assert_eq!(response.header("set-cookie"), Some("visited=yes; Path=/"));
/// ```
#[derive(Debug)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
    /// Why this response cannot be written as built (an invalid header): it is replaced by
    /// a generic 500 and this goes to the server's error log.
    failure: Option<String>,
    /// A line for the server's error log, written along with the response (rejections).
    diagnostic: Option<String>,
    /// An RFC 3875 §6.2.2 local redirect: written as its `Location` line alone.
    local_redirect: bool,
}

impl Response {
    /// Starts a response: `200 OK`, no headers, empty body.
    ///
    /// ```
    /// let response: cgi::Response = cgi::Response::builder().body("ok");
    /// assert_eq!(response.status(), cgi::StatusCode::OK);
    /// ```
    pub fn builder() -> ResponseBuilder {
        ResponseBuilder {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            failure: None,
        }
    }

    /// The status code.
    ///
    /// ```
    /// use cgi::IntoResponse;
    /// assert_eq!(cgi::StatusCode::NOT_FOUND.into_response().status(), cgi::StatusCode::NOT_FOUND);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers set so far (not the ones the CGI writer adds: `Status`, a default
    /// `Content-Type`, `Content-Length`).
    ///
    /// ```
    /// use cgi::IntoResponse;
    /// let response = cgi::Html("<p>hi</p>").into_response();
    /// assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, to change. Names and values are `http` types, so they cannot carry CR
    /// or LF; headers that belong to the server (`Connection`, `Transfer-Encoding`, ...)
    /// make the written response a generic 500.
    ///
    /// ```
    /// use cgi::IntoResponse;
    /// let mut response = "text".into_response();
    /// response.headers_mut().insert("cache-control", cgi::http::HeaderValue::from_static("no-store"));
    /// assert_eq!(response.headers()["cache-control"], "no-store");
    /// ```
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// Adds a `Set-Cookie` header to a response already made (an invalid cookie makes it a
    /// generic 500, as with [`ResponseBuilder::cookie`]).
    ///
    /// ```
    /// use cgi::IntoResponse;
    /// let mut response = cgi::Html("<p>hi</p>").into_response();
    /// response.add_cookie(cgi::SetCookie::new("seen", "1"));
    /// assert_eq!(response.headers()["set-cookie"], "seen=1");
    /// ```
    pub fn add_cookie(&mut self, cookie: SetCookie) {
        match cookie.to_header_value() {
            Ok(value) => {
                self.headers.append(http::header::SET_COOKIE, value);
            }
            Err(reason) => {
                self.failure.get_or_insert(reason);
            }
        }
    }

    /// The body.
    ///
    /// ```
    /// use cgi::IntoResponse;
    /// assert_eq!("hi".into_response().body().as_bytes(), Some(&b"hi"[..]));
    /// ```
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// A response that cannot be given: written as a generic 500, `reason` logged.
    pub(crate) fn failed(reason: String) -> Response {
        let mut response = Response::internal_error();
        response.failure = Some(reason);
        response
    }

    /// The generic answer when something went wrong on the script's side: no detail
    /// reaches the client.
    pub(crate) fn internal_error() -> Response {
        Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body(write::INTERNAL_ERROR_BODY)
    }

    pub(crate) fn set_diagnostic(&mut self, line: String) {
        self.diagnostic = Some(line);
    }

    pub(crate) fn set_status(&mut self, status: StatusCode) {
        self.status = status;
    }

    /// The answer to bad input: the status, a one-line plain-text reason, and the same
    /// reason for the server's error log.
    pub(crate) fn rejection(status: StatusCode, reason: String) -> Response {
        // The header goes into a map of its own before the response holds it: the
        // compiler then sees a fresh map and leaves out the code for one under a
        // hash-flooding attack, whose random keys would make every start-up bind
        // `getrandom`.
        let mut headers = HeaderMap::new();
        headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        let mut response = Response::builder()
            .status(status)
            .body(format!("{reason}\n"));
        response.headers = headers;
        response.diagnostic = Some(format!("{} {}", status.as_u16(), reason));
        response
    }

    /// A response whose headers are already known to be valid.
    pub(crate) fn with_content_type(content_type: &'static str, body: Body) -> Response {
        // A fresh map, filled first, as in `rejection`.
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        let mut response = Response::builder().body(body);
        response.headers = headers;
        response
    }
}

/// Builds a [`Response`]; from [`Response::builder`].
///
/// It never fails while building: a header name or value that is not allowed (CR, LF,
/// other control characters, a name that is not an HTTP token) is remembered, and the
/// written response becomes a generic `500 Internal Server Error` with the reason in the
/// server's error log. So user input copied into a header can never split the response.
///
/// ```
/// let response = cgi::test::TestRequest::get("/").call(|| {
///     let user_input = "x\r\nSet-Cookie: admin=1";
///     cgi::Response::builder().header("X-Echo", user_input).body("hi")
/// });
/// assert_eq!(response.status(), cgi::StatusCode::INTERNAL_SERVER_ERROR);
/// assert_eq!(response.header("set-cookie"), None);
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `.body(...)` makes the response"]
pub struct ResponseBuilder {
    status: StatusCode,
    headers: HeaderMap,
    failure: Option<String>,
}

impl ResponseBuilder {
    /// Sets the status code (default `200 OK`).
    ///
    /// ```
    /// let response = cgi::Response::builder().status(cgi::StatusCode::ACCEPTED).body("");
    /// assert_eq!(response.status().as_u16(), 202);
    /// ```
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Adds a header. Several headers may share a name; each is written on its own line.
    ///
    /// ```
    /// let response = cgi::Response::builder()
    ///     .header("Content-Type", "text/csv")
    ///     .header("Content-Disposition", "attachment; filename=\"report.csv\"")
    ///     .body("a,b\n");
    /// assert_eq!(response.headers()["content-type"], "text/csv");
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            (Err(_), _) => self.fail(format!("invalid response header name {name:?}")),
            (Ok(_), Err(_)) => self.fail(format!(
                "invalid value for response header `{name}`: it contains a control character (CR, LF, NUL, ...)"
            )),
        }
        self
    }

    /// Adds a `Set-Cookie` header. Call it once per cookie.
    ///
    /// ```
    /// use cgi::{Response, SetCookie};
    /// let response = Response::builder()
    ///     .cookie(SetCookie::new("a", "1"))
    ///     .cookie(SetCookie::new("b", "2").http_only(true))
    ///     .body("two cookies");
    /// assert_eq!(response.headers().get_all("set-cookie").iter().count(), 2);
    /// ```
    pub fn cookie(mut self, cookie: SetCookie) -> Self {
        match cookie.to_header_value() {
            Ok(value) => {
                self.headers.append(http::header::SET_COOKIE, value);
            }
            Err(reason) => self.fail(reason),
        }
        self
    }

    /// Makes the response a download: `Content-Disposition: attachment` with `file_name`
    /// made safe (its last path component, no control characters; a plain-ASCII
    /// `filename=` and, for other names, the exact one as `filename*=`).
    ///
    /// ```
    /// let response = cgi::Response::builder()
    ///     .header("Content-Type", "text/csv")
    ///     .attachment("../sales/2026 Q4.csv")
    ///     .body("region,total\n");
    /// assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"2026 Q4.csv\"");
    /// ```
    pub fn attachment(self, file_name: &str) -> Self {
        let value = attachment::content_disposition(file_name);
        self.header("Content-Disposition", &value)
    }

    /// Finishes the response with a body: a `String` or `&'static str` (sent as
    /// `text/plain; charset=utf-8` unless a `Content-Type` was set), or bytes (sent as
    /// `application/octet-stream` unless set).
    ///
    /// ```
    /// let response = cgi::Response::builder().body(vec![0u8, 1, 2]);
    /// assert_eq!(response.body().as_bytes(), Some(&[0, 1, 2][..]));
    /// ```
    pub fn body(self, body: impl Into<Body>) -> Response {
        Response {
            status: self.status,
            headers: self.headers,
            body: body.into(),
            failure: self.failure,
            diagnostic: None,
            local_redirect: false,
        }
    }

    fn fail(&mut self, reason: String) {
        // The first problem is the one worth reporting; later ones often follow from it.
        self.failure.get_or_insert(reason);
    }
}
