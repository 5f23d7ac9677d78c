//! `Handler`: a function whose arguments are extractors, callable with a request.

use crate::extract::{FromRequest, FromRequestParts};
use crate::request::Request;
use crate::response::{IntoResponse, Response};

/// A function that can answer a request: every argument is an extractor (only the last may
/// read the body) and the return type implements [`IntoResponse`]. Implemented for such
/// functions and closures with 0 to 16 arguments.
///
/// `#[cgi::main]` does not need this trait (it checks each argument on its own, for
/// precise errors); [`cgi::run`](crate::run) and the [test kit](crate::test) use it.
///
/// ```
/// use cgi::{Cookies, Handler, Method, Query};
///
/// #[derive(serde::Deserialize)]
/// struct Params { n: u32 }
///
/// fn handler(method: Method, cookies: Cookies, Query(params): Query<Params>) -> String {
///     format!("{method} n={} user={}", params.n, cookies.get("user").unwrap_or("-"))
/// }
///
/// fn assert_handler<T>(_: impl Handler<T>) {}
/// assert_handler(handler);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a CGI handler",
    label = "not a handler",
    note = "a handler is a function whose arguments are extractors (only the last may read the body, like `Form<T>` or `Request`) and whose return type implements `cgi::IntoResponse`",
    note = "with `#[cgi::main]` on the function, the compiler points at the argument or return type at fault",
    note = "an `async fn` is a handler with cgikit's `tokio` feature"
)]
pub trait Handler<Args>: Sized {
    /// Extracts the arguments from `request`, calls the function, and turns what it
    /// returns into a response. A failed extraction answers with its rejection.
    ///
    /// ```
    /// use cgi::{Handler, Request, Response};
    /// fn hello() -> &'static str { "hi" }
    /// // A handler wrapping another one: the same request goes through `call`.
    /// fn logged(request: Request) -> Response {
    ///     eprintln!("{} {}", request.method(), request.uri());
    ///     hello.call(request)
    /// }
    /// assert_eq!(cgi::test::TestRequest::get("/").call(logged).text(), "hi");
    /// ```
    fn call(self, request: Request) -> Response;
}

impl<F, R> Handler<()> for F
where
    F: FnOnce() -> R,
    R: IntoResponse,
{
    fn call(self, request: Request) -> Response {
        // The body is drained when the request is dropped, before the response is written.
        drop(request);
        self().into_response()
    }
}

/// The arguments of an `async` handler: a type of its own, so that its implementation of
/// [`Handler`] can never overlap a function's that returns a response directly.
#[cfg(feature = "tokio")]
#[derive(Debug)]
pub struct Async<Args>(std::marker::PhantomData<Args>);

/// An `async fn` (or a closure returning a future) runs on cgikit's tokio runtime; the
/// arguments are extracted first, as for any handler.
///
/// ```
/// async fn later() -> &'static str {
///     std::future::ready("done").await
/// }
/// assert_eq!(cgi::test::TestRequest::get("/").call(later).text(), "done");
/// ```
#[cfg(feature = "tokio")]
impl<F, Fut> Handler<Async<()>> for F
where
    F: FnOnce() -> Fut + Send,
    Fut: std::future::Future,
    Fut::Output: IntoResponse,
{
    fn call(self, request: Request) -> Response {
        drop(request);
        crate::executor::answer(self)
    }
}

macro_rules! impl_handler {
    ([$($head:ident),*], $last:ident) => {
        #[cfg(feature = "tokio")]
        #[diagnostic::do_not_recommend]
        impl<F, Fut, M, $($head,)* $last> Handler<Async<(M, $($head,)* $last,)>> for F
        where
            F: FnOnce($($head,)* $last) -> Fut + Send,
            Fut: std::future::Future,
            Fut::Output: IntoResponse,
            $($head: FromRequestParts + Send,)*
            $last: FromRequest<M> + Send,
        {
            #[allow(non_snake_case)]
            fn call(self, request: Request) -> Response {
                $(
                    let $head = match $head::from_request_parts(&request) {
                        Ok(value) => value,
                        Err(rejection) => return rejection.into_response(),
                    };
                )*
                let $last = match $last::from_request(request) {
                    Ok(value) => value,
                    Err(rejection) => return rejection.into_response(),
                };
                crate::executor::answer(move || self($($head,)* $last))
            }
        }

        #[diagnostic::do_not_recommend]
        impl<F, R, M, $($head,)* $last> Handler<(M, $($head,)* $last,)> for F
        where
            F: FnOnce($($head,)* $last) -> R,
            R: IntoResponse,
            $($head: FromRequestParts,)*
            $last: FromRequest<M>,
        {
            #[allow(non_snake_case)]
            fn call(self, request: Request) -> Response {
                $(
                    let $head = match $head::from_request_parts(&request) {
                        Ok(value) => value,
                        Err(rejection) => return rejection.into_response(),
                    };
                )*
                let $last = match $last::from_request(request) {
                    Ok(value) => value,
                    Err(rejection) => return rejection.into_response(),
                };
                self($($head,)* $last).into_response()
            }
        }
    };
}

impl_handler!([], T1);
impl_handler!([T1], T2);
impl_handler!([T1, T2], T3);
impl_handler!([T1, T2, T3], T4);
impl_handler!([T1, T2, T3, T4], T5);
impl_handler!([T1, T2, T3, T4, T5], T6);
impl_handler!([T1, T2, T3, T4, T5, T6], T7);
impl_handler!([T1, T2, T3, T4, T5, T6, T7], T8);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8], T9);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9], T10);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10], T11);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11], T12);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12], T13);
impl_handler!(
    [T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13],
    T14
);
impl_handler!(
    [T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14],
    T15
);
impl_handler!(
    [
        T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15
    ],
    T16
);
