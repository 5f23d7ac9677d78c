//! `StripScriptName`: a service that routes on the path below the script.

use std::task::{Context, Poll};

use tower_service::Service;

use super::CgiVariables;
use crate::request::below_script;

/// Wraps a service so that it sees the path below the script (`PATH_INFO`, `/` when
/// there is none) instead of the full path: an app whose routes are `/` and
/// `/items/{id}` then answers at `/cgi-bin/app/` and `/cgi-bin/app/items/7`, wherever
/// it is mounted. Requests that did not come through cgikit pass unchanged.
///
/// Links the app writes still need the mount point: take
/// [`ScriptName`](super::ScriptName) from the request's extensions.
///
/// ```
/// use std::convert::Infallible;
/// use std::ffi::OsString;
/// use std::future::{Ready, ready};
/// use std::task::{Context, Poll};
/// use cgi::http::Request;
/// use cgi::service::{CgiVariables, StripScriptName};
/// use tower_service::Service;
///
/// /// Answers with the path it sees.
/// struct Echo;
/// impl Service<Request<()>> for Echo {
///     type Response = String;
///     type Error = Infallible;
///     type Future = Ready<Result<String, Infallible>>;
///     fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
///         Poll::Ready(Ok(()))
///     }
///     fn call(&mut self, request: Request<()>) -> Self::Future {
///         ready(Ok(request.uri().to_string()))
///     }
/// }
///
/// let mut request = Request::new(());
/// *request.uri_mut() = "/cgi-bin/app/items/7?a=1".parse().unwrap();
/// request.extensions_mut().insert(CgiVariables::new(vec![
///     (OsString::from("SCRIPT_NAME"), OsString::from("/cgi-bin/app")),
///     (OsString::from("PATH_INFO"), OsString::from("/items/7")),
///     (OsString::from("QUERY_STRING"), OsString::from("a=1")),
/// ]));
/// let seen = StripScriptName::new(Echo).call(request).into_inner();
/// assert_eq!(seen.unwrap(), "/items/7?a=1");
/// ```
#[derive(Debug, Clone)]
pub struct StripScriptName<S> {
    inner: S,
}

impl<S> StripScriptName<S> {
    /// Wraps `inner`.
    ///
    /// ```
    /// let service = cgi::service::StripScriptName::new(cgi::service::from_handler(|| "hi"));
    /// # let _ = service;
    /// ```
    pub fn new(inner: S) -> Self {
        StripScriptName { inner }
    }
}

impl<S, B> Service<http::Request<B>> for StripScriptName<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if let Some(vars) = request.extensions().get::<CgiVariables>() {
            let below = below_script(vars.get("PATH_INFO"), vars.get("QUERY_STRING"));
            *request.uri_mut() = below;
        }
        self.inner.call(request)
    }
}
