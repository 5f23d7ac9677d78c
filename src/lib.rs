//! # cgikit: CGI scripts in Rust, with one attribute
//!
//! A CGI script is a program a web server runs once per request: the request arrives in
//! environment variables (RFC 3875 calls them meta-variables) and on standard input, and
//! the response goes to standard output. `#[cgi::main]` turns one ordinary function into
//! such a program.
//!
//! This page is a tour, from the smallest script to JSON APIs and downloads. Every example
//! on it is compiled and run by `cargo test`.
//!
//! ## 1. Hello, world
//!
//! ```no_run
//! #[cgi::main]
//! fn hello() -> &'static str {
//!     "Hello, world!\n"
//! }
//! ```
//!
//! `cargo build --release`, copy the binary into your server's `cgi-bin/`, and
//! `/cgi-bin/hello` answers. Run it in a terminal instead and it prints the response it
//! would send, `Status` line and all:
//!
//! ```text
//! Status: 200 OK
//! Content-Type: text/plain; charset=utf-8
//! Content-Length: 14
//!
//! Hello, world!
//! ```
//!
//! ## 2. Reading the request: extractors
//!
//! Each argument says what the function needs, and cgikit parses it before the function
//! runs. Bad input never reaches your code: it gets a precise status and a one-line reason
//! (also written to the server's error log).
//!
//! ```
//! use cgi::{Html, Query};
//!
//! #[derive(serde::Deserialize)]
//! struct Search {
//!     q: String,
//!     page: Option<u32>,
//! }
//!
//! #[cgi::main]
//! fn search(Query(search): Query<Search>) -> Html<String> {
//!     let q = cgi::html::escape(&search.q);
//!     Html(format!("<p>Results for {q}, page {}</p>", search.page.unwrap_or(1)))
//! }
//!
//! // The function is still an ordinary function; the test kit runs it through the
//! // real request parsing and CGI output:
//! let response = cgi::test::TestRequest::get("/?q=%3Cb%3E").call(search);
//! assert_eq!(response.text(), "<p>Results for &lt;b&gt;, page 1</p>");
//! let response = cgi::test::TestRequest::get("/?page=2").call(search);
//! assert_eq!(response.status(), cgi::StatusCode::BAD_REQUEST);
//! assert_eq!(response.text(), "Invalid query string: missing field `q`\n");
//! ```
//!
//! | argument | what it gives | bad input |
//! |---|---|---|
//! | [`Query<T>`] | the query string, decoded into `T` (serde) | `400`, naming the field |
//! | [`Form<T>`] | a submitted HTML form (`POST` body, or the query for `GET`) | `415` not a form, `422` naming the field |
//! | [`Json<T>`] | a JSON body (feature `json`) | `415`, `400` bad syntax, `422` naming the field |
//! | `String`, `Vec<u8>`, [`Bytes`] | the whole body | `415`/`400` not UTF-8 (`String`) |
//! | [`Multipart`], [`MultipartForm<T>`] | an upload form, streamed | `415`, `400` malformed, `413` over a limit |
//! | [`Cookies`] | the cookies the browser sent | — |
//! | [`PathInfo`] | the path after the script's name | `400` not UTF-8 |
//! | [`RemoteAddr`] | the client's address and port | `500` if the server set none |
//! | [`Method`], [`HeaderMap`] | the method, the request headers | — |
//! | [`Request`] | everything: meta-variables, headers, the body | — |
//! | `http::Request<Vec<u8>>` | the same, as the `http` crate's type | — |
//! | `Option<E>` | `None` instead of a rejection | — |
//! | `Result<E, E::Rejection>` | the rejection, for you to handle | — |
//!
//! Only the last argument may read the body (`Form`, `Json`, `String`, `Request`...);
//! the compiler says so otherwise. Your own types become extractors by implementing
//! [`FromRequestParts`] (reads the head) or [`FromRequest`] (may read the body).
//!
//! ## 3. Forms
//!
//! ```
//! use cgi::{Form, Html, Method, Redirect, Response, IntoResponse};
//!
//! #[derive(serde::Deserialize)]
//! struct Comment {
//!     author: String,
//!     text: String,
//! }
//!
//! #[cgi::main]
//! fn guestbook(method: Method, form: Option<Form<Comment>>) -> Response {
//!     match (method, form) {
//!         (Method::POST, Some(Form(comment))) => {
//!             // ... store comment.author and comment.text ...
//!             # let _ = (comment.author, comment.text);
//!             Redirect::to("/cgi-bin/guestbook").into_response() // post/redirect/get
//!         }
//!         _ => Html(r#"<form method="post"><input name="author"><textarea name="text"></textarea><button>Sign</button></form>"#)
//!             .into_response(),
//!     }
//! }
//!
//! let response = cgi::test::TestRequest::post("/").form(&[("author", "Ada"), ("text", "Hi!")]).call(guestbook);
//! assert_eq!(response.status(), cgi::StatusCode::SEE_OTHER);
//! ```
//!
//! ## 4. Answering: responses
//!
//! Return anything that implements [`IntoResponse`]: text (`&'static str`, `String`),
//! [`Html`], [`Json`], a [`StatusCode`], `(StatusCode, R)`, a [`Redirect`] (303, 302, 307,
//! 308) or a [`LocalRedirect`], `Result<R, E>`, `()` for `204 No Content`,
//! `http::Response<B>`, or a [`Response`] built with headers, cookies, and a body that
//! may be streamed from a file:
//!
//! ```
//! use std::time::Duration;
//! use cgi::{Cookies, Response, SameSite, SetCookie};
//!
//! #[cgi::main]
//! fn visit(cookies: Cookies) -> Response {
//!     let visits: u32 = cookies.get("visits").and_then(|n| n.parse().ok()).unwrap_or(0) + 1;
//!     Response::builder()
//!         .header("Cache-Control", "no-store")
//!         .cookie(
//!             SetCookie::new("visits", visits.to_string())
//!                 .max_age(Duration::from_secs(30 * 24 * 3600))
//!                 .http_only(true)
//!                 .same_site(SameSite::Lax),
//!         )
//!         .body(format!("Visit number {visits}\n"))
//! }
//!
//! let response = cgi::test::TestRequest::get("/").cookie("visits", "2").call(visit);
//! assert_eq!(response.text(), "Visit number 3\n");
//! assert_eq!(response.header("set-cookie"), Some("visits=3; Max-Age=2592000; HttpOnly; SameSite=Lax"));
//! ```
//!
//! Downloads: `.attachment("report.csv")` sets a safe `Content-Disposition`, and a
//! [`std::fs::File`] (or any reader, with [`Body::from_reader`]) as the body is streamed
//! in chunks, so memory stays small whatever the file's size.
//!
//! ## 5. Errors
//!
//! Return `Result<T, cgi::Error>` and use `?`. A rejection keeps its status; any other
//! error becomes a generic `500` whose details go to the server's error log only; and
//! [`Error::new`] answers with your status and message:
//!
//! ```
//! use cgi::{Error, PathInfo, StatusCode};
//!
//! #[cgi::main]
//! fn page(path: PathInfo) -> Result<String, Error> {
//!     let Some(segments) = path.checked_segments() else {
//!         return Err(Error::new(StatusCode::BAD_REQUEST, "That is not a page name."));
//!     };
//!     let text = std::fs::read_to_string(format!("/srv/pages/{}.txt", segments.join("/")))?;
//!     Ok(text)
//! }
//!
//! let response = cgi::test::TestRequest::get("/").var("PATH_INFO", "/../secret").call(page);
//! assert_eq!(response.status(), StatusCode::BAD_REQUEST);
//! ```
//!
//! ## 6. JSON
//!
//! ```
//! use cgi::Json;
//!
//! #[derive(serde::Deserialize)]
//! struct Order { item: String, quantity: u32 }
//!
//! #[derive(serde::Serialize)]
//! struct Receipt { item: String, quantity: u32, total_cents: u64 }
//!
//! #[cgi::main]
//! fn order(Json(order): Json<Order>) -> Json<Receipt> {
//!     let total_cents = 250 * u64::from(order.quantity);
//!     Json(Receipt { item: order.item, quantity: order.quantity, total_cents })
//! }
//!
//! let response = cgi::test::TestRequest::post("/")
//!     .header("Content-Type", "application/json")
//!     .body(r#"{"item": "tea", "quantity": 2}"#)
//!     .call(order);
//! assert_eq!(response.text(), r#"{"item":"tea","quantity":2,"total_cents":500}"#);
//! ```
//!
//! ## 7. Uploads
//!
//! A form with `enctype="multipart/form-data"` sends files. [`MultipartForm<T>`] gives its
//! text fields in a struct and its files as [`Upload`]s, received into temporary files
//! that are deleted unless you keep them; [`Multipart`] streams the parts one by one.
//! Either way memory stays at one buffer whatever the file size. Raise the body limit:
//!
//! ```
//! use cgi::{Html, MultipartForm};
//!
//! #[derive(serde::Deserialize)]
//! struct Homework {
//!     student: String,
//! }
//!
//! #[cgi::main(max_body = 20 << 20)]
//! fn hand_in(mut form: MultipartForm<Homework>) -> Result<Html<String>, cgi::Error> {
//!     let Some(file) = form.take_file("work") else {
//!         return Err(cgi::Error::new(cgi::StatusCode::UNPROCESSABLE_ENTITY, "Attach your work."));
//!     };
//!     let size = file.size();
//!     // file.persist(format!("/srv/homework/{}.pdf", ...))?;   // keep it; else it is deleted
//!     Ok(Html(format!("<p>Thanks, {}: {size} bytes.</p>", cgi::html::escape(&form.fields.student))))
//! }
//!
//! let body = cgi::test::MultipartBody::new().text("student", "Ada").file("work", "hw.pdf", "application/pdf", b"%PDF");
//! let response = cgi::test::TestRequest::post("/").multipart(body).call(hand_in);
//! assert_eq!(response.text(), "<p>Thanks, Ada: 4 bytes.</p>");
//! ```
//!
//! ## 8. Testing and trying
//!
//! - In-process: [`test::TestRequest`] builds the environment a server would and runs
//!   your function through the very code that runs in production.
//! - In a terminal: run the binary. With no CGI variables in its environment it answers
//!   one request built from its arguments, curl-style: `./search '/?q=rust'`,
//!   `./search q=rust`, `./search -d 'name=Ada' /sign`; `--help` lists them.
//! - In a browser: `cargo run -- --serve` starts a development web server on
//!   <http://127.0.0.1:8000/> that runs the script as a CGI program for each request, as a
//!   real server would (`--trace` shows the CGI variables and the script's answer).
//!
//! ## 9. Safe by default
//!
//! - Bodies are limited (2 MiB; `#[cgi::main(max_body = N)]`; uploads also by part count,
//!   field count, file and field size, part headers: [`Limits`]), read exactly to
//!   `CONTENT_LENGTH` and never past it, and drained before answering (servers like
//!   nginx + fcgiwrap turn an early answer into a 502).
//! - A header value with CR or LF (a response-splitting attempt) turns the response into a
//!   generic `500`; it can never reach the output. So do invalid cookies and headers that
//!   belong to the server (`Connection`, `Transfer-Encoding`...).
//! - A panic in your function answers a generic `500`; the message goes to the server's
//!   error log, one line, never to the client.
//! - `HTTP_PROXY` (httpoxy) is removed from the process environment, so HTTP clients and
//!   child processes do not use a proxy a client chose.
//! - Variables that are not UTF-8 never make the script panic.
//!
//! ## 10. Without the macro
//!
//! [`cgi::run`](run) takes any [`Handler`] (a function whose arguments are extractors):
//! `fn main() { cgi::run(search) }`; [`run_with`] also takes [`Limits`]. Both serve
//! FastCGI and SCGI too (section 11), so the handler must be `Clone + Sync`, as functions
//! and closures without non-shareable captures are.
//!
//! ## 11. When CGI is not enough: FastCGI and SCGI
//!
//! A CGI server starts your program for every request. When that becomes too slow, run
//! the *same binary* as a long-lived process that answers many requests, behind the same
//! web server. Nothing in your code changes: the binary `#[cgi::main]` generates speaks
//! FastCGI and SCGI too.
//!
//! ```sh
//! ./greet --fastcgi unix:/run/greet/greet.sock   # or --fastcgi 127.0.0.1:9000
//! ./greet --scgi 127.0.0.1:4000
//! ./greet --fastcgi 127.0.0.1:9000 --workers 32  # answer up to 32 requests at once (default 16)
//! ```
//!
//! It prints `greet: serving FastCGI on unix:/run/greet/greet.sock with 16 workers` and
//! runs until SIGTERM (or Ctrl-C), which finishes the requests in flight and exits. Run it
//! as a service (systemd, runit...) under an unprivileged user. Started by a process
//! manager with a listening socket as standard input (lighttpd's `bin-path`, Apache's
//! mod_fcgid, `spawn-fcgi`), it serves FastCGI on that socket by itself.
//!
//! **nginx**, FastCGI:
//!
//! ```nginx
//! location /greet {
//!     fastcgi_split_path_info ^(/greet)(.*)$;
//!     include fastcgi_params;
//!     fastcgi_param SCRIPT_NAME $fastcgi_script_name;
//!     fastcgi_param PATH_INFO   $fastcgi_path_info;
//!     fastcgi_param HTTP_PROXY  "";   # httpoxy: nginx forwards a client's Proxy header otherwise
//!     fastcgi_pass unix:/run/greet/greet.sock;
//! }
//! ```
//!
//! **nginx**, SCGI (`./greet --scgi unix:/run/greet/greet.sock`; nginx has no
//! `scgi_split_path_info`, so the location's own captures split the path):
//!
//! ```nginx
//! location ~ ^(?<script_name>/greet)(?<script_path_info>/.*)?$ {
//!     include scgi_params;
//!     scgi_param SCRIPT_NAME $script_name;
//!     scgi_param PATH_INFO   $script_path_info;
//!     scgi_param HTTP_PROXY  "";
//!     scgi_pass unix:/run/greet/greet.sock;
//! }
//! ```
//!
//! **lighttpd**, which starts the program itself (as its own user; its stderr goes to
//! lighttpd's stderr, not `server.errorlog`) and stops it with SIGTERM:
//!
//! ```lighttpd
//! server.modules += ( "mod_fastcgi" )
//! fastcgi.server += ( "/greet" => ((
//!     "bin-path"    => "/usr/lib/cgi-bin/greet",
//!     "socket"      => "/run/lighttpd/greet.sock",
//!     "max-procs"   => 1,
//!     "check-local" => "disable",
//! )))
//! ```
//!
//! **Apache httpd**, mod_proxy_fcgi (`a2enmod proxy_fcgi setenvif`), with the program
//! running as a service (`greet --fastcgi 127.0.0.1:9000`), and `PATH_INFO` asked for:
//!
//! ```apache
//! ProxyFCGIBackendType GENERIC
//! SetEnvIf Request_URI "^/greet" proxy-fcgi-pathinfo=unescape
//! ProxyPass "/greet" "fcgi://127.0.0.1:9000"
//! ```
//!
//! With Unix sockets (`"unix:/run/greet.sock|fcgi://greet"`), give each program its own
//! name after `fcgi://`: Apache pools connections by that name, and sends requests for one
//! program to another's socket when two share it.
//!
//! (mod_fcgid, which starts programs itself with a listening socket as standard input,
//! should work the same way; it is not tested here.)
//!
//! What stays the same: every request gets a fresh [`Request`] with its own variables,
//! cookies and body limits; a panic answers that request `500` and the process goes on;
//! uploads' temporary files are removed after each request. What to watch:
//!
//! - `static`s, `thread_local!`s and leaked memory now live across requests (that is
//!   where a cache can go, behind a `Mutex`, and where a bug can pile up);
//! - requests run at the same time on worker threads: shared state needs `Mutex` or
//!   atomics, and `std::env::set_var` affects every request (it is also unsound with
//!   threads: don't);
//! - `fastcgi_param` and `SetEnv` values are request variables, not the process's
//!   environment: configuration your code reads with `std::env::var` goes in the
//!   service's environment (systemd `Environment=`, lighttpd `bin-environment`);
//! - a [`LocalRedirect`] is a CGI feature: nginx and lighttpd send the client a `302`
//!   instead, and Apache's mod_proxy_fcgi an empty `200`; use a [`Redirect`];
//! - a new build takes effect when the process restarts (SIGTERM is a graceful stop);
//! - keep `panic = "unwind"` (the default) in your release profile: with `abort`, one
//!   panic ends the process and every request in it.
//!
//! ## Features
//!
//! - `json` (on by default): [`Json`], with `serde_json`.
//! - `serve` (on by default): `--serve`, the development web server (with `tiny_http`), in
//!   debug builds (`cargo run -- --serve`). Release builds, the ones you deploy, leave it
//!   out: binding its socket and process functions would cost every request about 13% more
//!   start-up instructions.
//! - `tokio` (off): `#[cgi::main] async fn` and async handlers for [`run`]; the
//!   `service` module: any tower service (an axum `Router`, unchanged) deployed as the
//!   script in every mode (`cgi::service::run`), and a handler as a tower service, to serve
//!   with axum or hyper when a script outgrows CGI (`cgi::service::from_handler`). Adds
//!   tokio (the `rt` and `sync` features only), `tower-service` and `http-body`; a
//!   script that leaves it off compiles and starts as before.

#![forbid(unsafe_code)]

/// Turns a function into a complete CGI program.
///
/// The function stays as written, an ordinary function you can call and unit-test; the
/// attribute adds a `fn main()` that reads the request, extracts each argument in order,
/// calls the function, and writes what it returns as the CGI response.
///
/// ```no_run
/// use cgi::{Html, Query};
///
/// #[derive(serde::Deserialize)]
/// struct Greeting {
///     name: String,
/// }
///
/// #[cgi::main]
/// fn greet(Query(greeting): Query<Greeting>) -> Html<String> {
///     Html(format!("<p>Hello, {}!</p>", cgi::html::escape(&greeting.name)))
/// }
/// ```
///
/// # Rules
///
/// - Every argument is an extractor: [`Query<T>`](crate::Query), [`Cookies`],
///   [`Method`], [`HeaderMap`], `Option<E>`,
///   `Result<E, E::Rejection>`, or your own [`FromRequestParts`] type.
///   The **last** argument may also read the body: [`Form<T>`](crate::Form),
///   [`Request`], or your own [`FromRequest`] type.
/// - The return type implements [`IntoResponse`]; no return type
///   answers `204 No Content`.
/// - The function is not generic, not a method. It may be called `main`. It may be an
///   `async fn` with the `tokio` feature: the arguments are extracted first, then it is
///   awaited on a current-thread tokio runtime, built only for it (see `cgi::service` for
///   how FastCGI and SCGI run it). Without the feature, the compile error names it.
///
/// A mistake gets one compile error, at the argument or return type at fault, saying what
/// would work.
///
/// # Arguments
///
/// - `max_body = N`: the largest body accepted, in bytes (default 2 MiB); a larger one is
///   answered with `413 Content Too Large`. Any constant expression: `max_body = 10 << 20`.
/// - `crate = "path"`: where cgikit is, if the dependency is renamed
///   (`my_cgi = { package = "cgikit", ... }` → `crate = "my_cgi"`).
///
/// ```no_run
/// #[cgi::main(max_body = 64 * 1024)]
/// fn small(request: cgi::Request) -> String {
///     format!("{} bytes", request.body().len())
/// }
/// ```
///
/// # What it expands to
///
/// Roughly this, written by hand (the real expansion checks each argument separately, so
/// errors point at the argument):
///
/// ```no_run
/// use cgi::{Html, Query};
/// # #[derive(serde::Deserialize)] struct Greeting { name: String }
///
/// fn greet(Query(greeting): Query<Greeting>) -> Html<String> {
///     Html(format!("<p>Hello, {}!</p>", cgi::html::escape(&greeting.name)))
/// }
///
/// fn main() {
///     cgi::run_with(cgi::Limits::default(), greet);
/// }
/// ```
#[doc(inline)]
pub use cgi_macros::main;

#[doc(inline)]
pub use cgi_runtime::{
    Body, BodyRejection, Bytes, Cookies, Csrf, Error, Field, Form, FormRejection, FromRequest,
    FromRequestParts, Handler, HeaderMap, Html, IntoResponse, Limits, LocalRedirect, Method,
    Multipart, MultipartError, MultipartForm, PathInfo, PathInfoRejection, Query, QueryRejection,
    Redirect, RemoteAddr, RemoteAddrRejection, Request, RequestBody, Response, ResponseBuilder,
    SameSite, SetCookie, StatusCode, StringRejection, Upload, html, http, run, run_with, test,
};

#[cfg(feature = "json")]
#[doc(inline)]
pub use cgi_runtime::{Json, JsonRejection};

#[cfg(feature = "tokio")]
#[doc(inline)]
pub use cgi_runtime::service;

/// What `#[cgi::main]` expands to. Not a public API: it may change in any release.
#[doc(hidden)]
pub use cgi_runtime::__private;
