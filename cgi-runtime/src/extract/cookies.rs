//! `Cookies`: the request's `Cookie` header, parsed.

use std::convert::Infallible;

use super::FromRequestParts;
use crate::request::Request;
use crate::response::is_token_byte;

/// The cookies the browser sent (`HTTP_COOKIE`).
///
/// Parsing is forgiving, as browsers and Go's net/http are: a pair without `=`, with an
/// invalid name, or with bytes that are not UTF-8 is skipped rather than failing the
/// request, because one stray cookie set by another script on the same domain must not
/// lock users out. Surrounding double quotes are removed from values. When a name appears
/// twice, [`get`](Cookies::get) returns the first (browsers send the most specific path
/// first); [`get_all`](Cookies::get_all) returns every one.
///
/// ```
/// use cgi::Cookies;
///
/// fn theme(cookies: Cookies) -> String {
///     cookies.get("theme").unwrap_or("light").to_owned()
/// }
///
/// let response = cgi::test::TestRequest::get("/").cookie("theme", "dark").call(theme);
/// assert_eq!(response.text(), "dark");
/// assert_eq!(cgi::test::TestRequest::get("/").call(theme).text(), "light");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Cookies {
    pairs: Vec<(String, String)>,
}

impl Cookies {
    /// Parses a `Cookie` header value.
    ///
    /// ```
    /// let cookies = cgi::Cookies::parse(b"sid=abc; theme=\"dark\"; junk; =x");
    /// assert_eq!(cookies.get("theme"), Some("dark"));
    /// assert_eq!(cookies.len(), 2);
    /// ```
    pub fn parse(header: &[u8]) -> Self {
        let pairs = header
            .split(|&byte| byte == b';')
            .filter_map(|pair| {
                let pair = std::str::from_utf8(pair).ok()?.trim();
                let (name, value) = pair.split_once('=')?;
                let (name, value) = (name.trim(), value.trim());
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                (!name.is_empty() && name.bytes().all(is_token_byte))
                    .then(|| (name.to_owned(), value.to_owned()))
            })
            .collect();
        Cookies { pairs }
    }

    /// The value of the first cookie with this name.
    ///
    /// ```
    /// let cookies = cgi::Cookies::parse(b"a=1; a=2");
    /// assert_eq!(cookies.get("a"), Some("1"));
    /// assert_eq!(cookies.get("b"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The values of every cookie with this name, in the order sent.
    ///
    /// ```
    /// let cookies = cgi::Cookies::parse(b"a=1; b=0; a=2");
    /// assert_eq!(cookies.get_all("a").collect::<Vec<_>>(), ["1", "2"]);
    /// ```
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every cookie as `(name, value)`, in the order sent.
    ///
    /// ```
    /// let cookies = cgi::Cookies::parse(b"a=1; b=2");
    /// assert_eq!(cookies.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// How many cookies were sent.
    ///
    /// ```
    /// assert_eq!(cgi::Cookies::parse(b"a=1; b=2").len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether no cookie was sent.
    ///
    /// ```
    /// assert!(cgi::Cookies::parse(b"").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

impl FromRequestParts for Cookies {
    type Rejection = Infallible;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        Ok(Cookies::parse(
            request.var("HTTP_COOKIE").unwrap_or_default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_is_skipped_never_fatal() {
        let cookies =
            Cookies::parse(b"; ;a=1;;b c=2; =3; d; e=\xff; f=\"q\"; g=\"half; h = spaced ");
        let pairs: Vec<_> = cookies.iter().collect();
        assert_eq!(
            pairs,
            [("a", "1"), ("f", "q"), ("g", "\"half"), ("h", "spaced")]
        );
    }

    #[test]
    fn values_may_contain_equals() {
        let cookies = Cookies::parse(b"token=abc==; x=a=b");
        assert_eq!(cookies.get("token"), Some("abc=="));
        assert_eq!(cookies.get("x"), Some("a=b"));
    }
}
