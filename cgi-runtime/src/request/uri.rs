//! The request URI, as the client asked for it.

use http::Uri;

use super::variables::Variables;
use crate::percent;

/// `REQUEST_URI` when the server sets it (Apache, lighttpd, nginx: the raw request target),
/// else `SCRIPT_NAME + PATH_INFO + "?" + QUERY_STRING`, as Go's net/http/cgi does. Bytes a
/// URI cannot hold (busybox decodes REQUEST_URI; PATH_INFO is always decoded) are
/// percent-encoded, so this never fails; an unusable value gives `/`.
pub(crate) fn from_variables(vars: &Variables) -> Uri {
    let mut target = String::new();
    if let Some(raw) = vars.bytes("REQUEST_URI") {
        percent::encode_into(&mut target, raw, is_uri_byte);
    } else {
        for name in ["SCRIPT_NAME", "PATH_INFO"] {
            if let Some(path) = vars.bytes(name) {
                percent::encode_into(&mut target, path, is_path_byte);
            }
        }
        if let Some(query) = vars.bytes("QUERY_STRING") {
            target.push('?');
            percent::encode_into(&mut target, query, is_uri_byte);
        }
    }
    if !target.starts_with('/') && !target.contains("://") {
        target.insert(0, '/');
    }
    Uri::try_from(target).unwrap_or_else(|_| Uri::from_static("/"))
}

/// The target relative to the script: `PATH_INFO` (`/` when unset) and `?QUERY_STRING`,
/// encoded as [`from_variables`] encodes them.
#[cfg(feature = "tokio")]
pub(crate) fn below_script(path_info: Option<&[u8]>, query: Option<&[u8]>) -> Uri {
    let mut target = String::from("/");
    if let Some(path) = path_info {
        percent::encode_into(
            &mut target,
            path.strip_prefix(b"/").unwrap_or(path),
            is_path_byte,
        );
    }
    if let Some(query) = query {
        target.push('?');
        percent::encode_into(&mut target, query, is_uri_byte);
    }
    Uri::try_from(target).unwrap_or_else(|_| Uri::from_static("/"))
}

/// Bytes that may appear unencoded in a request target (RFC 3986 `pchar`, `/`, `?`, `%`).
fn is_uri_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&byte)
}

/// Bytes that may appear unencoded in a decoded path: no `%`, `?` or `#`, which would change
/// its meaning.
fn is_path_byte(byte: u8) -> bool {
    byte != b'%' && byte != b'?' && is_uri_byte(byte)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn uri(pairs: &[(&str, &str)]) -> String {
        from_variables(&Variables::new(
            pairs
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        ))
        .to_string()
    }

    #[test]
    fn request_uri_wins() {
        assert_eq!(
            uri(&[("REQUEST_URI", "/path?a=b"), ("SCRIPT_NAME", "/other")]),
            "/path?a=b"
        );
    }

    #[test]
    fn rebuilt_from_script_name_path_info_and_query() {
        // Go's TestRequestWithoutRequestURI.
        let rebuilt = uri(&[
            ("SCRIPT_NAME", "/dir/scriptname"),
            ("PATH_INFO", "/p1/p2"),
            ("QUERY_STRING", "a=1&b=2"),
        ]);
        assert_eq!(rebuilt, "/dir/scriptname/p1/p2?a=1&b=2");
    }

    #[test]
    fn decoded_paths_are_encoded_again() {
        let rebuilt = uri(&[
            ("SCRIPT_NAME", "/cgi-bin/env"),
            ("PATH_INFO", "/a b/é/100%/?"),
        ]);
        assert_eq!(rebuilt, "/cgi-bin/env/a%20b/%C3%A9/100%25/%3F");
        // busybox passes a decoded REQUEST_URI.
        assert_eq!(
            uri(&[("REQUEST_URI", "/cgi-bin/env/a b?q=1")]),
            "/cgi-bin/env/a%20b?q=1"
        );
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn below_the_script_is_path_info_and_query() {
        assert_eq!(below_script(None, None), "/");
        assert_eq!(
            below_script(Some(b"/items/7"), Some(b"a=1")),
            "/items/7?a=1"
        );
        assert_eq!(below_script(Some(b"/a b/%"), None), "/a%20b/%25");
        assert_eq!(below_script(Some(b"no-slash"), None), "/no-slash");
    }

    #[test]
    fn nothing_set_is_the_root() {
        assert_eq!(uri(&[]), "/");
        assert_eq!(uri(&[("QUERY_STRING", "x=1")]), "/?x=1");
    }
}
