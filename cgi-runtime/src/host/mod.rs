//! The host's side of CGI: what a web server does around a script. It builds the
//! meta-variables from an HTTP request ([`cgi_variables`]) and reads the script's output
//! back ([`cgi_output`]).
//!
//! The test kit, the terminal request and the development server are all hosts of this
//! kind; they differ only in their [`Host`] settings, so a request means the same thing
//! to a script whichever of them runs it.

pub(crate) mod cgi_output;
mod cgi_variables;

// What only the development server uses (it is left out of release builds).
#[cfg(any(all(feature = "serve", debug_assertions), feature = "tokio"))]
pub(crate) use cgi_variables::HeaderPolicy;
#[cfg(all(feature = "serve", debug_assertions))]
pub(crate) use cgi_variables::first_invalid_header_name;
pub(crate) use cgi_variables::{Host, HttpRequest, cgi_variables};
