//! # cgikit: CGI scripts in Rust, with one attribute
//!
//! A CGI script is a program a web server runs once per request: the request arrives in
//! environment variables (RFC 3875) and on standard input, and the response goes to
//! standard output. `#[cgi::main]` turns one ordinary function into such a program:
//!
//! ```no_run
//! use cgi::{Html, Query};
//!
//! #[derive(serde::Deserialize)]
//! struct Search {
//!     q: String,
//! }
//!
//! #[cgi::main]
//! fn search(Query(search): Query<Search>) -> Html<String> {
//!     Html(format!("<p>You searched for {}</p>", cgi::html::escape(&search.q)))
//! }
//! ```
//!
//! Build it, copy the binary into your server's `cgi-bin/`, and `/cgi-bin/search?q=rust`
//! answers. Run it in a terminal (`./search '/?q=rust'`) and it prints the CGI response it
//! would send.
//!
//! ## Arguments: extractors
//!
//! Each argument says what the function needs from the request, and cgikit parses it
//! before the function runs. Bad input never reaches your code: it gets a precise error
//! status and a one-line reason (also written to the server's error log).
//!
//! | argument | what it gives | bad input |
//! |---|---|---|
//! | [`Query<T>`] | the query string, decoded into `T` (serde) | `400`, naming the field |
//! | [`Form<T>`] | a submitted HTML form (`POST` body, or the query for `GET`) | `415` wrong type, `422` naming the field |
//! | [`Cookies`] | the cookies the browser sent | — |
//! | [`Method`], [`HeaderMap`] | the method, the request headers | — |
//! | [`Request`] | everything: meta-variables, headers, the body | — |
//! | `Option<E>` | `None` instead of a rejection | — |
//! | `Result<E, E::Rejection>` | the rejection, to handle yourself | — |
//!
//! Only the last argument may read the body ([`Form`], [`Request`]). Your own types
//! become extractors by implementing [`FromRequestParts`] or [`FromRequest`].
//!
//! ## Return values: responses
//!
//! Anything that implements [`IntoResponse`]: text (`&'static str`, `String`), [`Html`],
//! a [`StatusCode`], `(StatusCode, R)`, a [`Redirect`], `Result<R, E>`, `()` for
//! `204 No Content`, or a [`Response`] built with headers and cookies:
//!
//! ```
//! use cgi::{Cookies, Response, SameSite, SetCookie};
//!
//! #[cgi::main]
//! fn visit(cookies: Cookies) -> Response {
//!     let visits: u32 = cookies.get("visits").and_then(|n| n.parse().ok()).unwrap_or(0) + 1;
//!     Response::builder()
//!         .cookie(SetCookie::new("visits", visits.to_string()).http_only(true).same_site(SameSite::Lax))
//!         .body(format!("Visit number {visits}\n"))
//! }
//!
//! // The function stays an ordinary function: test it in-process, down to the CGI bytes.
//! let response = cgi::test::TestRequest::get("/").cookie("visits", "2").call(visit);
//! assert_eq!(response.text(), "Visit number 3\n");
//! assert_eq!(response.header("set-cookie"), Some("visits=3; HttpOnly; SameSite=Lax"));
//! ```
//!
//! ## Safe by default
//!
//! - Bodies are limited (2 MiB; `#[cgi::main(max_body = N)]`), read exactly to
//!   `CONTENT_LENGTH` and never past it, and drained before answering.
//! - A header value with CR or LF (a response-splitting attempt) turns the response into a
//!   generic `500`; it can never reach the output.
//! - A panic in your function answers a generic `500`; the message goes to the server's
//!   error log only.
//! - `HTTP_PROXY` (httpoxy) is removed from the process environment.
//! - Variables that are not UTF-8 never make the script panic.
//!
//! ## Without the macro
//!
//! [`cgi::run`](run) takes any [`Handler`] (a function whose arguments are extractors):
//! `fn main() { cgi::run(search) }`.

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
/// - The function is not `async`, not generic, not a method. It may be called `main`.
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
    Body, BodyRejection, Bytes, Cookies, Error, Form, FormRejection, FromRequest, FromRequestParts,
    Handler, HeaderMap, Html, IntoResponse, Limits, LocalRedirect, Method, PathInfo,
    PathInfoRejection, Query, QueryRejection, Redirect, RemoteAddr, RemoteAddrRejection, Request,
    RequestBody, Response, ResponseBuilder, SameSite, SetCookie, StatusCode, StringRejection, html,
    http, run, run_with, test,
};

#[cfg(feature = "json")]
#[doc(inline)]
pub use cgi_runtime::{Json, JsonRejection};

/// What `#[cgi::main]` expands to. Not a public API: it may change in any release.
#[doc(hidden)]
pub use cgi_runtime::__private;
