//! `PathInfo`: the path after the script's name.

use http::StatusCode;

use super::FromRequestParts;
use crate::rejection::PathInfoRejection;
use crate::request::Request;

/// The part of the URL path after the script's name (`PATH_INFO`): for
/// `/cgi-bin/wiki/Main/Page`, `/Main/Page`. Empty when there is none.
///
/// The server has already percent-decoded it (RFC 3875 §4.1.5); its raw bytes are in
/// [`Request::var("PATH_INFO")`](crate::Request::var), and the still-encoded form in
/// [`Request::uri`](crate::Request::uri). It is kept exactly as the server passed it:
/// nothing is normalised, so a `..` that reaches the script stays visible. (Apache,
/// lighttpd, nginx, busybox and Python's server all resolve dot-segments before the script
/// runs, but other configurations may not, and `\`, `%2F` decoded to `/`, and invalid
/// UTF-8 do get through.) Before using it to name a file, take
/// [`checked_segments`](PathInfo::checked_segments).
///
/// ```
/// use cgi::PathInfo;
///
/// fn page(path: PathInfo) -> String {
///     match path.checked_segments() {
///         Some(segments) => format!("page {}", segments.join(" > ")),
///         None => "refused".to_owned(),
///     }
/// }
///
/// assert_eq!(cgi::test::TestRequest::get("/Main/Page").call(page).text(), "page Main > Page");
/// let sneaky = cgi::test::TestRequest::get("/").var("PATH_INFO", "/../etc/passwd").call(page);
/// assert_eq!(sneaky.text(), "refused");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathInfo(pub String);

impl PathInfo {
    /// The segments between slashes, as they are: `/a//b/` gives `["a", "", "b", ""]`.
    ///
    /// ```
    /// let path = cgi::PathInfo("/a//b/".to_owned());
    /// assert_eq!(path.segments().collect::<Vec<_>>(), ["a", "", "b", ""]);
    /// assert_eq!(cgi::PathInfo::default().segments().count(), 0);
    /// ```
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        let path = self.0.strip_prefix('/').unwrap_or(&self.0);
        path.split('/').filter(move |_| !self.0.is_empty())
    }

    /// The segments, if every one is a plain name: not empty (a trailing slash is allowed),
    /// not `.` or `..`, and without `\` or NUL, also once percent-decoded (a server such as
    /// Apache with `AllowEncodedSlashes NoDecode` passes `%2e%2e` and `%2f` through, and an
    /// application that decodes later would get `..` and `/`). `None` otherwise: such a
    /// path must not be joined to a directory.
    ///
    /// ```
    /// assert_eq!(cgi::PathInfo("/docs/intro/".into()).checked_segments(), Some(vec!["docs", "intro"]));
    /// for bad in ["/a/../b", "/./a", "/a//b", "/a\\b", "/a\0", "/%2e%2e/etc", "/..%2f..%2fetc", "/a%5cb"] {
    ///     assert_eq!(cgi::PathInfo(bad.into()).checked_segments(), None, "{bad:?}");
    /// }
    /// ```
    pub fn checked_segments(&self) -> Option<Vec<&str>> {
        let mut segments: Vec<&str> = self.segments().collect();
        if segments.last() == Some(&"") {
            segments.pop();
        }
        let plain = |segment: &&str| {
            let decoded = percent_decoded(segment);
            let segment = &&*decoded;
            !segment.is_empty()
                && *segment != "."
                && *segment != ".."
                && !segment.contains(['\\', '\0', '/'])
        };
        segments.iter().all(plain).then_some(segments)
    }
}

/// `%HH` decoded, lossily: only to see what a segment would become.
fn percent_decoded(segment: &str) -> std::borrow::Cow<'_, str> {
    if !segment.contains('%') {
        return std::borrow::Cow::Borrowed(segment);
    }
    String::from_utf8_lossy(&crate::percent::decode(segment.as_bytes()))
        .into_owned()
        .into()
}

impl FromRequestParts for PathInfo {
    type Rejection = PathInfoRejection;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        match request.var("PATH_INFO") {
            None => Ok(PathInfo(String::new())),
            Some(bytes) => std::str::from_utf8(bytes)
                .map(|path| PathInfo(path.to_owned()))
                .map_err(|_| {
                    PathInfoRejection::new(
                        StatusCode::BAD_REQUEST,
                        "The path after the script's name is not UTF-8.".into(),
                    )
                }),
        }
    }
}

impl std::ops::Deref for PathInfo {
    type Target = String;

    fn deref(&self) -> &String {
        &self.0
    }
}
