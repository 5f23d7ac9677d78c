//! Tower services as scripts, and handlers as tower services (feature `tokio`).
//!
//! [`run`] deploys any `tower::Service<http::Request<Incoming>>` (an axum `Router`,
//! unchanged) in every mode a `#[cgi::main]` script has: CGI, FastCGI, SCGI, the terminal
//! request, `--serve` and the test kit ([`TestRequest::call_service`](crate::test::TestRequest::call_service)). It gets the same
//! guarantees as a handler: the body limit (`413` after a bounded drain), no body for
//! HEAD, the response's headers checked (an invalid one gives a generic `500` and a line in
//! the error log), a panic answered with a generic `500`, httpoxy, the same log lines.
//!
//! [`from_handler`] goes the other way: a cgikit handler as a tower service, to mount in
//! an axum `Router` or serve with `axum::serve` or hyper, when a script outgrows CGI and
//! FastCGI.
//!
//! # What the service sees
//!
//! The request's URI is the full path the client asked for (`/cgi-bin/app/items/7?a=1`),
//! as Go's `cgi.Serve` gives it. The request's extensions add what CGI knows besides:
//! [`ScriptName`] (the mount point, `/cgi-bin/app`), [`PathInfo`](crate::PathInfo) (the
//! rest, `/items/7`, when there is one), [`RemoteAddr`](crate::RemoteAddr) (the client,
//! when the server passed it) and [`CgiVariables`] (every variable as passed). axum's
//! `ConnectInfo` is not there (no socket is): take `Extension<cgi::RemoteAddr>`.
//!
//! Two ways to route an app deployed at `/cgi-bin/app`:
//!
//! - Nest it under the script's path: `Router::new().nest("/cgi-bin/app", app)`. axum
//!   then answers the app's `/` route at exactly `/cgi-bin/app` (not
//!   `/cgi-bin/app/`), as it does for every nested router.
//! - Or wrap it in [`StripScriptName`]: it then routes on the path below the script,
//!   whatever that path is. This is the way to write an app that does not care where it
//!   is mounted: routes relative to the script, links built with [`ScriptName::link`].
//!
//! ```no_run
//! use axum::{Extension, Router, routing::get};
//! use cgi::service::{ScriptName, StripScriptName};
//!
//! async fn home(Extension(script): Extension<ScriptName>) -> String {
//!     format!("see {}", script.link("/items/7"))
//! }
//!
//! fn main() {
//!     let app = Router::new().route("/", get(home));
//!     cgi::service::run(StripScriptName::new(app));
//! }
//! ```
//!
//! # How it runs
//!
//! The request's body is read whole (within the limit) before the service is called, as
//! the [`Incoming`] body. The service is called on cgikit's tokio runtime: under CGI a
//! current-thread runtime on the main thread, under FastCGI and SCGI one per process
//! whose worker threads each run one request at a time (`--workers N` requests at once).
//! Its response's body streams: each frame is written as it comes (so server-sent events
//! reach the client one by one, through servers that do not buffer), with bounded memory.
//! A body that fails or panics midway ends the response there, with a line in the error
//! log: the status and headers are out already.

mod extensions;
mod from_handler;
mod handler_output;
mod incoming;
mod script;
mod strip;

use tower_service::Service;

pub use extensions::{CgiVariables, ScriptName};
pub use from_handler::{HandlerService, from_handler};
pub use handler_output::ResponseBody;
pub use incoming::Incoming;
pub(crate) use script::{BoxError, Shared, answer};
pub use strip::StripScriptName;

use crate::limits::Limits;
use crate::run::run_process;

/// Runs a tower service as the script: CGI, FastCGI, SCGI, the terminal request or
/// `--serve`, as `cgi::run` does for a handler. An axum `Router` works unchanged.
///
/// The service must be `Clone + Send` (each request gets a clone); its response body any
/// `http_body::Body` whose errors box into `Box<dyn Error + Send + Sync>`.
///
/// ```no_run
/// use axum::{Router, routing::get};
///
/// fn main() {
///     let app = Router::new()
///         .route("/cgi-bin/app", get(|| async { "Hello from axum\n" }))
///         .route("/cgi-bin/app/items/{id}", get(|axum::extract::Path(id): axum::extract::Path<u32>| async move {
///             format!("item {id}\n")
///         }));
///     cgi::service::run(app);
/// }
/// ```
#[allow(clippy::needless_doctest_main)] // showing `main` is the point
pub fn run<S, ResBody>(service: S)
where
    S: Service<http::Request<Incoming>, Response = http::Response<ResBody>> + Clone + Send,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    run_with(Limits::default(), service);
}

/// [`run`] with other [`Limits`] (a larger body limit, say).
///
/// ```no_run
/// use axum::{Router, routing::post};
///
/// fn main() {
///     let app = Router::new().route("/", post(|body: String| async move { format!("{} bytes\n", body.len()) }));
///     cgi::service::run_with(cgi::Limits::default().max_body(10 << 20), app);
/// }
/// ```
#[allow(clippy::needless_doctest_main)] // showing `main` is the point
pub fn run_with<S, ResBody>(limits: Limits, service: S)
where
    S: Service<http::Request<Incoming>, Response = http::Response<ResBody>> + Clone + Send,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    // Never dropped: the process ends when this returns, and tearing an app down (an axum
    // Router's routes) would cost a CGI request about 4% more start-up instructions.
    let shared = std::mem::ManuallyDrop::new(Shared::new(service));
    // Called from a `#[tokio::main]`: the service is called, and its body read, on a
    // thread outside that runtime (tokio does not nest them).
    crate::executor::outside_runtime(|| {
        run_process(limits, |request| answer(&shared, request));
    });
}
