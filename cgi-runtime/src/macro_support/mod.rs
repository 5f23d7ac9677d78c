//! What the expansion of `#[cgi::main]` calls to extract the arguments, shaped for the
//! compile errors a mistake gets: each one at the argument or return type at fault, saying
//! what to write instead. Reached through `__private`, so errors call these items
//! `cgi::__private::...`.
//!
//! For each argument of type `T` the expansion writes
//!
//! ```text
//! Probe::<T>::NEW
//!     .check_fields::<T>()
//!     .kind()
//!     .from_request_parts::<T, Last, _>(&request, last_kind)
//! ```
//!
//! and `last_kind.from_request::<Last>(request)` for the last argument, of type `Last`,
//! whose [`Kind`] is computed first, the same way.
//! [`Probe`] picks a method by `T`'s type: inherent methods for some shapes of `T`, the
//! [`Fallback`] trait's for every other. That is how `Form<T>` gets its [`Kind`] fixed
//! before its bounds are checked, and how `Query<String>` is caught.

// Each extraction runs once per request: a large `Err` costs nothing worth a `Box`.
#![allow(clippy::result_large_err)]

mod entry;
mod position;
mod single_value;

use std::marker::PhantomData;

use crate::extract::private::{ViaParts, ViaRequest};
use crate::extract::{Form, FromRequest, Query};
use crate::multipart::MultipartForm;
use crate::request::Request;
use crate::response::{IntoResponse, Response};

pub use entry::{WrittenByCgiMain, only_the_generated_main};
pub use position::{
    BeforeLast, MayPrecede, NotBothBodies, OneBody, ReadsOnlyTheHead, ReadsTheBody,
};
pub use single_value::{NameValuePairs, SingleValue};

/// How an argument is extracted: `M` is `ViaParts` (it reads only the request's head) or
/// `ViaRequest` (it may read the body), inferred from `T: FromRequest<M>` or fixed by
/// [`Probe::kind`].
///
/// The extraction is a method of `Kind<M>` rather than a function generic over `M`: a
/// function's bounds are checked as soon as it is named, before its arguments could fix
/// `M`; a method's only once its receiver's type, with `M`, is known.
#[derive(Debug)]
pub struct Kind<M>(PhantomData<M>);

impl<M> Clone for Kind<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for Kind<M> {}

impl<M> Kind<M> {
    /// Extracts an argument before the last, whose kind is `L` and type `Last`; a
    /// rejection is already the response.
    ///
    /// `T: FromRequest<M>` says whether `T` is an extractor at all; [`BeforeLast`] that it
    /// does not read the body, unless the last argument does too; [`OneBody`] that it and
    /// the last argument do not both read it. Each failure is one error, with a message of
    /// its own.
    pub fn from_request_parts<T, Last, L>(
        self,
        request: &Request,
        _last: Kind<L>,
    ) -> Result<T, Response>
    where
        T: FromRequest<M> + BeforeLast<M, L> + OneBody<M, L, Last>,
    {
        <T as BeforeLast<M, L>>::from_request_parts(request)
    }

    /// Extracts the last argument, which may read the body.
    pub fn from_request<T: FromRequest<M>>(self, request: Request) -> Result<T, Response> {
        T::from_request(request).map_err(IntoResponse::into_response)
    }
}

/// The type of an argument, `T`, as a value to call methods on: an inherent method of
/// `Probe<T>` is chosen over the [`Fallback`] trait's when `T` has its shape, so the
/// expansion behaves according to `T`'s type without naming it.
#[derive(Debug)]
pub struct Probe<T>(PhantomData<T>);

impl<T> Probe<T> {
    /// The probe of `T`.
    pub const NEW: Self = Probe(PhantomData);
}

/// The methods of every [`Probe`], for types without a shape of their own.
pub trait Fallback {
    /// `Kind<M>` with `M` left to be inferred from `T: FromRequest<M>`.
    fn kind<M>(&self) -> Kind<M> {
        Kind(PhantomData)
    }

    /// Nothing to check. (`Whole` is `T` again, named in the call so that an error of the
    /// inherent `check_fields` points at the argument's type.)
    fn check_fields<Whole>(&self) -> &Self {
        self
    }
}

impl<T> Fallback for Probe<T> {}

/// An extractor of cgikit's whose impl has bounds on a type parameter (`Form<T>`,
/// `Json<T>`, `MultipartForm<T>`, `Query<T>`, or one of those in an `Option` or a
/// `Result`), with the one kind it can be.
///
/// Every type is a candidate for both kinds (`FromRequest<ViaParts>` for any
/// `FromRequestParts`, `FromRequest<ViaRequest>` for body extractors), so with `M` unknown
/// a `Form<T>` whose `T` lacks `Deserialize` fails both ways, and the error could only say
/// that it is no extractor. With `M` fixed first, rustc follows the one impl down to
/// `T: FormFields`, whose message says to derive `Deserialize`.
pub trait KnownKind {
    /// `ViaParts` or `ViaRequest`.
    type Kind;
}

impl<T> KnownKind for Query<T> {
    type Kind = ViaParts;
}
impl<T> KnownKind for Form<T> {
    type Kind = ViaRequest;
}
impl<T> KnownKind for MultipartForm<T> {
    type Kind = ViaRequest;
}
#[cfg(feature = "json")]
impl<T> KnownKind for crate::json::Json<T> {
    type Kind = ViaRequest;
}
impl<T: KnownKind> KnownKind for Option<T> {
    type Kind = T::Kind;
}
impl<T: KnownKind, E> KnownKind for Result<T, E> {
    type Kind = T::Kind;
}

impl<T: KnownKind> Probe<T> {
    /// The one kind `T` can be.
    pub fn kind(&self) -> Kind<T::Kind> {
        Kind(PhantomData)
    }
}
