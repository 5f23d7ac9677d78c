//! The `#[cgi::main]` attribute. Use it through the `cgikit` crate, as `#[cgi::main]`;
//! its documentation is there.

mod args;
mod expand;
mod signature;

use proc_macro::TokenStream;

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
/// - Every argument is an extractor: [`Query<T>`](cgi::Query), [`Cookies`](cgi::Cookies),
///   [`Method`](cgi::Method), [`HeaderMap`](cgi::HeaderMap), `Option<E>`,
///   `Result<E, E::Rejection>`, or your own [`FromRequestParts`](cgi::FromRequestParts) type.
///   The **last** argument may also read the body: [`Form<T>`](cgi::Form),
///   [`Request`](cgi::Request), or your own [`FromRequest`](cgi::FromRequest) type.
/// - The return type implements [`IntoResponse`](cgi::IntoResponse); no return type
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
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::main(args.into(), item.into()).into()
}
