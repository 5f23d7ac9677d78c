//! The CGI environment a faithful host builds from an HTTP request (RFC 3875 §4.1), as Go's
//! `net/http/cgi.Handler` does.

use std::ffi::OsString;
use std::net::SocketAddr;

use crate::header_variables::{self, Host};

/// The meta-variables for one request to the script at the root of the server.
pub(crate) struct RequestLine {
    pub(crate) method: String,
    /// The request target: `/path?query`.
    pub(crate) target: String,
    pub(crate) protocol: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body_length: usize,
    pub(crate) local: SocketAddr,
    pub(crate) remote: Option<SocketAddr>,
}

pub(crate) fn build(request: &RequestLine) -> Vec<(OsString, OsString)> {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    let host = header(&request.headers, "host");
    let server_name = host
        .map(|host| {
            host.rsplit_once(':')
                .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
                .map_or(host, |(name, _)| name)
        })
        .map_or_else(|| request.local.ip().to_string(), str::to_owned);
    let mut vars: Vec<(String, OsString)> = vec![
        ("GATEWAY_INTERFACE".into(), "CGI/1.1".into()),
        ("SERVER_SOFTWARE".into(), "cgikit-dev".into()),
        ("SERVER_PROTOCOL".into(), request.protocol.as_str().into()),
        ("SERVER_NAME".into(), server_name.into()),
        (
            "SERVER_PORT".into(),
            request.local.port().to_string().into(),
        ),
        ("REQUEST_METHOD".into(), request.method.as_str().into()),
        ("REQUEST_URI".into(), request.target.as_str().into()),
        ("SCRIPT_NAME".into(), "".into()),
        // Decoded, as RFC 3875 §4.1.5 says, by the same code as the test kit.
        ("PATH_INFO".into(), crate::test::percent_decode_path(path)),
        ("QUERY_STRING".into(), query.into()),
        // Children get the server's PATH only; no other variable of this process leaks in.
        (
            "PATH".into(),
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
        ),
    ];
    if let Some(remote) = request.remote {
        vars.push(("REMOTE_ADDR".into(), remote.ip().to_string().into()));
        vars.push(("REMOTE_PORT".into(), remote.port().to_string().into()));
    }
    if request.body_length > 0 {
        vars.push((
            "CONTENT_LENGTH".into(),
            request.body_length.to_string().into(),
        ));
    }
    let headers = request
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    for (variable, value) in header_variables::from_headers(headers, Host::Faithful) {
        vars.push((variable, value.into()));
    }
    vars.into_iter()
        .map(|(name, value)| (name.into(), value))
        .collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(headers: &[(&str, &str)], target: &str) -> Vec<(String, String)> {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        build(&RequestLine {
            method: "GET".into(),
            target: target.into(),
            protocol: "HTTP/1.1".into(),
            headers,
            body_length: 0,
            local: "127.0.0.1:8000".parse().unwrap(),
            remote: Some("127.0.0.1:54321".parse().unwrap()),
        })
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
        let vars = vars(
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
        let vars = vars(
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
