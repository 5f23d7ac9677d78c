//! The bounds of the public impls that involve serde or an error type, as traits of their
//! own so that a missing derive is reported in words that name it.
//!
//! `impl<T: DeserializeOwned> FromRequest for Form<T>` reports a `T` without `Deserialize`
//! as "`Form<T>` is not an extractor": rustc cannot tell which of the two ways to be an
//! extractor failed, so it names neither. With `T: FormFields` instead, and `FormFields`
//! implemented for every `DeserializeOwned` through an impl marked
//! `#[diagnostic::do_not_recommend]`, rustc stops at `T: FormFields` and prints its
//! message: add `#[derive(serde::Deserialize)]`. Each trait means exactly its serde bound.
//! They are reached through `__private`, so errors call them `cgi::__private::...`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::response::IntoResponse;

/// `T` of a `Query<T>`: any [`DeserializeOwned`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from the query string: it needs `#[derive(serde::Deserialize)]`",
    label = "`{Self}` does not implement `serde::Deserialize`",
    note = "add `#[derive(serde::Deserialize)]` to the definition of `{Self}`; Cargo.toml needs `serde = {{ version = \"1\", features = [\"derive\"] }}`",
    note = "for a type from another crate, see whether that crate has a `serde` feature"
)]
pub trait QueryFields: DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> QueryFields for T {}

/// `T` of a `Form<T>` or `MultipartForm<T>`: any [`DeserializeOwned`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from a form: it needs `#[derive(serde::Deserialize)]`",
    label = "`{Self}` does not implement `serde::Deserialize`",
    note = "add `#[derive(serde::Deserialize)]` to the definition of `{Self}`; Cargo.toml needs `serde = {{ version = \"1\", features = [\"derive\"] }}`",
    note = "for a type from another crate, see whether that crate has a `serde` feature"
)]
pub trait FormFields: DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> FormFields for T {}

/// `T` of a `Json<T>` argument: any [`DeserializeOwned`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from JSON: it needs `#[derive(serde::Deserialize)]`",
    label = "`{Self}` does not implement `serde::Deserialize`",
    note = "add `#[derive(serde::Deserialize)]` to the definition of `{Self}`; Cargo.toml needs `serde = {{ version = \"1\", features = [\"derive\"] }}`",
    note = "for a type from another crate, see whether that crate has a `serde` feature"
)]
pub trait JsonInput: DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> JsonInput for T {}

/// `T` of a returned `Json<T>`: any [`Serialize`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as JSON: it needs `#[derive(serde::Serialize)]`",
    label = "`{Self}` does not implement `serde::Serialize`",
    note = "add `#[derive(serde::Serialize)]` to the definition of `{Self}`; Cargo.toml needs `serde = {{ version = \"1\", features = [\"derive\"] }}`",
    note = "for a type from another crate, see whether that crate has a `serde` feature"
)]
pub trait JsonOutput: Serialize {}

#[diagnostic::do_not_recommend]
impl<T: Serialize> JsonOutput for T {}

/// `E` of a returned `Result<R, E>`: any [`IntoResponse`]. An error type that is not one
/// (an `std::io::Error`, say) is told about `cgi::Error`, into which `?` converts it.
#[diagnostic::on_unimplemented(
    message = "a handler cannot return `Result<{R}, {Self}>`: `{Self}` is not a response",
    label = "use `Result<{R}, cgi::Error>`",
    note = "return `Result<{R}, cgi::Error>`: `?` turns any error into a `cgi::Error`, which answers `500 Internal Server Error` and writes the error to the server's log",
    note = "`cgi::Error::new(StatusCode::NOT_FOUND, \"No such page.\")` answers with a status and message of your choice"
)]
pub trait ErrorResponse<R>: IntoResponse {}

#[diagnostic::do_not_recommend]
impl<E: IntoResponse, R> ErrorResponse<R> for E {}
