//! The test kit: run a handler on a made-up request, in-process, through the same code as
//! production, down to the CGI bytes.
//!
//! ```
//! use cgi::test::TestRequest;
//! use cgi::{Html, Query, StatusCode};
//!
//! #[derive(serde::Deserialize)]
//! struct Greeting { name: String }
//!
//! fn greet(Query(greeting): Query<Greeting>) -> Html<String> {
//!     Html(format!("<p>Hello, {}!</p>", cgi::html::escape(&greeting.name)))
//! }
//!
//! let response = TestRequest::get("/?name=%3Cb%3E").call(greet);
//! assert_eq!(response.status(), StatusCode::OK);
//! assert_eq!(response.header("content-type"), Some("text/html; charset=utf-8"));
//! assert_eq!(response.text(), "<p>Hello, &lt;b&gt;!</p>");
//! assert!(response.raw().starts_with(b"Status: 200 OK\r\n"));
//! ```

use std::ffi::{OsStr, OsString};
use std::io::Cursor;

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::Serialize;

use crate::exchange::{Exchange, answer};
use crate::handler::Handler;
use crate::host::cgi_output::{self, Output};
use crate::host::{Host, HttpRequest, cgi_variables};
use crate::limits::Limits;

/// A request to run a handler on, built like a web server would build the CGI environment.
///
/// The URI is relative to the script: `TestRequest::get("/items?id=7")` sets
/// `PATH_INFO=/items`, `QUERY_STRING=id=7`, `REQUEST_URI=/items?id=7` and an empty
/// `SCRIPT_NAME`, plus what every server sends (`GATEWAY_INTERFACE`, `SERVER_PROTOCOL`,
/// `SERVER_NAME=localhost`, `SERVER_PORT=80`, `REMOTE_ADDR=127.0.0.1`, `HTTP_HOST`).
/// [`var`](TestRequest::var) overrides any of them; an empty value unsets it.
///
/// ```
/// use cgi::test::TestRequest;
///
/// fn echo(request: cgi::Request) -> String {
///     format!("{} {:?}", request.method(), request.header("x-token"))
/// }
/// let response = TestRequest::post("/").header("X-Token", "t0k").call(echo);
/// assert_eq!(response.text(), "POST Some(\"t0k\")");
/// ```
#[derive(Debug, Clone)]
#[must_use = "a test request does nothing until `.call(handler)`"]
pub struct TestRequest {
    method: Method,
    target: String,
    headers: Vec<(String, String)>,
    cookies: Vec<String>,
    vars: Vec<(String, OsString)>,
    body: Option<Vec<u8>>,
    limits: Limits,
    csrf: bool,
}

/// The CSRF token [`TestRequest::csrf`] sends (32 hexadecimal digits, as real ones are).
const CSRF_TOKEN: &str = "7e57c0de7e57c0de7e57c0de7e57c0de";

impl TestRequest {
    /// A `GET` request for `uri` (a path, optionally with `?query`).
    ///
    /// ```
    /// fn page(request: cgi::Request) -> String {
    ///     format!("{} {}", request.method(), request.uri())
    /// }
    /// let response = cgi::test::TestRequest::get("/?page=2").call(page);
    /// assert_eq!(response.text(), "GET /?page=2");
    /// ```
    pub fn get(uri: &str) -> Self {
        Self::new(Method::GET, uri)
    }

    /// A `POST` request for `uri`.
    ///
    /// ```
    /// let response = cgi::test::TestRequest::post("/").body("raw").call(|body: Vec<u8>| body);
    /// assert_eq!(response.body(), b"raw");
    /// ```
    pub fn post(uri: &str) -> Self {
        Self::new(Method::POST, uri)
    }

    fn new(method: Method, uri: &str) -> Self {
        TestRequest {
            method,
            target: uri.to_owned(),
            headers: Vec::new(),
            cookies: Vec::new(),
            vars: Vec::new(),
            body: None,
            limits: Limits::default(),
            csrf: false,
        }
    }

    /// Changes the method (`HEAD`, `PUT`, ...).
    ///
    /// ```
    /// let response = cgi::test::TestRequest::get("/").method(cgi::Method::HEAD).call(|| "body");
    /// assert_eq!(response.body(), b"");
    /// assert_eq!(response.header("content-length"), Some("4"));
    /// ```
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Adds a request header, passed as an `HTTP_*` variable (`Content-Type` and
    /// `Content-Length` become `CONTENT_TYPE` and `CONTENT_LENGTH`, as servers pass them).
    ///
    /// ```
    /// fn language(request: cgi::Request) -> String {
    ///     let variable = request.var("HTTP_ACCEPT_LANGUAGE").unwrap_or_default();
    ///     String::from_utf8_lossy(variable).into_owned()
    /// }
    /// let response = cgi::test::TestRequest::get("/").header("Accept-Language", "fr").call(language);
    /// assert_eq!(response.text(), "fr");
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds a cookie to the `Cookie` header (several are joined with `"; "`).
    ///
    /// ```
    /// fn cookie_header(request: cgi::Request) -> String {
    ///     request.header("cookie").unwrap_or_default().to_owned()
    /// }
    /// let response = cgi::test::TestRequest::get("/")
    ///     .cookie("sid", "abc")
    ///     .cookie("theme", "dark")
    ///     .call(cookie_header);
    /// assert_eq!(response.text(), "sid=abc; theme=dark");
    /// ```
    pub fn cookie(mut self, name: &str, value: &str) -> Self {
        self.cookies.push(format!("{name}={value}"));
        self
    }

    /// Sends a valid CSRF token, as a browser does with a form from a page that used
    /// [`Csrf`](crate::Csrf): the token cookie (`cgikit_csrf`, or `__Host-cgikit_csrf` when
    /// [`var`](TestRequest::var) sets `HTTPS`), and the same token in the `csrf_token`
    /// field of the urlencoded or multipart body (a request without a body gets a form
    /// body holding only the token; a `GET` gets only the cookie). Before or after
    /// [`form`](TestRequest::form), either way.
    ///
    /// ```
    /// use cgi::{Csrf, Form};
    /// #[derive(serde::Deserialize)]
    /// struct Delete { id: u32, csrf_token: String }
    /// fn delete(csrf: Csrf, Form(form): Form<Delete>) -> Result<String, cgi::Error> {
    ///     csrf.verify(&form.csrf_token)?;
    ///     Ok(format!("deleted {}", form.id))
    /// }
    /// let response = cgi::test::TestRequest::post("/").csrf().form(&[("id", "7")]).call(delete);
    /// assert_eq!(response.text(), "deleted 7");
    /// let forged = cgi::test::TestRequest::post("/").form(&[("id", "7"), ("csrf_token", "x")]).call(delete);
    /// assert_eq!(forged.status(), cgi::StatusCode::FORBIDDEN);
    /// ```
    pub fn csrf(mut self) -> Self {
        self.csrf = true;
        self
    }

    /// Sets a meta-variable directly, after all the others (so it wins). An empty value
    /// makes it unset, as RFC 3875 §4.1 says. The value may be any bytes the OS allows.
    ///
    /// ```
    /// fn describe(request: cgi::Request) -> String {
    ///     format!("{} {:?}", request.is_https(), request.var("SERVER_NAME"))
    /// }
    /// let response = cgi::test::TestRequest::get("/")
    ///     .var("HTTPS", "on")
    ///     .var("SERVER_NAME", "")
    ///     .call(describe);
    /// assert_eq!(response.text(), "true None");
    /// ```
    pub fn var(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.vars.push((name.to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Sets the body to `form`, urlencoded, with
    /// `Content-Type: application/x-www-form-urlencoded`, as a browser submits a form.
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct Login<'a> { user: &'a str }
    /// #[derive(serde::Deserialize)]
    /// struct User { user: String }
    /// fn hello(cgi::Form(form): cgi::Form<User>) -> String { form.user }
    ///
    /// let response = cgi::test::TestRequest::post("/").form(&Login { user: "ada" }).call(hello);
    /// assert_eq!(response.text(), "ada");
    /// let response = cgi::test::TestRequest::post("/").form(&[("user", "grace")]).call(hello);
    /// assert_eq!(response.text(), "grace");
    /// ```
    ///
    /// # Panics
    ///
    /// If `form` cannot be urlencoded (a nested struct, for instance).
    pub fn form<T: Serialize + ?Sized>(self, form: &T) -> Self {
        let body = serde_urlencoded::to_string(form)
            .expect("TestRequest::form: the value cannot be urlencoded");
        self.header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
    }

    /// Sets the body to a `multipart/form-data` upload, with its `Content-Type` and
    /// boundary, as a browser submits a form with `enctype="multipart/form-data"`.
    ///
    /// ```
    /// use cgi::test::{MultipartBody, TestRequest};
    /// fn names(mut multipart: cgi::Multipart) -> Result<String, cgi::MultipartError> {
    ///     let mut names = Vec::new();
    ///     while let Some(field) = multipart.next_field()? {
    ///         names.push(format!("{:?}/{:?}", field.name(), field.file_name()));
    ///     }
    ///     Ok(names.join(" "))
    /// }
    /// let response = TestRequest::post("/upload")
    ///     .multipart(MultipartBody::new().text("title", "Notes").file("doc", "notes.txt", "text/plain", b"..."))
    ///     .call(names);
    /// assert_eq!(response.text(), r#"Some("title")/None Some("doc")/Some("notes.txt")"#);
    /// ```
    pub fn multipart(self, body: MultipartBody) -> Self {
        let content_type = format!("multipart/form-data; boundary={}", MultipartBody::BOUNDARY);
        self.header("Content-Type", &content_type)
            .body(body.finish())
    }

    /// Sets the body (and `CONTENT_LENGTH`).
    ///
    /// ```
    /// fn length(request: cgi::Request) -> String {
    ///     String::from_utf8_lossy(request.var("CONTENT_LENGTH").unwrap_or_default()).into_owned()
    /// }
    /// let response = cgi::test::TestRequest::post("/").header("Content-Type", "text/plain").body("hello").call(length);
    /// assert_eq!(response.text(), "5");
    /// ```
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Runs the handler with other [`Limits`] (what `#[cgi::main(max_body = ...)]` sets).
    ///
    /// ```
    /// let response = cgi::test::TestRequest::post("/")
    ///     .body("too long")
    ///     .limits(cgi::Limits::default().max_body(4))
    ///     .call(|| "never runs");
    /// assert_eq!(response.status(), cgi::StatusCode::PAYLOAD_TOO_LARGE);
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Runs `handler` on this request and returns what it wrote, parsed.
    ///
    /// ```
    /// let response = cgi::test::TestRequest::get("/").call(|| "hi");
    /// assert_eq!(response.text(), "hi");
    /// ```
    ///
    /// # Panics
    ///
    /// If the output is not a well-formed CGI response (a bug in cgikit).
    pub fn call<T>(self, handler: impl Handler<T>) -> TestResponse {
        let limits = self.limits.clone();
        let (vars, body) = self.into_cgi_vars();
        let mut output = Vec::new();
        let mut log = Vec::new();
        let exchange = Exchange {
            program: &"test",
            input: Box::new(Cursor::new(body)),
            output: &mut output,
            log: &mut log,
            panic_hook_logs: false,
            leftover: crate::request::Leftover::Drain,
        };
        // Writing to a Vec cannot fail; an error here is a streamed body that failed after
        // its headers, which the log already tells.
        let _ = answer(vars, exchange, &limits, |request| handler.call(request));
        TestResponse::parse(output, String::from_utf8_lossy(&log).into_owned())
    }

    /// Runs a tower service (an axum `Router`) on this request, as
    /// [`cgi::service::run`](crate::service::run) runs it in production, and returns what
    /// it wrote, parsed. The service sees the full path: the test host mounts the script
    /// at the root (`SCRIPT_NAME` empty), unless [`var`](Self::var) says otherwise.
    ///
    /// ```
    /// use axum::{Router, routing::get, extract::Path};
    ///
    /// let app = Router::new().route("/items/{id}", get(|Path(id): Path<u32>| async move { format!("item {id}") }));
    /// let response = cgi::test::TestRequest::get("/items/7").call_service(app.clone());
    /// assert_eq!(response.text(), "item 7");
    /// assert_eq!(cgi::test::TestRequest::get("/nowhere").call_service(app).status(), cgi::StatusCode::NOT_FOUND);
    /// ```
    ///
    /// # Panics
    ///
    /// If the output is not a well-formed CGI response (a bug in cgikit).
    #[cfg(feature = "tokio")]
    pub fn call_service<S, ResBody>(self, service: S) -> TestResponse
    where
        S: tower_service::Service<
                http::Request<crate::service::Incoming>,
                Response = http::Response<ResBody>,
            > + Clone
            + Send,
        S::Error: Into<crate::service::BoxError>,
        ResBody: http_body::Body + Send + 'static,
        ResBody::Data: Send,
        ResBody::Error: Into<crate::service::BoxError>,
    {
        let shared = crate::service::Shared::new(service);
        // Inside a `#[tokio::test]`, the service runs on a thread outside its runtime.
        crate::executor::outside_runtime(|| {
            self.call(|request: crate::Request| crate::service::answer(&shared, request))
        })
    }

    /// The meta-variables the test host sets for this request (see [`Host::in_process`]),
    /// with [`var`](Self::var)'s last, and the body.
    fn into_cgi_vars(self) -> (Vec<(OsString, OsString)>, Vec<u8>) {
        let TestRequest {
            method,
            target,
            mut headers,
            cookies,
            vars: overrides,
            mut body,
            limits: _,
            csrf,
        } = self;
        let mut cookies = cookies;
        if csrf {
            let https = overrides.iter().any(|(name, value)| {
                (name == "HTTPS" && ["on", "ON", "1"].iter().any(|on| value == on))
                    || (name == "REQUEST_SCHEME" && value.eq_ignore_ascii_case("https"))
            });
            let cookie = if https {
                "__Host-cgikit_csrf"
            } else {
                "cgikit_csrf"
            };
            cookies.push(format!("{cookie}={CSRF_TOKEN}"));
            // A page fetched with GET sends the cookie only, as a browser does.
            if method != Method::GET && method != Method::HEAD {
                body = Some(with_csrf_field(&mut headers, body));
            }
        }
        if !cookies.is_empty() {
            headers.push(("Cookie".to_owned(), cookies.join("; ")));
        }
        let request = HttpRequest {
            method: method.as_str(),
            target: &target,
            protocol: "HTTP/1.1",
            headers: &headers,
            content_length: body.as_ref().map(|body| body.len() as u64),
        };
        let mut vars = cgi_variables(&Host::in_process("cgikit-test"), &request);
        // `var` sets a meta-variable outright: it replaces any other value of that name.
        for (name, value) in overrides {
            vars.retain(|(existing, _)| *existing != *name);
            vars.push((name.into(), value));
        }
        (vars, body.unwrap_or_default())
    }
}

/// `body` with the `csrf_token` field added, as its `Content-Type` says to add it.
fn with_csrf_field(headers: &mut Vec<(String, String)>, body: Option<Vec<u8>>) -> Vec<u8> {
    let content_type = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.to_ascii_lowercase());
    match (content_type, body) {
        (Some(form), Some(mut body)) if form.starts_with("application/x-www-form-urlencoded") => {
            if !body.is_empty() {
                body.push(b'&');
            }
            body.extend_from_slice(format!("csrf_token={CSRF_TOKEN}").as_bytes());
            body
        }
        (Some(multipart), Some(body)) if multipart.starts_with("multipart/form-data") => {
            let close = format!("--{}--\r\n", MultipartBody::BOUNDARY);
            let parts = body
                .strip_suffix(close.as_bytes())
                .expect("TestRequest::csrf: a multipart body made by MultipartBody");
            MultipartBody {
                bytes: parts.to_vec(),
            }
            .text("csrf_token", CSRF_TOKEN)
            .finish()
        }
        (None, None) => {
            headers.push((
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ));
            format!("csrf_token={CSRF_TOKEN}").into_bytes()
        }
        (_, body) => panic!(
            "TestRequest::csrf: the body is neither a urlencoded form nor a MultipartBody ({} bytes)",
            body.map_or(0, |body| body.len())
        ),
    }
}

/// What a handler answered, parsed back from the CGI bytes it wrote.
///
/// ```
/// let response = cgi::test::TestRequest::get("/").call(|| cgi::Redirect::to("/next"));
/// assert_eq!(response.status(), cgi::StatusCode::SEE_OTHER);
/// assert_eq!(response.header("Location"), Some("/next"));
/// ```
#[derive(Debug, Clone)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    raw: Vec<u8>,
    log: String,
}

impl TestResponse {
    fn parse(raw: Vec<u8>, log: String) -> Self {
        // Only for a failure's message: most outputs are never shown.
        let shown = || String::from_utf8_lossy(&raw).into_owned();
        let (status, headers, body) = match cgi_output::parse(&raw) {
            // cgikit writes `Status` first on every response but a local redirect.
            Ok(Output::Document {
                status,
                headers,
                body,
            }) if raw.starts_with(b"Status: ") => (status, headers, body),
            // Read as nginx and lighttpd read it.
            Ok(Output::LocalRedirect(location)) => (
                StatusCode::FOUND.as_u16(),
                vec![("Location".to_owned(), location.into_bytes())],
                Vec::new(),
            ),
            Ok(Output::Document { .. }) => {
                panic!(
                    "the CGI output does not start with a Status line:\n{}",
                    shown()
                )
            }
            Err(reason) => panic!("the CGI output is malformed ({reason}):\n{}", shown()),
        };
        let status = StatusCode::from_u16(status).expect("a status from 100 to 599");
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .unwrap_or_else(|_| panic!("bad header name {name:?}"));
            let value = HeaderValue::from_bytes(&value).unwrap_or_else(|_| {
                panic!("bad header value {:?}", String::from_utf8_lossy(&value))
            });
            map.append(name, value);
        }
        TestResponse {
            status,
            headers: map,
            body,
            raw,
            log,
        }
    }

    /// The status, from the `Status:` line. A local redirect (a lone `Location: /path`
    /// line) reads as `302 Found`, which is what nginx and lighttpd make of it.
    ///
    /// ```
    /// let response = cgi::test::TestRequest::get("/").call(|| cgi::StatusCode::GONE);
    /// assert_eq!(response.status(), cgi::StatusCode::GONE);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The first value of a header, by case-insensitive name.
    ///
    /// ```
    /// let response = cgi::test::TestRequest::get("/").call(|| "text");
    /// assert_eq!(response.header("Content-Type"), Some("text/plain; charset=utf-8"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The value of the cookie `name` that the response sets (the first `Set-Cookie` line
    /// for that name; `Some("")` for one that deletes the cookie).
    ///
    /// ```
    /// use cgi::{Response, SetCookie};
    /// let response = cgi::test::TestRequest::get("/").call(|| {
    ///     Response::builder()
    ///         .cookie(SetCookie::new("theme", "dark").path("/"))
    ///         .cookie(SetCookie::delete("old"))
    ///         .body("")
    /// });
    /// assert_eq!(response.cookie("theme"), Some("dark"));
    /// assert_eq!(response.cookie("old"), Some(""));
    /// assert_eq!(response.cookie("missing"), None);
    /// ```
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|line| line.to_str().ok())
            .find_map(|line| {
                let pair = line.split(';').next()?;
                let (cookie, value) = pair.split_once('=')?;
                (cookie.trim() == name).then(|| value.trim())
            })
    }

    /// All headers (without `Status`).
    ///
    /// ```
    /// let response = cgi::test::TestRequest::get("/").call(|| "text");
    /// assert_eq!(response.headers().len(), 2); // Content-Type, Content-Length
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body bytes.
    ///
    /// ```
    /// let response = cgi::test::TestRequest::get("/").call(|| vec![1u8, 2]);
    /// assert_eq!(response.body(), &[1, 2]);
    /// ```
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text.
    ///
    /// ```
    /// let response = cgi::test::TestRequest::get("/").call(|| "hi");
    /// assert_eq!(response.text(), "hi");
    /// ```
    ///
    /// # Panics
    ///
    /// If the body is not UTF-8.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("TestResponse::text: the body is not UTF-8")
    }

    /// Exactly what the script wrote to standard output.
    ///
    /// ```
    /// let response = cgi::test::TestRequest::get("/").call(|| ());
    /// assert_eq!(response.raw(), b"Status: 204 No Content\r\n\r\n");
    /// ```
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// What the script wrote to standard error (the server's error log).
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Id { id: u32 }
    /// let response = cgi::test::TestRequest::get("/?id=x").call(|_: cgi::Query<Id>| "found");
    /// assert!(response.log().contains("400 Invalid query string: field `id`"));
    /// ```
    pub fn log(&self) -> &str {
        &self.log
    }
}

/// A `multipart/form-data` body for [`TestRequest::multipart`], built part by part.
///
/// ```
/// use cgi::test::MultipartBody;
/// let body = MultipartBody::new()
///     .text("caption", "Sunset")
///     .file("photo", "sunset.jpg", "image/jpeg", &[0xFF, 0xD8, 0xFF]);
/// let response = cgi::test::TestRequest::post("/").multipart(body).call(|request: cgi::Request| {
///     request.header("content-type").unwrap_or_default().to_owned()
/// });
/// assert!(response.text().starts_with("multipart/form-data; boundary="));
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct MultipartBody {
    bytes: Vec<u8>,
}

impl MultipartBody {
    /// The boundary between parts (it appears in no test data we write).
    const BOUNDARY: &'static str = "cgikit-test-boundary-7f3a9c";

    /// An empty form.
    ///
    /// ```
    /// let body = cgi::test::MultipartBody::new();
    /// let response = cgi::test::TestRequest::post("/").multipart(body).call(|mut form: cgi::Multipart| {
    ///     form.next_field().map(|field| field.is_none().to_string())
    /// });
    /// assert_eq!(response.text(), "true");
    /// ```
    pub fn new() -> Self {
        MultipartBody::default()
    }

    /// Adds a text field.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Person { name: String }
    /// let body = cgi::test::MultipartBody::new().text("name", "Ada");
    /// let response = cgi::test::TestRequest::post("/")
    ///     .multipart(body)
    ///     .call(|form: cgi::MultipartForm<Person>| form.fields.name);
    /// assert_eq!(response.text(), "Ada");
    /// ```
    pub fn text(self, name: &str, value: &str) -> Self {
        self.part(
            &format!("Content-Disposition: form-data; name=\"{name}\""),
            value.as_bytes(),
        )
    }

    /// Adds a file field.
    ///
    /// ```
    /// use std::io::Read;
    /// let body = cgi::test::MultipartBody::new().file("doc", "a.txt", "text/plain", b"hello");
    /// let response = cgi::test::TestRequest::post("/").multipart(body).call(|mut form: cgi::Multipart| {
    ///     let mut field = form.next_field()?.expect("one field");
    ///     let mut text = format!("{:?} {:?}: ", field.file_name(), field.content_type());
    ///     field.read_to_string(&mut text).map_err(cgi::MultipartError::from_io)?;
    ///     Ok::<_, cgi::MultipartError>(text)
    /// });
    /// assert_eq!(response.text(), r#"Some("a.txt") Some("text/plain"): hello"#);
    /// ```
    pub fn file(self, name: &str, file_name: &str, content_type: &str, data: &[u8]) -> Self {
        let headers = format!(
            "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}"
        );
        self.part(&headers, data)
    }

    fn part(mut self, headers: &str, data: &[u8]) -> Self {
        self.bytes
            .extend_from_slice(format!("--{}\r\n{headers}\r\n\r\n", Self::BOUNDARY).as_bytes());
        self.bytes.extend_from_slice(data);
        self.bytes.extend_from_slice(b"\r\n");
        self
    }

    fn finish(mut self) -> Vec<u8> {
        self.bytes
            .extend_from_slice(format!("--{}--\r\n", Self::BOUNDARY).as_bytes());
        self.bytes
    }
}

/// An [`Upload`](crate::Upload) of `data` named `file_name` (type
/// `application/octet-stream`), for unit-testing code that takes one.
///
/// ```
/// let upload = cgi::test::upload("notes.txt", b"hello");
/// assert_eq!(upload.size(), 5);
/// assert_eq!(std::fs::read(upload.path()).unwrap(), b"hello");
/// ```
///
/// # Panics
///
/// If the temporary file cannot be written.
pub fn upload(file_name: &str, data: &[u8]) -> crate::Upload {
    crate::multipart::test_upload(file_name, data)
}
