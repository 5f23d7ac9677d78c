//! The meta-variables a host builds from an HTTP request (RFC 3875 §4.1), as Go's
//! `net/http/cgi.Handler` and Apache build them.

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};

/// Who hosts the script, and how it treats what a client sends.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    /// `SERVER_SOFTWARE`.
    pub(crate) software: &'static str,
    pub(crate) headers: HeaderPolicy,
    /// `SERVER_NAME`, and the `Host` of a request that has none: a host with one name
    /// answers as that virtual host. `None`: the name in the `Host` header, else the local
    /// address.
    pub(crate) server_name: Option<String>,
    /// The address the request came in on: `SERVER_PORT` (and `SERVER_NAME` without one).
    pub(crate) local: SocketAddr,
    /// `REMOTE_ADDR`.
    pub(crate) remote_addr: Option<IpAddr>,
    /// `REMOTE_PORT`.
    pub(crate) remote_port: Option<u16>,
    /// The `PATH` the script gets: a host passes its own, and nothing else of its
    /// environment.
    pub(crate) path: Option<OsString>,
}

/// How the host treats headers that are not plain data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderPolicy {
    /// The test kit and the terminal request: every header passes as given, so that a
    /// test can send what a careless or hostile server would (a `Proxy` header, an
    /// underscored name, a `Content-Length` that lies).
    Permissive,
    /// The development server, as Apache behaves: the host recomputes the body headers,
    /// drops `Proxy` (httpoxy) and drops underscored names, so that `X_Forwarded_For`
    /// cannot pose as `X-Forwarded-For`, and names that are not tokens (the server answers
    /// those 400 first: [`first_invalid_header_name`]).
    Faithful,
}

impl Host {
    /// The host of a request made up in this process (the test kit, the terminal): a
    /// server named `localhost` on port 80, a client on 127.0.0.1, every header as given.
    pub(crate) fn in_process(software: &'static str) -> Self {
        Host {
            software,
            headers: HeaderPolicy::Permissive,
            server_name: Some("localhost".to_owned()),
            local: SocketAddr::from(([127, 0, 0, 1], 80)),
            remote_addr: Some(IpAddr::from([127, 0, 0, 1])),
            remote_port: None,
            path: None,
        }
    }
}

/// What the host knows of one HTTP request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HttpRequest<'a> {
    pub(crate) method: &'a str,
    /// The request target: `/path?query`, the script at the root of the server.
    pub(crate) target: &'a str,
    /// `HTTP/1.1`.
    pub(crate) protocol: &'a str,
    /// In the order received; a name given twice is joined (see [`join`]).
    pub(crate) headers: &'a [(String, String)],
    /// `CONTENT_LENGTH`, when there is a body.
    pub(crate) content_length: Option<u64>,
}

/// The meta-variables for `request`: the request line's, the host's, then one per header.
/// A header variable replaces a default of the same name (a test's `Content-Length` that
/// lies, its own `Host`).
pub(crate) fn cgi_variables(host: &Host, request: &HttpRequest<'_>) -> Vec<(OsString, OsString)> {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((request.target, ""));
    let server_name = host.server_name.clone().unwrap_or_else(|| {
        header(request.headers, "host")
            .map(|host| {
                host.rsplit_once(':')
                    .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
                    .map_or(host, |(name, _)| name)
                    .to_owned()
            })
            .unwrap_or_else(|| host.local.ip().to_string())
    });
    let mut vars: Vec<(String, OsString)> = vec![
        ("GATEWAY_INTERFACE".into(), "CGI/1.1".into()),
        ("SERVER_SOFTWARE".into(), host.software.into()),
        ("SERVER_PROTOCOL".into(), request.protocol.into()),
        ("SERVER_NAME".into(), server_name.into()),
        ("SERVER_PORT".into(), host.local.port().to_string().into()),
        ("REQUEST_METHOD".into(), request.method.into()),
        ("REQUEST_URI".into(), request.target.into()),
        ("SCRIPT_NAME".into(), "".into()),
        // Decoded, as RFC 3875 §4.1.5 says.
        ("PATH_INFO".into(), percent_decode_path(path)),
        ("QUERY_STRING".into(), query.into()),
    ];
    if let Some(path) = &host.path {
        vars.push(("PATH".into(), path.clone()));
    }
    if let Some(addr) = host.remote_addr {
        vars.push(("REMOTE_ADDR".into(), addr.to_string().into()));
    }
    if let Some(port) = host.remote_port {
        vars.push(("REMOTE_PORT".into(), port.to_string().into()));
    }
    if let Some(name) = &host.server_name
        && header(request.headers, "host").is_none()
    {
        vars.push(("HTTP_HOST".into(), name.into()));
    }
    if let Some(length) = request.content_length {
        vars.push(("CONTENT_LENGTH".into(), length.to_string().into()));
    }
    let headers = request
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    for (variable, value) in from_headers(headers, host.headers) {
        vars.retain(|(existing, _)| *existing != variable);
        vars.push((variable, value.into()));
    }
    vars.into_iter()
        .map(|(name, value)| (name.into(), value))
        .collect()
}

/// The first header name that is not an HTTP token (RFC 9110 §5.6.2), if any. A host
/// answers such a request 400, as Apache and Go do: turned into a variable name, a name
/// like `X-Forwarded-For=REMOTE-ADDR` would make the script's environment hold another
/// variable than the one the header names (`HTTP_X_FORWARDED_FOR=REMOTE_ADDR=...`).
#[cfg(any(test, all(feature = "serve", debug_assertions)))]
pub(crate) fn first_invalid_header_name(headers: &[(String, String)]) -> Option<&str> {
    headers
        .iter()
        .map(|(name, _)| name.as_str())
        .find(|name| !is_token(name))
}

/// RFC 9110 §5.6.2: `1*tchar`, the characters a header name may hold.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Decodes `%HH` in a path, as servers do for `PATH_INFO`; other bytes pass through.
fn percent_decode_path(path: &str) -> OsString {
    let decoded: Vec<u8> = crate::percent::decode(path.as_bytes());
    match String::from_utf8(decoded) {
        Ok(text) => text.into(),
        Err(error) => bytes_to_os_string(error.into_bytes()),
    }
}

#[cfg(unix)]
fn bytes_to_os_string(bytes: Vec<u8>) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(bytes)
}

#[cfg(not(unix))]
fn bytes_to_os_string(bytes: Vec<u8>) -> OsString {
    String::from_utf8_lossy(&bytes).into_owned().into()
}

/// `(variable, value)` pairs in first-appearance order: `Accept-Language` →
/// `HTTP_ACCEPT_LANGUAGE`, `Content-Type` → `CONTENT_TYPE`, `Content-Length` →
/// `CONTENT_LENGTH`. A header given twice becomes one variable (see [`join`]).
fn from_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    policy: HeaderPolicy,
) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        let recomputed_or_unsafe = matches!(
            lower.as_str(),
            "proxy" | "content-length" | "transfer-encoding"
        ) || name.contains('_')
            || !is_token(name);
        if policy == HeaderPolicy::Faithful && recomputed_or_unsafe {
            continue;
        }
        let variable = match lower.as_str() {
            "content-type" => "CONTENT_TYPE".to_owned(),
            "content-length" => "CONTENT_LENGTH".to_owned(),
            _ => format!("HTTP_{}", lower.to_ascii_uppercase().replace('-', "_")),
        };
        join(&mut vars, variable, value);
    }
    vars
}

/// Adds `variable`, or joins `value` to an earlier one of that name: with ", " as Apache
/// joins repeated headers, and Cookie headers with "; " (RFC 6265 §5.4: one cookie list).
fn join(vars: &mut Vec<(String, String)>, variable: String, value: &str) {
    match vars.iter_mut().find(|(existing, _)| *existing == variable) {
        Some((name, joined)) => {
            joined.push_str(if name == "HTTP_COOKIE" { "; " } else { ", " });
            joined.push_str(value);
        }
        None => vars.push((variable, value.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(headers: &[(&str, &str)], policy: HeaderPolicy) -> Vec<(String, String)> {
        from_headers(headers.iter().copied(), policy)
    }

    #[test]
    fn names_and_joins() {
        let pairs = [
            ("Accept-Language", "fr"),
            ("X-Dup", "a"),
            ("x-dup", "b"),
            ("Cookie", "a=1"),
            ("Cookie", "b=2"),
            ("Content-Type", "text/plain"),
        ];
        let expected = [
            ("HTTP_ACCEPT_LANGUAGE", "fr"),
            ("HTTP_X_DUP", "a, b"),
            ("HTTP_COOKIE", "a=1; b=2"),
            ("CONTENT_TYPE", "text/plain"),
        ];
        for policy in [HeaderPolicy::Permissive, HeaderPolicy::Faithful] {
            let got = vars(&pairs, policy);
            assert_eq!(
                got.iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
                expected,
                "{policy:?}"
            );
        }
    }

    #[test]
    fn only_the_faithful_host_drops_what_a_server_would() {
        let pairs = [
            ("Proxy", "http://evil:1"),
            ("X_Under", "1"),
            ("Content-Length", "99"),
            ("Transfer-Encoding", "chunked"),
        ];
        assert_eq!(vars(&pairs, HeaderPolicy::Faithful), []);
        let permissive: Vec<String> = vars(&pairs, HeaderPolicy::Permissive)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            permissive,
            [
                "HTTP_PROXY",
                "HTTP_X_UNDER",
                "CONTENT_LENGTH",
                "HTTP_TRANSFER_ENCODING"
            ]
        );
    }

    #[test]
    fn header_names_must_be_tokens() {
        let headers = |names: &[&str]| -> Vec<(String, String)> {
            names
                .iter()
                .map(|name| ((*name).to_owned(), "6.6.6.6".to_owned()))
                .collect()
        };
        assert_eq!(
            first_invalid_header_name(&headers(&["Accept", "X-A_b.c~!#$%&'*+^`|"])),
            None
        );
        for bad in [
            "X-Forwarded-For=REMOTE-ADDR",
            "X Forwarded",
            "",
            "X\tY",
            "X(Y)",
            "X\"Y",
            "X/Y",
            "Xé",
        ] {
            assert_eq!(
                first_invalid_header_name(&headers(&["Accept", bad, "Y="])),
                Some(bad),
                "{bad:?}"
            );
            // And a faithful host would never turn one into a variable anyway.
            assert_eq!(vars(&[(bad, "6.6.6.6")], HeaderPolicy::Faithful), []);
        }
    }

    /// The variables a development server on 127.0.0.1:8000 gives for a GET of `target`.
    fn dev_vars(headers: &[(&str, &str)], target: &str) -> Vec<(String, String)> {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let host = Host {
            software: "cgikit-dev",
            headers: HeaderPolicy::Faithful,
            server_name: None,
            local: "127.0.0.1:8000".parse().unwrap(),
            remote_addr: Some("127.0.0.1".parse().unwrap()),
            remote_port: Some(54321),
            path: None,
        };
        let request = HttpRequest {
            method: "GET",
            target,
            protocol: "HTTP/1.1",
            headers: &headers,
            content_length: None,
        };
        cgi_variables(&host, &request)
            .into_iter()
            .map(|(name, value)| {
                (
                    name.to_string_lossy().into_owned(),
                    value.to_string_lossy().into_owned(),
                )
            })
            .collect()
    }

    fn get<'a>(vars: &'a [(String, String)], name: &str) -> Option<&'a str> {
        vars.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn request_line_and_headers() {
        let vars = dev_vars(
            &[
                ("Host", "example.com:8000"),
                ("X-Dup", "a"),
                ("X-Dup", "b"),
                ("Cookie", "a=1"),
                ("Cookie", "b=2"),
            ],
            "/p%20q/r?x=1",
        );
        assert_eq!(get(&vars, "PATH_INFO"), Some("/p q/r"));
        assert_eq!(get(&vars, "QUERY_STRING"), Some("x=1"));
        assert_eq!(get(&vars, "REQUEST_URI"), Some("/p%20q/r?x=1"));
        assert_eq!(get(&vars, "SERVER_NAME"), Some("example.com"));
        assert_eq!(get(&vars, "SERVER_PORT"), Some("8000"));
        assert_eq!(get(&vars, "HTTP_X_DUP"), Some("a, b"));
        assert_eq!(get(&vars, "HTTP_COOKIE"), Some("a=1; b=2"));
        assert_eq!(get(&vars, "REMOTE_PORT"), Some("54321"));
        assert!(get(&vars, "CONTENT_LENGTH").is_none());
    }

    #[test]
    fn proxy_and_underscored_headers_are_dropped() {
        let vars = dev_vars(
            &[
                ("Proxy", "http://evil:1"),
                ("X_Forwarded_For", "1.2.3.4"),
                ("Content-Type", "text/plain"),
            ],
            "/",
        );
        assert!(get(&vars, "HTTP_PROXY").is_none());
        assert!(!vars.iter().any(|(name, _)| name.contains("FORWARDED")));
        assert_eq!(get(&vars, "CONTENT_TYPE"), Some("text/plain"));
        assert!(get(&vars, "HTTP_CONTENT_TYPE").is_none());
    }
}
