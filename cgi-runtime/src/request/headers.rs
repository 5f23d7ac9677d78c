//! `HTTP_*` meta-variables back into an HTTP header map (RFC 3875 §4.1.18).

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::variables::Variables;

/// Rebuilds the request headers: `HTTP_ACCEPT_LANGUAGE` becomes `accept-language`, and
/// `CONTENT_TYPE`/`CONTENT_LENGTH`, which servers pass without the prefix, become real
/// headers again. A variable that cannot be a header (a name or value with bytes HTTP
/// forbids) is left out; [`Request::var`](crate::Request::var) still has it.
pub(crate) fn from_variables(vars: &Variables) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in vars.iter() {
        let Some(suffix) = name.as_encoded_bytes().strip_prefix(b"HTTP_") else {
            continue;
        };
        // lighttpd and nginx also pass the body headers as HTTP_CONTENT_*; the unprefixed
        // variables are the authoritative ones (the server recomputes the length).
        if suffix == b"CONTENT_TYPE" || suffix == b"CONTENT_LENGTH" {
            continue;
        }
        let header: Vec<u8> = suffix
            .iter()
            .map(|&byte| {
                if byte == b'_' {
                    b'-'
                } else {
                    byte.to_ascii_lowercase()
                }
            })
            .collect();
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&header),
            HeaderValue::from_bytes(value.as_encoded_bytes()),
        ) else {
            continue;
        };
        // A header map holds at most 32,768 entries; an environment can carry more (no
        // real server sends that many headers): the rest are left out, like unusable ones.
        if headers.try_append(name, value).is_err() {
            break;
        }
    }
    for (variable, name) in [
        ("CONTENT_TYPE", CONTENT_TYPE),
        ("CONTENT_LENGTH", CONTENT_LENGTH),
    ] {
        if let Some(Ok(value)) = vars.bytes(variable).map(HeaderValue::from_bytes) {
            let _ = headers.try_insert(name, value);
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let vars = Variables::new(pairs.iter().map(|(k, v)| (OsString::from(k), os_string(v))));
        from_variables(&vars)
    }

    #[cfg(unix)]
    fn os_string(bytes: &[u8]) -> OsString {
        use std::os::unix::ffi::OsStringExt;
        OsString::from_vec(bytes.to_vec())
    }

    #[cfg(not(unix))]
    fn os_string(bytes: &[u8]) -> OsString {
        OsString::from(String::from_utf8_lossy(bytes).into_owned())
    }

    #[test]
    fn http_variables_become_headers() {
        let map = headers(&[
            ("HTTP_USER_AGENT", b"curl/8"),
            ("HTTP_ACCEPT_LANGUAGE", b"fr"),
            ("HTTP_FOO_BAR", b"baz"),
            ("SERVER_NAME", b"example.com"),
        ]);
        assert_eq!(map["user-agent"], "curl/8");
        assert_eq!(map["accept-language"], "fr");
        assert_eq!(map["foo-bar"], "baz");
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn body_variables_are_real_headers_and_win_over_duplicates() {
        let map = headers(&[
            ("HTTP_CONTENT_TYPE", b"text/evil"),
            ("HTTP_CONTENT_LENGTH", b"999"),
            ("CONTENT_TYPE", b"application/x-www-form-urlencoded"),
            ("CONTENT_LENGTH", b"26"),
        ]);
        assert_eq!(map["content-type"], "application/x-www-form-urlencoded");
        assert_eq!(map["content-length"], "26");
        assert_eq!(map.get_all("content-type").iter().count(), 1);
    }

    #[test]
    fn obs_text_is_kept_and_invalid_bytes_are_skipped() {
        let map = headers(&[
            ("HTTP_X_BIN", &[0xC3, 0xA9, 0xFF]),
            ("HTTP_X_BAD", b"a\nb"),
            ("HTTP_X BAD", b"v"),
        ]);
        assert_eq!(map["x-bin"].as_bytes(), &[0xC3, 0xA9, 0xFF]);
        assert!(!map.contains_key("x-bad"));
        assert_eq!(map.len(), 1);
    }
}
