//! The runtime of [cgikit](https://docs.rs/cgikit): everything a `#[cgi::main]` script
//! runs. Use it through the `cgikit` crate (`cgi::...`), which re-exports all of it and
//! documents it.
//!
//! How it is laid out, in the order a request meets it:
//!
//! - [`run`](crate::run()) (`run.rs`): the process; picks the mode from the environment and
//!   the command line (`command_line.rs`: one parser, and `--help`, for every mode).
//! - `exchange.rs`: the core, a pure function of the meta-variables, a body reader and an
//!   output writer: builds the [`Request`] (`request/`, with its [`RequestBody`]), extracts
//!   the arguments (`extract/`, `multipart/`; what they answer on bad input is in
//!   `rejection.rs`), calls the handler, writes the [`Response`] (`response/`).
//! - What `#[cgi::main]`'s expansion calls (`macro_support/`), shaped so that each mistake
//!   gets one compile error, at the argument at fault, naming the fix; `bounds.rs` names
//!   the serde bounds of the public impls for the same reason.
//! - Hosts of the core: real CGI (`run.rs`), FastCGI and SCGI (`long_lived/`, with the
//!   `--processes` pool in `long_lived/supervisor/`), and the
//!   made-up requests of the test kit ([`test`](mod@test)), the terminal (`terminal.rs`) and the
//!   development server (`dev_server/`: `child.rs` runs the script, `inspector.rs` shows
//!   each exchange at `/_cgi/`), which build their CGI variables and read CGI output back
//!   through `host/`, as a web server does.
//! - Feature `tokio`: `executor.rs` (the runtime async handlers and services run on) and
//!   `service/` (a tower service as the script; a handler as a tower service).

#![forbid(unsafe_op_in_unsafe_fn)]

// The bounds of the public impls, named for the compile errors of a missing derive.
mod bounds;
mod command_line;
mod csrf;
// The development server is for `cargo run`: left out of release builds, whose start-up
// would otherwise pay for binding its ~50 socket and process functions at every request.
#[cfg(all(feature = "serve", debug_assertions))]
mod dev_server;
mod error;
mod exchange;
// The tokio runtime of `async` handlers and services.
#[cfg(feature = "tokio")]
mod executor;
mod extract;
mod handler;
mod host;
pub mod html;
mod http_compat;
#[cfg(feature = "json")]
mod json;
mod limits;
// FastCGI and SCGI: a long-lived process behind the same web servers.
#[cfg(unix)]
mod long_lived;
mod macro_support;
mod multipart;
mod pending_cookies;
mod percent;
mod rejection;
mod request;
mod response;
mod run;
#[cfg(feature = "tokio")]
pub mod service;
#[cfg(feature = "sessions")]
mod session;
mod terminal;
pub mod test;

pub use csrf::Csrf;
pub use error::Error;
pub use extract::{
    Contextual, Cookies, Form, FromRequest, FromRequestParts, PathInfo, Query, RemoteAddr,
};
pub use handler::Handler;
#[cfg(feature = "json")]
pub use json::Json;
pub use limits::Limits;
pub use multipart::{Field, Multipart, MultipartForm, Upload};
#[cfg(feature = "json")]
pub use rejection::JsonRejection;
pub use rejection::{
    BodyRejection, FormRejection, MultipartError, PathInfoRejection, QueryRejection,
    RemoteAddrRejection, StringRejection,
};
pub use request::{Request, RequestBody};
pub use response::{
    Body, Html, IntoResponse, LocalRedirect, Redirect, Response, ResponseBuilder, SameSite,
    SetCookie,
};
pub use run::{run, run_with};
#[cfg(feature = "sessions")]
pub use session::{Flash, FlashMessage, Session};

pub use bytes::Bytes;
pub use http;
pub use http::{HeaderMap, Method, StatusCode};

/// What `#[cgi::main]` expands to. Not a public API: it may change in any release.
///
/// The expansion names nothing else of this crate (only `__private::...`), so the public
/// items can move or be renamed without breaking it.
#[doc(hidden)]
// Each runs once per process: a large `Err` costs nothing worth a `Box`.
#[allow(clippy::result_large_err)]
pub mod __private {
    #[cfg(feature = "tokio")]
    pub use crate::executor::block_on;
    pub use crate::run::run_process as run;
    pub use crate::{IntoResponse, Limits, Request, Response};
    #[cfg(not(feature = "tokio"))]
    pub use without_tokio::block_on;
    // Reachable here so that compile errors call them `cgi::__private::ViaParts`, not by
    // where they are defined.
    pub use crate::extract::private::{ViaParts, ViaRequest};

    // Extraction and the checks that make a mistake's error name its fix; each explained
    // where it is defined.
    pub use crate::bounds::{ErrorResponse, FormFields, JsonInput, JsonOutput, QueryFields};
    pub use crate::macro_support::*;

    /// One FastCGI connection over bytes: the web server's records in, the answer's
    /// records out, and `Err` with the reason when the conversation broke off. Only for
    /// the fuzz target (`fuzz/fuzz_targets/fastcgi_records.rs`): cargo-fuzz builds with
    /// `--cfg fuzzing`, and other builds leave it out.
    #[cfg(all(unix, fuzzing))]
    pub fn fastcgi_conversation(
        input: &[u8],
        limits: &crate::Limits,
        handler: &(dyn Fn(crate::Request) -> crate::Response + Sync),
    ) -> (Vec<u8>, Result<(), String>) {
        let (output, ending) = crate::long_lived::fastcgi_conversation(input, 1, limits, handler);
        (output, ending.map(drop).map_err(|error| error.to_string()))
    }

    /// What `#[cgi::main] async fn` calls without the `tokio` feature: its bound fails,
    /// with a message that names the feature.
    #[cfg(not(feature = "tokio"))]
    mod without_tokio {
        /// Implemented by nothing: only the `tokio` feature runs futures.
        #[diagnostic::on_unimplemented(
            message = "an `async fn` under `#[cgi::main]` needs cgikit's `tokio` feature",
            label = "async handlers run on tokio, which this build leaves out",
            note = "enable it in Cargo.toml: `cgikit = {{ version = \"0.1\", features = [\"tokio\"] }}`; or remove `async` (blocking I/O is fine in a CGI script)"
        )]
        pub trait TokioFeature: core::future::Future {
            /// Never called: there is no implementation.
            fn run(self) -> Self::Output;
        }

        /// Never called: `F: TokioFeature` does not hold.
        pub fn block_on<F: TokioFeature>(future: F) -> F::Output {
            future.run()
        }
    }
}
