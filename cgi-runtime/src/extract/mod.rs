//! Extractors: typed handler arguments built from the request.

/// `Deref`/`DerefMut` to the inner value, for the tuple-struct extractors, as axum does.
macro_rules! impl_deref {
    ($extractor:ident) => {
        impl<T> std::ops::Deref for $extractor<T> {
            type Target = T;

            fn deref(&self) -> &T {
                &self.0
            }
        }

        impl<T> std::ops::DerefMut for $extractor<T> {
            fn deref_mut(&mut self) -> &mut T {
                &mut self.0
            }
        }
    };
}
use impl_deref;

mod cookies;
mod form;
mod path_info;
mod query;
mod remote_addr;
pub(crate) mod urlencoded;
mod whole_body;

use std::convert::Infallible;

use http::{HeaderMap, Method};

use crate::request::Request;
use crate::response::IntoResponse;

pub use cookies::Cookies;
pub use form::Form;
pub use path_info::PathInfo;
pub use query::Query;
pub use remote_addr::RemoteAddr;

/// An extractor that reads only the request's head: meta-variables, headers, query.
/// It may appear in any argument position.
///
/// Every `FromRequestParts` is also a [`FromRequest`]. Implement it for your own types to
/// make them handler arguments:
///
/// ```
/// use cgi::{FromRequestParts, Request, StatusCode};
///
/// /// The user the server authenticated (Apache's `AuthType Basic`, for instance).
/// struct RemoteUser(String);
///
/// impl FromRequestParts for RemoteUser {
///     type Rejection = (StatusCode, &'static str);
///
///     fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
///         match request.var("REMOTE_USER").map(|user| String::from_utf8_lossy(user).into_owned()) {
///             Some(user) => Ok(RemoteUser(user)),
///             None => Err((StatusCode::UNAUTHORIZED, "Sign in first.")),
///         }
///     }
/// }
///
/// fn whoami(RemoteUser(user): RemoteUser) -> String {
///     format!("You are {user}.")
/// }
///
/// let response = cgi::test::TestRequest::get("/").var("REMOTE_USER", "ada").call(whoami);
/// assert_eq!(response.text(), "You are ada.");
/// assert_eq!(cgi::test::TestRequest::get("/").call(whoami).status(), StatusCode::UNAUTHORIZED);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument before the last one",
    label = "not an extractor that reads only the request head (`cgi::FromRequestParts`)",
    note = "arguments before the last may be `Query<T>`, `Cookies`, `Method`, `HeaderMap`, `Option<E>` or `Result<E, E::Rejection>` of these, or a type of yours that implements `cgi::FromRequestParts`",
    note = "extractors that read the body, such as `Form<T>` and `Request`, may only be the last argument"
)]
pub trait FromRequestParts: Sized {
    /// What a failed extraction answers with. It should say what was wrong and name the
    /// field, parameter or header at fault.
    type Rejection: IntoResponse;

    /// Extracts `Self` from the request's head.
    ///
    /// ```
    /// use cgi::{FromRequestParts, Method};
    /// fn method(request: cgi::Request) -> String {
    ///     Method::from_request_parts(&request).map(|m| m.to_string()).unwrap_or_default()
    /// }
    /// assert_eq!(cgi::test::TestRequest::post("/").call(method).text(), "POST");
    /// ```
    ///
    /// # Errors
    ///
    /// The rejection, which becomes the response; the handler does not run.
    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection>;
}

/// An extractor that may read the request body. Only the last handler argument may be one:
/// the body can be read once.
///
/// The `M` parameter only tells the two kinds of extractor apart; it is inferred.
///
/// ```
/// use std::io::Read;
/// use cgi::{FromRequest, Request, StatusCode};
///
/// /// The body as lines of text.
/// struct Lines(Vec<String>);
///
/// impl FromRequest for Lines {
///     type Rejection = (StatusCode, String);
///
///     fn from_request(mut request: Request) -> Result<Self, Self::Rejection> {
///         let mut text = String::new();
///         request
///             .body_mut()
///             .read_to_string(&mut text)
///             .map_err(|error| (StatusCode::BAD_REQUEST, format!("Unreadable body: {error}")))?;
///         Ok(Lines(text.lines().map(str::to_owned).collect()))
///     }
/// }
///
/// fn count(Lines(lines): Lines) -> String {
///     format!("{} lines", lines.len())
/// }
///
/// let response = cgi::test::TestRequest::post("/").body("a\nb\nc\n").call(count);
/// assert_eq!(response.text(), "3 lines");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor, so it cannot be a handler argument",
    label = "not a `cgi::FromRequest` or `cgi::FromRequestParts` extractor",
    note = "a handler argument may be `Query<T>`, `Form<T>`, `Cookies`, `Method`, `HeaderMap`, `Request`, `Option<E>` or `Result<E, E::Rejection>`, or a type of yours that implements `cgi::FromRequestParts` (reads the head) or `cgi::FromRequest` (may read the body)",
    note = "only the last argument may read the body (`Form<T>`, `Request`, ...); the ones before it implement `cgi::FromRequestParts`"
)]
pub trait FromRequest<M = private::ViaRequest>: Sized {
    /// What a failed extraction answers with.
    type Rejection: IntoResponse;

    /// Extracts `Self`, consuming the request (and so the body).
    ///
    /// ```
    /// use cgi::{Form, FromRequest};
    /// #[derive(serde::Deserialize)]
    /// struct Note { text: String }
    /// fn note(request: cgi::Request) -> String {
    ///     match Form::<Note>::from_request(request) {
    ///         Ok(Form(note)) => note.text,
    ///         Err(rejection) => rejection.to_string(),
    ///     }
    /// }
    /// let response = cgi::test::TestRequest::post("/").form(&[("text", "hi")]).call(note);
    /// assert_eq!(response.text(), "hi");
    /// ```
    ///
    /// # Errors
    ///
    /// The rejection, which becomes the response; the handler does not run.
    fn from_request(request: Request) -> Result<Self, Self::Rejection>;
}

/// A media type without its parameters: `text/html; charset=utf-8` → `text/html`.
pub(crate) fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// A parameter of a media type (`charset`, `boundary`), unquoted.
pub(crate) fn media_type_parameter<'a>(content_type: &'a str, name: &str) -> Option<&'a str> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (key, value) = parameter.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"'))
    })
}

/// The reason a body extractor gives for a `415`: what it expected, what came.
pub(crate) fn unsupported_media_type(
    what: &str,
    expected: &str,
    content_type: Option<&str>,
) -> String {
    match content_type {
        Some(content_type) => {
            format!(
                "Expected {what} (Content-Type: {expected}), but the request's is `{content_type}`."
            )
        }
        None => format!("Expected {what} (Content-Type: {expected}), but the request has none."),
    }
}

pub(crate) mod private {
    /// Marks a [`FromRequest`](super::FromRequest) that came from a `FromRequestParts`.
    #[derive(Debug)]
    pub enum ViaParts {}
    /// Marks a [`FromRequest`](super::FromRequest) that reads the body itself.
    #[derive(Debug)]
    pub enum ViaRequest {}
}

impl<T: FromRequestParts> FromRequest<private::ViaParts> for T {
    type Rejection = T::Rejection;

    fn from_request(request: Request) -> Result<Self, Self::Rejection> {
        T::from_request_parts(&request)
    }
}

/// `Option<E>`: `None` instead of a rejection, for optional input.
///
/// ```
/// use cgi::Query;
/// #[derive(serde::Deserialize)]
/// struct Page { page: u32 }
///
/// fn list(page: Option<Query<Page>>) -> String {
///     format!("page {}", page.map_or(1, |Query(p)| p.page))
/// }
/// assert_eq!(cgi::test::TestRequest::get("/?page=3").call(list).text(), "page 3");
/// assert_eq!(cgi::test::TestRequest::get("/?page=x").call(list).text(), "page 1");
/// ```
impl<T: FromRequestParts> FromRequestParts for Option<T> {
    type Rejection = Infallible;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        Ok(T::from_request_parts(request).ok())
    }
}

impl<T: FromRequest<private::ViaRequest>> FromRequest<private::ViaRequest> for Option<T> {
    type Rejection = Infallible;

    fn from_request(request: Request) -> Result<Self, Self::Rejection> {
        Ok(T::from_request(request).ok())
    }
}

/// `Result<E, E::Rejection>`: the handler sees the rejection and decides what to answer.
///
/// ```
/// use cgi::{Html, Query, QueryRejection};
/// #[derive(serde::Deserialize)]
/// struct Age { age: u8 }
///
/// fn check(age: Result<Query<Age>, QueryRejection>) -> Html<String> {
///     match age {
///         Ok(Query(Age { age })) => Html(format!("<p>{age}</p>")),
///         Err(rejection) => Html(format!("<p class=error>{}</p>", cgi::html::escape(&rejection.to_string()))),
///     }
/// }
/// let response = cgi::test::TestRequest::get("/?age=old").call(check);
/// assert_eq!(response.status(), cgi::StatusCode::OK);
/// assert!(response.text().contains("field `age`"));
/// ```
impl<T: FromRequestParts> FromRequestParts for Result<T, T::Rejection> {
    type Rejection = Infallible;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        Ok(T::from_request_parts(request))
    }
}

impl<T: FromRequest<private::ViaRequest>> FromRequest<private::ViaRequest>
    for Result<T, T::Rejection>
{
    type Rejection = Infallible;

    fn from_request(request: Request) -> Result<Self, Self::Rejection> {
        Ok(T::from_request(request))
    }
}

/// The request method.
///
/// ```
/// use cgi::Method;
/// fn which(method: Method) -> String { method.to_string() }
/// assert_eq!(cgi::test::TestRequest::post("/").call(which).text(), "POST");
/// ```
impl FromRequestParts for Method {
    type Rejection = Infallible;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        Ok(request.method().clone())
    }
}

/// The request headers.
///
/// ```
/// use cgi::HeaderMap;
/// fn count(headers: HeaderMap) -> String { headers.len().to_string() }
/// let response = cgi::test::TestRequest::get("/").header("X-A", "1").call(count);
/// assert_eq!(response.text(), "2"); // host and x-a
/// ```
impl FromRequestParts for HeaderMap {
    type Rejection = Infallible;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        Ok(request.headers().clone())
    }
}

/// The URI the client asked for (see [`Request::uri`]).
///
/// ```
/// fn here(uri: cgi::http::Uri) -> String { uri.path().to_owned() }
/// assert_eq!(cgi::test::TestRequest::get("/guestbook?page=2").call(here).text(), "/guestbook");
/// ```
impl FromRequestParts for http::Uri {
    type Rejection = Infallible;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        Ok(request.uri().clone())
    }
}

/// The whole request, body included: only as the last argument.
impl FromRequest<private::ViaRequest> for Request {
    type Rejection = Infallible;

    fn from_request(request: Request) -> Result<Self, Self::Rejection> {
        Ok(request)
    }
}
