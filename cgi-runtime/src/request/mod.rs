//! The request: RFC 3875 meta-variables, headers, URI and body.

mod headers;
mod request_body;
mod uri;
mod variables;

use std::ffi::OsStr;
use std::io::Read;
use std::net::IpAddr;
use std::sync::OnceLock;

use http::{HeaderMap, Method, StatusCode, Uri};

use crate::limits::Limits;
use crate::pending_cookies::ExchangeId;
use crate::response::Response;
use request_body::Framing;
pub(crate) use request_body::Leftover;
pub use request_body::RequestBody;
#[cfg(feature = "tokio")]
pub(crate) use uri::below_script;
pub(crate) use variables::Variables;

/// One CGI request: everything the server passed in meta-variables, and the body.
///
/// Handlers usually take [extractors](crate::FromRequest) such as [`Query`](crate::Query);
/// taking the whole `Request` gives access to everything, as the last argument (it owns
/// the body).
///
/// Every text accessor returns `None` when the variable is unset, empty (RFC 3875 §4.1 makes
/// them the same) or not UTF-8; [`var`](Request::var) has the raw bytes.
///
/// ```
/// use cgi::Request;
///
/// fn describe(request: Request) -> String {
///     format!(
///         "{} {} from {:?}",
///         request.method(),
///         request.uri(),
///         request.remote_addr(),
///     )
/// }
///
/// let response = cgi::test::TestRequest::get("/report?year=2026").call(describe);
/// assert_eq!(response.text(), "GET /report?year=2026 from Some(127.0.0.1)");
/// ```
pub struct Request {
    vars: Variables,
    method: Method,
    headers: OnceLock<HeaderMap>,
    uri: OnceLock<Uri>,
    body: RequestBody,
    limits: Limits,
    exchange: ExchangeId,
}

impl Request {
    /// Builds the request from meta-variables and the body's source, or the response that
    /// a request this malformed gets (after draining what it sent).
    pub(crate) fn from_variables(
        vars: Variables,
        input: Box<dyn Read + Send>,
        limits: &Limits,
        leftover: Leftover,
    ) -> Result<Request, Box<Response>> {
        let method = match vars.bytes("REQUEST_METHOD").map(Method::from_bytes) {
            Some(Ok(method)) => method,
            Some(Err(_)) => {
                // Whatever body came with it is drained first, as for every early answer.
                leftover.dispose(input, limits.get_drain_cap(), limits.get_drain_timeout());
                return Err(Box::new(Response::rejection(
                    StatusCode::BAD_REQUEST,
                    "REQUEST_METHOD is not a valid method.".into(),
                )));
            }
            None => {
                return Err(Box::new(Response::rejection(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The server did not set REQUEST_METHOD (RFC 3875 §4.1.12).".into(),
                )));
            }
        };
        let framing = request_body::framing(
            vars.bytes("CONTENT_LENGTH"),
            vars.bytes("HTTP_TRANSFER_ENCODING"),
            limits,
        );
        let body = match framing {
            Ok(Framing::None) => RequestBody::empty(),
            Ok(Framing::Length(length)) => {
                RequestBody::new(input, length, limits.get_drain_timeout(), leftover)
            }
            Err(rejection) => {
                return Err(Box::new(
                    rejection.drain_and_answer(input, limits, leftover),
                ));
            }
        };
        Ok(Request {
            vars,
            method,
            headers: OnceLock::new(),
            uri: OnceLock::new(),
            body,
            limits: limits.clone(),
            exchange: ExchangeId::next(),
        })
    }

    /// The request method (`REQUEST_METHOD`).
    ///
    /// ```
    /// fn method(request: cgi::Request) -> String { request.method().to_string() }
    /// assert_eq!(cgi::test::TestRequest::post("/").call(method).text(), "POST");
    /// ```
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URI the client asked for: `REQUEST_URI` if the server set it, else
    /// `SCRIPT_NAME` + `PATH_INFO` + `?QUERY_STRING`. Bytes a URI cannot hold are
    /// percent-encoded.
    ///
    /// ```
    /// fn uri(request: cgi::Request) -> String { request.uri().to_string() }
    /// let response = cgi::test::TestRequest::get("/")
    ///     .var("REQUEST_URI", "")
    ///     .var("SCRIPT_NAME", "/cgi-bin/app")
    ///     .var("PATH_INFO", "/items/7")
    ///     .var("QUERY_STRING", "sort=asc")
    ///     .call(uri);
    /// assert_eq!(response.text(), "/cgi-bin/app/items/7?sort=asc");
    /// ```
    pub fn uri(&self) -> &Uri {
        self.uri.get_or_init(|| uri::from_variables(&self.vars))
    }

    /// The script's own path (`SCRIPT_NAME`), for building links back to it.
    ///
    /// ```
    /// fn me(request: cgi::Request) -> String { request.script_name().unwrap_or("").to_owned() }
    /// let response = cgi::test::TestRequest::get("/").var("SCRIPT_NAME", "/cgi-bin/app").call(me);
    /// assert_eq!(response.text(), "/cgi-bin/app");
    /// ```
    pub fn script_name(&self) -> Option<&str> {
        self.vars.text("SCRIPT_NAME")
    }

    /// The part of the path after the script's name (`PATH_INFO`), already decoded by the
    /// server. Untrusted: never use it as a file path without checking it.
    ///
    /// ```
    /// fn rest(request: cgi::Request) -> String { request.path_info().unwrap_or("(none)").to_owned() }
    /// assert_eq!(cgi::test::TestRequest::get("/items/7").call(rest).text(), "/items/7");
    /// ```
    pub fn path_info(&self) -> Option<&str> {
        self.vars.text("PATH_INFO")
    }

    /// The raw, still URL-encoded query (`QUERY_STRING`). [`Query`](crate::Query) decodes it.
    ///
    /// ```
    /// fn raw(request: cgi::Request) -> String { request.query_string().unwrap_or("").to_owned() }
    /// assert_eq!(cgi::test::TestRequest::get("/?a=1&b=%20x").call(raw).text(), "a=1&b=%20x");
    /// ```
    pub fn query_string(&self) -> Option<&str> {
        self.vars.text("QUERY_STRING")
    }

    /// The request headers, rebuilt from `HTTP_*` meta-variables, plus `Content-Type` and
    /// `Content-Length`. The server decides which headers it passes: most drop
    /// `Authorization`, some merge or drop duplicates.
    ///
    /// ```
    /// fn agent(request: cgi::Request) -> String {
    ///     request.headers().get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
    /// }
    /// let response = cgi::test::TestRequest::get("/").header("User-Agent", "curl/8").call(agent);
    /// assert_eq!(response.text(), "curl/8");
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        self.headers
            .get_or_init(|| headers::from_variables(&self.vars))
    }

    /// One request header as text, by case-insensitive name; `None` if absent or not
    /// visible ASCII.
    ///
    /// ```
    /// fn language(request: cgi::Request) -> String {
    ///     request.header("Accept-Language").unwrap_or("en").to_owned()
    /// }
    /// let response = cgi::test::TestRequest::get("/").header("Accept-Language", "fr").call(language);
    /// assert_eq!(response.text(), "fr");
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    }

    /// A meta-variable's raw bytes, by its exact name; `None` if unset or empty.
    /// This is how to read variables without an accessor (`AUTH_TYPE`, `DOCUMENT_ROOT`,
    /// `UNIQUE_ID`, ...), or values that are not UTF-8.
    ///
    /// ```
    /// fn root(request: cgi::Request) -> Vec<u8> {
    ///     request.var("DOCUMENT_ROOT").unwrap_or_default().to_vec()
    /// }
    /// let response = cgi::test::TestRequest::get("/").var("DOCUMENT_ROOT", "/srv/www").call(root);
    /// assert_eq!(response.body(), b"/srv/www");
    /// ```
    pub fn var(&self, name: &str) -> Option<&[u8]> {
        self.vars.bytes(name)
    }

    /// Every meta-variable the request carries (the non-empty ones), in the order received.
    ///
    /// ```
    /// fn count(request: cgi::Request) -> String {
    ///     let n = request.vars().filter(|(name, _)| name.to_str().is_some_and(|n| n.starts_with("HTTP_"))).count();
    ///     n.to_string()
    /// }
    /// let response = cgi::test::TestRequest::get("/").header("X-One", "1").call(count);
    /// assert_eq!(response.text(), "2"); // HTTP_HOST and HTTP_X_ONE
    /// ```
    pub fn vars(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars.iter()
    }

    /// The server's host name (`SERVER_NAME`). busybox leaves it unset and nginx may send
    /// it empty.
    ///
    /// ```
    /// fn host(request: cgi::Request) -> String { request.server_name().unwrap_or("?").to_owned() }
    /// assert_eq!(cgi::test::TestRequest::get("/").call(host).text(), "localhost");
    /// ```
    pub fn server_name(&self) -> Option<&str> {
        self.vars.text("SERVER_NAME")
    }

    /// The port the request arrived on (`SERVER_PORT`).
    ///
    /// ```
    /// fn port(request: cgi::Request) -> String { format!("{:?}", request.server_port()) }
    /// assert_eq!(cgi::test::TestRequest::get("/").call(port).text(), "Some(80)");
    /// ```
    pub fn server_port(&self) -> Option<u16> {
        self.vars
            .text("SERVER_PORT")
            .and_then(|port| port.parse().ok())
    }

    /// The protocol of the request (`SERVER_PROTOCOL`): `HTTP/1.1`, `HTTP/1.0`, `INCLUDED`
    /// (a server-side include, RFC 3875 §4.1.16) or anything else a server chose; all are
    /// accepted.
    ///
    /// ```
    /// fn protocol(request: cgi::Request) -> String { request.server_protocol().unwrap_or("").to_owned() }
    /// let response = cgi::test::TestRequest::get("/").var("SERVER_PROTOCOL", "INCLUDED").call(protocol);
    /// assert_eq!(response.text(), "INCLUDED");
    /// ```
    pub fn server_protocol(&self) -> Option<&str> {
        self.vars.text("SERVER_PROTOCOL")
    }

    /// The server's name and version (`SERVER_SOFTWARE`).
    ///
    /// ```
    /// fn software(request: cgi::Request) -> String { request.server_software().unwrap_or("").to_owned() }
    /// assert_eq!(cgi::test::TestRequest::get("/").call(software).text(), "cgikit-test");
    /// ```
    pub fn server_software(&self) -> Option<&str> {
        self.vars.text("SERVER_SOFTWARE")
    }

    /// The client's address (`REMOTE_ADDR`): the immediate peer, which may be a proxy.
    ///
    /// ```
    /// fn client(request: cgi::Request) -> String { format!("{:?}", request.remote_addr()) }
    /// let response = cgi::test::TestRequest::get("/").var("REMOTE_ADDR", "2001:db8::1").call(client);
    /// assert_eq!(response.text(), "Some(2001:db8::1)");
    /// ```
    pub fn remote_addr(&self) -> Option<IpAddr> {
        self.vars
            .text("REMOTE_ADDR")
            .and_then(|addr| addr.parse().ok())
    }

    /// The client's port (`REMOTE_PORT`, not in RFC 3875; Python's server omits it).
    ///
    /// ```
    /// fn port(request: cgi::Request) -> String { format!("{:?}", request.remote_port()) }
    /// let response = cgi::test::TestRequest::get("/").var("REMOTE_PORT", "54321").call(port);
    /// assert_eq!(response.text(), "Some(54321)");
    /// ```
    pub fn remote_port(&self) -> Option<u16> {
        self.vars
            .text("REMOTE_PORT")
            .and_then(|port| port.parse().ok())
    }

    /// Whether the request came over TLS: `HTTPS` is `on`, `ON` or `1` (as Go's
    /// net/http/cgi reads it), or `REQUEST_SCHEME` is `https`.
    ///
    /// ```
    /// fn secure(request: cgi::Request) -> String { request.is_https().to_string() }
    /// assert_eq!(cgi::test::TestRequest::get("/").var("HTTPS", "on").call(secure).text(), "true");
    /// assert_eq!(cgi::test::TestRequest::get("/").call(secure).text(), "false");
    /// ```
    pub fn is_https(&self) -> bool {
        matches!(self.vars.bytes("HTTPS"), Some(b"on" | b"ON" | b"1"))
            || self
                .vars
                .bytes("REQUEST_SCHEME")
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"https"))
    }

    /// The body's media type (`CONTENT_TYPE`).
    ///
    /// ```
    /// fn kind(request: cgi::Request) -> String { request.content_type().unwrap_or("none").to_owned() }
    /// let response = cgi::test::TestRequest::post("/").header("Content-Type", "text/csv").body("a,b").call(kind);
    /// assert_eq!(response.text(), "text/csv");
    /// ```
    pub fn content_type(&self) -> Option<&str> {
        self.vars.text("CONTENT_TYPE")
    }

    /// The body's length in bytes (`CONTENT_LENGTH`); `None` when there is no body.
    ///
    /// ```
    /// fn length(request: cgi::Request) -> String { format!("{:?}", request.content_length()) }
    /// assert_eq!(cgi::test::TestRequest::post("/").body("12345").call(length).text(), "Some(5)");
    /// assert_eq!(cgi::test::TestRequest::get("/").call(length).text(), "None");
    /// ```
    pub fn content_length(&self) -> Option<u64> {
        Some(self.body.len()).filter(|&length| length > 0)
    }

    /// The body, to read.
    ///
    /// ```
    /// fn size(request: cgi::Request) -> String { request.body().len().to_string() }
    /// assert_eq!(cgi::test::TestRequest::post("/").body("abc").call(size).text(), "3");
    /// ```
    pub fn body(&self) -> &RequestBody {
        &self.body
    }

    /// The body, to read from: it implements [`std::io::Read`].
    ///
    /// ```
    /// use std::io::Read;
    /// fn first_byte(mut request: cgi::Request) -> String {
    ///     let mut byte = [0u8; 1];
    ///     let n = request.body_mut().read(&mut byte).unwrap_or(0);
    ///     format!("{:?}", &byte[..n])
    /// }
    /// assert_eq!(cgi::test::TestRequest::post("/").body("xyz").call(first_byte).text(), "[120]");
    /// ```
    pub fn body_mut(&mut self) -> &mut RequestBody {
        &mut self.body
    }

    /// Which exchange this request belongs to, for extractors that add cookies to its
    /// response (see `pending_cookies`).
    pub(crate) fn exchange(&self) -> ExchangeId {
        self.exchange
    }

    /// The body, and the limits the script runs with (for extractors that stream it).
    pub(crate) fn into_body_and_limits(self) -> (RequestBody, Limits) {
        (self.body, self.limits)
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values are left out on purpose: they hold cookies and credentials.
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("uri", self.uri())
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}
