//! Which arguments may come before the last: those that read only the request's head.
//!
//! Two checks, each with its own message, on an argument of kind `M` before a last
//! argument of kind `L` and type `Last`:
//!
//! | `M` | `L` | |
//! |---|---|---|
//! | `ViaParts` | any | fine |
//! | `ViaRequest` | `ViaParts` | [`BeforeLast`]: it must be the last argument |
//! | `ViaRequest` | `ViaRequest` | [`OneBody`]: both read the body, keep one |
//!
//! Telling the last two apart matters: "must be the last argument" for two body
//! extractors sends the student round in circles, whichever comes last.
//!
//! Every impl that can fail is marked `#[diagnostic::do_not_recommend]`, so rustc reports
//! the root trait with its message rather than a marker inside. The rules are impls on `M`
//! and `L` themselves (`M: MayPrecede<T, L>`), never on `T`: while `M` or `L` is still
//! unknown, rustc waits instead of guessing it from the only impl that fits, and a type
//! that is no extractor at all (`M` never known) gets only `FromRequest`'s error.

use crate::extract::FromRequestParts;
use crate::extract::private::{ViaParts, ViaRequest};
use crate::request::Request;
use crate::response::{IntoResponse, Response};

/// `Self`, of kind `M`, may come before a last argument of kind `L`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` reads the request body, so it must be the last argument",
    label = "reads the body: make it the last argument",
    note = "only the last argument may read the body (`Form<T>`, `Json<T>`, `Multipart`, `String`, `Vec<u8>`, `Request`, ...)",
    note = "the arguments before it may be `Query<T>`, `Cookies`, `Method`, `HeaderMap`, `Option<E>` or `Result<E, E::Rejection>` of these, or a type of yours that implements `cgi::FromRequestParts`"
)]
pub trait BeforeLast<M, L>: Sized {
    /// Extracts `Self` from the request's head.
    fn from_request_parts(request: &Request) -> Result<Self, Response>;
}

#[diagnostic::do_not_recommend]
impl<T, M: MayPrecede<T, L>, L> BeforeLast<M, L> for T {
    fn from_request_parts(request: &Request) -> Result<T, Response> {
        M::from_request_parts(request)
    }
}

/// The rule of [`BeforeLast`], on the argument's kind `Self`.
pub trait MayPrecede<T, L> {
    /// Extracts `T` from the request's head.
    fn from_request_parts(request: &Request) -> Result<T, Response>;
}

impl<T: FromRequestParts, L> MayPrecede<T, L> for ViaParts {
    fn from_request_parts(request: &Request) -> Result<T, Response> {
        T::from_request_parts(request).map_err(IntoResponse::into_response)
    }
}

/// A body extractor may come first only if the last argument reads the body too; that
/// program is [`OneBody`]'s error, so this impl is chosen only by code that does not
/// compile, and its answer is never given.
#[diagnostic::do_not_recommend]
impl<T, L: ReadsTheBody> MayPrecede<T, L> for ViaRequest {
    fn from_request_parts(_: &Request) -> Result<T, Response> {
        Err(Response::failed(
            "two arguments read the request body".to_owned(),
        ))
    }
}

/// `ViaRequest`: the last argument reads the body.
pub trait ReadsTheBody {}

impl ReadsTheBody for ViaRequest {}

/// `Self`, of kind `M`, and the last argument, `Last` of kind `L`, do not both read the body.
#[diagnostic::on_unimplemented(
    message = "`{Self}` and `{Last}` both read the request body, but a request has only one body",
    label = "reads the body, and so does the last argument, `{Last}`",
    note = "keep one of the two; the body is either a form (`Form<T>`), JSON (`Json<T>`), an upload (`Multipart`) or raw text or bytes (`String`, `Vec<u8>`)",
    note = "to read values from the URL as well, use `Query<T>`, which reads the query string and may come before the body"
)]
pub trait OneBody<M, L, Last> {}

#[diagnostic::do_not_recommend]
impl<T, M: NotBothBodies<L>, L, Last> OneBody<M, L, Last> for T {}

/// The rule of [`OneBody`], on the argument's kind `Self`.
pub trait NotBothBodies<L> {}

impl<L> NotBothBodies<L> for ViaParts {}

#[diagnostic::do_not_recommend]
impl<L: ReadsOnlyTheHead> NotBothBodies<L> for ViaRequest {}

/// `ViaParts`: the last argument reads only the head.
pub trait ReadsOnlyTheHead {}

impl ReadsOnlyTheHead for ViaParts {}
