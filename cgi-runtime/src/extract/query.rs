//! `Query<T>`: the query string, typed.

use http::StatusCode;
use serde::de::DeserializeOwned;

use super::FromRequestParts;
use super::urlencoded::{self, UrlencodedError};
use crate::bounds::QueryFields;
use crate::rejection::QueryRejection;
use crate::request::Request;

/// The query string (`QUERY_STRING`), decoded into `T` with serde.
///
/// A missing or mistyped field answers `400 Bad Request` with a reason that names the
/// field; so does malformed percent-encoding or text that is not UTF-8. Use `Option<T>`
/// fields for optional parameters. `bool` fields take `true`, `false`, and `on` (what a
/// ticked checkbox sends).
///
/// ```
/// use cgi::Query;
///
/// #[derive(serde::Deserialize)]
/// struct Search {
///     q: String,
///     page: Option<u32>,
/// }
///
/// fn search(Query(search): Query<Search>) -> String {
///     format!("{} (page {})", search.q, search.page.unwrap_or(1))
/// }
///
/// let response = cgi::test::TestRequest::get("/?q=rust+cgi&page=2").call(search);
/// assert_eq!(response.text(), "rust cgi (page 2)");
///
/// let response = cgi::test::TestRequest::get("/?page=2").call(search);
/// assert_eq!(response.status(), cgi::StatusCode::BAD_REQUEST);
/// assert_eq!(response.text(), "Invalid query string: missing field `q`\n");
/// ```
///
/// A repeated key, as `<select multiple>` and checkboxes send it, fills a sequence field
/// (`Vec<T>`, `[T; N]`, a set) in order; for a single-valued field it is an error
/// (``duplicate field `q` ``). `serde_urlencoded` cannot deserialize sequences and
/// `serde_html_form` costs nine crates, so cgikit has its own small deserializer.
///
/// ```
/// use cgi::Query;
///
/// #[derive(serde::Deserialize)]
/// struct Filter {
///     #[serde(rename = "tag", default)]
///     tags: Vec<String>,
/// }
///
/// fn filter(Query(filter): Query<Filter>) -> String {
///     filter.tags.join(",")
/// }
///
/// let response = cgi::test::TestRequest::get("/?tag=a&tag=b").call(filter);
/// assert_eq!(response.text(), "a,b");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

/// For any `T: serde::de::DeserializeOwned` (`QueryFields` is that bound, named for its
/// compile error).
impl<T: QueryFields> FromRequestParts for Query<T> {
    type Rejection = QueryRejection;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        from_query(request).map(Query)
    }
}

/// Decodes the query string into `T`; also what [`Form`](crate::Form) does for GET.
pub(crate) fn from_query<T: DeserializeOwned>(request: &Request) -> Result<T, QueryRejection> {
    urlencoded::from_bytes(request.var("QUERY_STRING").unwrap_or_default()).map_err(|error| {
        let (UrlencodedError::Malformed(reason) | UrlencodedError::Mismatch(reason)) = error;
        QueryRejection::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid query string: {reason}"),
        )
    })
}

super::impl_deref!(Query);
