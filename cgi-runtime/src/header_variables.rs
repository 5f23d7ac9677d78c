//! HTTP request headers into CGI meta-variables (RFC 3875 §4.1.18), as a host builds them:
//! one mapping for the test kit, the offline CLI and the development server.

/// How the host treats headers that are not plain data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Host {
    /// The test kit and the CLI: every header passes as given, so that a test can send
    /// what a careless or hostile server would (a `Proxy` header, an underscored name, a
    /// `Content-Length` that lies).
    Permissive,
    /// The development server, as Apache behaves: the host recomputes the body headers,
    /// drops `Proxy` (httpoxy) and drops underscored names, so that `X_Forwarded_For`
    /// cannot pose as `X-Forwarded-For`.
    Faithful,
}

/// `(variable, value)` pairs in first-appearance order: `Accept-Language` →
/// `HTTP_ACCEPT_LANGUAGE`, `Content-Type` → `CONTENT_TYPE`, `Content-Length` →
/// `CONTENT_LENGTH`. A header given twice becomes one variable (see [`join`]).
pub(crate) fn from_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    host: Host,
) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        let recomputed_or_unsafe = matches!(
            lower.as_str(),
            "proxy" | "content-length" | "transfer-encoding"
        ) || name.contains('_');
        if host == Host::Faithful && recomputed_or_unsafe {
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
pub(crate) fn join(vars: &mut Vec<(String, String)>, variable: String, value: &str) {
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

    fn vars(headers: &[(&str, &str)], host: Host) -> Vec<(String, String)> {
        from_headers(headers.iter().copied(), host)
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
        for host in [Host::Permissive, Host::Faithful] {
            let got = vars(&pairs, host);
            assert_eq!(
                got.iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
                expected,
                "{host:?}"
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
        assert_eq!(vars(&pairs, Host::Faithful), []);
        let permissive: Vec<String> = vars(&pairs, Host::Permissive)
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
}
