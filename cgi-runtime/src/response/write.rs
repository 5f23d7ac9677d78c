//! Serialises a response as CGI output (RFC 3875 §6).

use http::StatusCode;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, LOCATION};

use super::Response;

/// Response headers that describe the connection, not the document: RFC 3875 §6.3.4 says
/// a script MUST NOT send them, and `Status` belongs to the status code.
const SERVER_ONLY_HEADERS: [&str; 8] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "status",
    "proxy-connection",
];

const INTERNAL_ERROR: &[u8] = b"Status: 500 Internal Server Error\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 22\r\n\
\r\n\
Internal Server Error\n";

/// The CGI bytes for a response: `Status` first (busybox only honours it there),
/// `Content-Type` and `Location` next, then the other headers, `Content-Length`, a blank
/// line and the body; all lines end in CRLF. A HEAD request gets the same headers and no
/// body (§4.3.3). Lines for the server's error log go to `log`.
///
/// A response that cannot be written safely (an invalid header, a server-only header, a
/// status outside 200-599) becomes a generic 500; the reason goes to the log only.
pub(crate) fn to_cgi_bytes(
    response: Response,
    head_only: bool,
    log: &mut dyn FnMut(&str),
) -> Vec<u8> {
    if let Err(reason) = check(&response) {
        log(&format!(
            "answered 500 instead of the handler's response: {reason}"
        ));
        return INTERNAL_ERROR.to_vec();
    }
    if let Some(diagnostic) = &response.diagnostic {
        log(diagnostic);
    }
    let status = response.status;
    let has_body = !matches!(status.as_u16(), 204 | 205 | 304);
    let body = response.body.as_bytes();
    let mut out = Vec::with_capacity(160 + body.len());

    out.extend_from_slice(b"Status: ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");

    if has_body {
        out.extend_from_slice(b"Content-Type: ");
        match response.headers.get(CONTENT_TYPE) {
            Some(value) => out.extend_from_slice(value.as_bytes()),
            None => out.extend_from_slice(response.body.default_content_type().as_bytes()),
        }
        out.extend_from_slice(b"\r\n");
    }
    if let Some(location) = response.headers.get(LOCATION) {
        write_header(&mut out, &LOCATION, location.as_bytes());
    }
    for (name, value) in &response.headers {
        // Content-Length is always computed here; a handler's own could disagree with the body.
        if name != CONTENT_TYPE && name != LOCATION && name != CONTENT_LENGTH {
            write_header(&mut out, name, value.as_bytes());
        }
    }
    if has_body {
        out.extend_from_slice(b"Content-Length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if has_body && !head_only {
        out.extend_from_slice(body);
    }
    out
}

fn check(response: &Response) -> Result<(), String> {
    if let Some(failure) = &response.failure {
        return Err(failure.clone());
    }
    if !(200..=599).contains(&response.status.as_u16()) {
        return Err(format!(
            "status {} cannot end a CGI response (use 200-599)",
            response.status.as_u16()
        ));
    }
    if let Some(name) = response.headers.keys().find(|name| is_server_only(name)) {
        return Err(format!(
            "the `{name}` header is for the server, not the script (RFC 3875 §6.3.4)"
        ));
    }
    Ok(())
}

fn is_server_only(name: &HeaderName) -> bool {
    SERVER_ONLY_HEADERS.contains(&name.as_str()) || name.as_str().starts_with("proxy-")
}

fn reason_phrase(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or(match status.as_u16() {
        200..=299 => "Success",
        300..=399 => "Redirection",
        400..=499 => "Client Error",
        _ => "Server Error",
    })
}

/// Writes `Name: value` with the name in its usual capitalisation (`x-request-id` →
/// `X-Request-Id`): servers read names case-insensitively, people read the output.
fn write_header(out: &mut Vec<u8>, name: &HeaderName, value: &[u8]) {
    let mut capitalise = true;
    for &byte in name.as_str().as_bytes() {
        out.push(if capitalise {
            byte.to_ascii_uppercase()
        } else {
            byte
        });
        capitalise = byte == b'-';
    }
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Html, IntoResponse, Redirect, SetCookie};

    fn cgi(response: impl IntoResponse, head_only: bool) -> (String, Vec<String>) {
        let mut lines = Vec::new();
        let bytes = to_cgi_bytes(response.into_response(), head_only, &mut |line| {
            lines.push(line.to_owned());
        });
        (String::from_utf8(bytes).unwrap(), lines)
    }

    #[test]
    fn text_is_a_complete_document() {
        let (out, log) = cgi("Hello, world!\n", false);
        assert_eq!(
            out,
            "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\nHello, world!\n"
        );
        assert!(log.is_empty());
    }

    #[test]
    fn head_keeps_the_headers_and_drops_the_body() {
        let (out, _) = cgi(Html("<p>hi</p>"), true);
        assert_eq!(
            out,
            "Status: 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 9\r\n\r\n"
        );
    }

    #[test]
    fn no_content_has_no_body_headers() {
        let (out, _) = cgi((), false);
        assert_eq!(out, "Status: 204 No Content\r\n\r\n");
    }

    #[test]
    fn redirect_puts_location_after_content_type() {
        let (out, _) = cgi(Redirect::to("/next?a=1&b=2"), false);
        assert!(
            out.starts_with("Status: 303 See Other\r\nContent-Type: text/html; charset=utf-8\r\nLocation: /next?a=1&b=2\r\nContent-Length: "),
            "{out}"
        );
        assert!(out.contains("href=\"/next?a=1&amp;b=2\""), "{out}");
    }

    #[test]
    fn every_cookie_gets_its_own_line() {
        let response = Response::builder()
            .header("X-Request-Id", "7")
            .cookie(SetCookie::new("a", "1"))
            .cookie(SetCookie::new("b", "2"))
            .body("ok");
        let (out, _) = cgi(response, false);
        assert!(
            out.contains("\r\nX-Request-Id: 7\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"),
            "{out}"
        );
    }

    #[test]
    fn invalid_headers_fail_closed() {
        for response in [
            Response::builder()
                .header("X-Echo", "a\r\nSet-Cookie: admin=1")
                .body("x"),
            Response::builder().header("X-Echo", "a\nb").body("x"),
            Response::builder().header("X-Echo", "a\0b").body("x"),
            Response::builder().header("Bad Name", "v").body("x"),
            Response::builder()
                .header("Transfer-Encoding", "chunked")
                .body("x"),
            Response::builder().header("Connection", "close").body("x"),
            Response::builder().header("Status", "200 OK").body("x"),
            Response::builder()
                .cookie(SetCookie::new("a", "b\r\nX: y"))
                .body("x"),
            Redirect::to("/x\r\nSet-Cookie: admin=1").into_response(),
        ] {
            let (out, log) = cgi(response, false);
            assert_eq!(out.as_bytes(), INTERNAL_ERROR);
            assert_eq!(log.len(), 1, "{log:?}");
            assert!(
                !log[0].contains("admin=1"),
                "the log names the problem, not the value: {log:?}"
            );
        }
    }

    #[test]
    fn statuses_outside_the_cgi_range_fail_closed() {
        for code in [101, 600, 999] {
            let (out, _) = cgi(StatusCode::from_u16(code).unwrap(), false);
            assert_eq!(out.as_bytes(), INTERNAL_ERROR, "{code}");
        }
        let (out, _) = cgi(StatusCode::from_u16(299).unwrap(), false);
        assert!(out.starts_with("Status: 299 Success\r\n"), "{out}");
    }

    #[test]
    fn content_length_is_always_the_real_one() {
        let response = Response::builder()
            .header("Content-Length", "999")
            .body("four");
        let (out, _) = cgi(response, false);
        assert!(
            out.contains("\r\nContent-Length: 4\r\n") && !out.contains("999"),
            "{out}"
        );
    }

    #[test]
    fn rejections_log_their_reason() {
        let (out, log) = cgi(
            Response::rejection(StatusCode::BAD_REQUEST, "bad thing".into()),
            false,
        );
        assert!(out.starts_with("Status: 400 Bad Request\r\n"), "{out}");
        assert!(out.ends_with("\r\n\r\nbad thing\n"), "{out}");
        assert_eq!(log, ["400 bad thing"]);
    }
}
