//! Serialises a response as CGI output (RFC 3875 §6).

use std::io::{self, Read, Write};

use http::StatusCode;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, LOCATION};

use super::Response;
use super::response_body::BodyContent;

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

/// The generic 500's body: the same whether the handler panicked or its response could
/// not be written.
pub(crate) const INTERNAL_ERROR_BODY: &str = "Internal Server Error\n";

const INTERNAL_ERROR: &[u8] = concat!(
    "Status: 500 Internal Server Error\r\n",
    "Content-Type: text/plain; charset=utf-8\r\n",
    "Content-Length: 22\r\n",
    "\r\n",
    "Internal Server Error\n",
)
.as_bytes();

/// Writes a response as CGI output: `Status` first (busybox only honours it there),
/// `Content-Type` and `Location` next, then the other headers, `Content-Length` when the
/// length is known, a blank line and the body; all lines end in CRLF. A HEAD request gets
/// the same headers and no body (§4.3.3). A body in memory goes out in one write; a stream
/// is copied in chunks. Lines for the server's error log go to `log`.
///
/// A response that cannot be written safely (an invalid header, a server-only header, a
/// status outside 200-599) becomes a generic 500; the reason goes to the log only.
pub(crate) fn write_cgi(
    response: Response,
    head_only: bool,
    out: &mut dyn Write,
    log: &mut dyn FnMut(&str),
) -> io::Result<()> {
    if let Err(reason) = check(&response) {
        log(&format!(
            "answered 500 instead of the handler's response: {reason}"
        ));
        // RFC 3875 §4.3.3: no body for HEAD, the generic answer included.
        let head_length = INTERNAL_ERROR.len() - INTERNAL_ERROR_BODY.len();
        return out.write_all(if head_only {
            &INTERNAL_ERROR[..head_length]
        } else {
            INTERNAL_ERROR
        });
    }
    if let Some(diagnostic) = &response.diagnostic {
        log(diagnostic);
    }
    if response.local_redirect {
        // RFC 3875 §6.2.2: the Location line alone; the server fetches the path itself.
        let mut head = Vec::with_capacity(64);
        if let Some(location) = response.headers.get(LOCATION) {
            write_header(&mut head, &LOCATION, location.as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        return out.write_all(&head);
    }
    let Response {
        status,
        headers,
        body,
        ..
    } = response;
    let has_body = !matches!(status.as_u16(), 204 | 205 | 304);
    let length = body.len();
    let mut head = Vec::with_capacity(160 + body.as_bytes().map_or(0, <[u8]>::len));

    head.extend_from_slice(b"Status: ");
    head.extend_from_slice(status.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(reason_phrase(status).as_bytes());
    head.extend_from_slice(b"\r\n");

    if has_body {
        head.extend_from_slice(b"Content-Type: ");
        match headers.get(CONTENT_TYPE) {
            Some(value) => head.extend_from_slice(value.as_bytes()),
            None => head.extend_from_slice(body.default_content_type().as_bytes()),
        }
        head.extend_from_slice(b"\r\n");
    }
    if let Some(location) = headers.get(LOCATION) {
        write_header(&mut head, &LOCATION, location.as_bytes());
    }
    for (name, value) in &headers {
        // Content-Length is always computed here; a handler's own could disagree with the body.
        if name != CONTENT_TYPE && name != LOCATION && name != CONTENT_LENGTH {
            write_header(&mut head, name, value.as_bytes());
        }
    }
    if let (true, Some(length)) = (has_body, length) {
        head.extend_from_slice(b"Content-Length: ");
        push_decimal(&mut head, length);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    let send_body = has_body && !head_only;
    match body.into_content() {
        BodyContent::Memory(bytes) => {
            if send_body {
                head.extend_from_slice(&bytes);
            }
            out.write_all(&head)
        }
        BodyContent::Stream { reader, length } => {
            out.write_all(&head)?;
            if send_body {
                copy_stream(reader, length, out, log)
            } else {
                Ok(())
            }
        }
    }
}

/// Appends `n` in decimal, without the formatting machinery (every response runs this).
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// The most of a streamed body read and written at once.
const CHUNK: usize = 64 * 1024;

/// Copies a streamed body in bounded chunks, flushing `out` after each. The headers are out already, so a stream
/// that fails or ends short can only be logged and reported as a failed write.
fn copy_stream(
    mut reader: Box<dyn Read + Send>,
    length: Option<u64>,
    out: &mut dyn Write,
    log: &mut dyn FnMut(&str),
) -> io::Result<()> {
    // No larger than the body: zeroing 64 KiB costs a small answer more than the rest of it.
    let size = length.map_or(CHUNK, |length| {
        usize::try_from(length).map_or(CHUNK, |length| length.min(CHUNK))
    });
    let mut chunk = vec![0u8; size];
    let mut sent: u64 = 0;
    loop {
        let wanted = length.map_or(chunk.len(), |length| {
            usize::try_from(length - sent).map_or(chunk.len(), |left| left.min(chunk.len()))
        });
        if wanted == 0 {
            return Ok(());
        }
        let read = match reader.read(&mut chunk[..wanted]) {
            Ok(0) if length.is_none() => return Ok(()),
            Ok(0) => {
                let reason = format!(
                    "the response body ended after {sent} of {} bytes",
                    length.unwrap_or(0)
                );
                log(&reason);
                return Err(io::Error::other(reason));
            }
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                log(&format!(
                    "reading the response body failed after {sent} bytes: {error}"
                ));
                return Err(io::Error::other(error));
            }
        };
        out.write_all(&chunk[..read])?;
        // Each piece reaches the client as it comes (server-sent events, progress), not
        // when a host's buffer fills.
        out.flush()?;
        sent += read as u64;
    }
}

fn check(response: &Response) -> Result<(), String> {
    if let Some(failure) = &response.failure {
        return Err(failure.clone());
    }
    if response.local_redirect {
        return match response.headers.len() {
            1 if response.headers.contains_key(LOCATION) => Ok(()),
            _ => Err(
                "a local redirect (RFC 3875 §6.2.2) carries a Location and nothing else".to_owned(),
            ),
        };
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
    if response.headers.contains_key(LOCATION) && !location_goes_with(response.status) {
        return Err(format!(
            "a `Location` header with status {}: servers disagree on what that means (Apache \
             answers with the document at that location, nginx sends the {} as it is); \
             redirect with `Redirect` or a 3xx status (RFC 3875 §6.2)",
            response.status.as_u16(),
            response.status.as_u16(),
        ));
    }
    Ok(())
}

/// Whether a `Location` header may go with `status`: a redirect (3xx, RFC 3875 §6.2.3-4),
/// or `201 Created`, whose `Location` names what was created and which servers pass through
/// alike. On a `200` Apache treats it as a local redirect (§6.2.2) and serves another
/// document, while nginx and lighttpd send the `200`; on other statuses it means nothing.
fn location_goes_with(status: StatusCode) -> bool {
    status.is_redirection() || status == StatusCode::CREATED
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
        let mut bytes = Vec::new();
        write_cgi(
            response.into_response(),
            head_only,
            &mut bytes,
            &mut |line| {
                lines.push(line.to_owned());
            },
        )
        .unwrap();
        (String::from_utf8(bytes).unwrap(), lines)
    }

    #[test]
    fn lengths_are_decimal() {
        for n in [0, 7, 10, 14, 999, 1 << 20, u64::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }

    #[test]
    fn the_generic_500_is_one_answer() {
        let (out, _) = cgi(Response::internal_error(), false);
        assert_eq!(out.as_bytes(), INTERNAL_ERROR);
        assert!(INTERNAL_ERROR.ends_with(INTERNAL_ERROR_BODY.as_bytes()));
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
            Response::builder()
                .header("Location", "/elsewhere")
                .body("x"),
            Response::builder()
                .status(StatusCode::NOT_FOUND)
                .header("Location", "/elsewhere")
                .body("x"),
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
    fn location_goes_only_with_a_redirect_or_201() {
        let (out, log) = cgi(
            Response::builder()
                .header("Location", "/elsewhere")
                .body("<p>moved</p>"),
            false,
        );
        assert_eq!(out.as_bytes(), INTERNAL_ERROR);
        assert_eq!(log.len(), 1, "{log:?}");
        assert!(
            log[0].contains("`Location` header with status 200") && log[0].contains("Redirect"),
            "{log:?}"
        );
        for (status, line) in [
            (StatusCode::SEE_OTHER, "Status: 303 See Other\r\n"),
            (
                StatusCode::MOVED_PERMANENTLY,
                "Status: 301 Moved Permanently\r\n",
            ),
            (StatusCode::CREATED, "Status: 201 Created\r\n"),
        ] {
            let (out, log) = cgi(
                Response::builder()
                    .status(status)
                    .header("Location", "/elsewhere")
                    .body("x"),
                false,
            );
            assert!(
                out.starts_with(line) && out.contains("\r\nLocation: /elsewhere\r\n"),
                "{out}"
            );
            assert!(log.is_empty(), "{log:?}");
        }
        // A local redirect is a Location alone, with no status of its own.
        let (out, _) = cgi(crate::LocalRedirect::to("/other"), false);
        assert_eq!(out, "Location: /other\r\n\r\n");
    }

    #[test]
    fn head_gets_no_body_even_with_the_generic_500() {
        let (out, _) = cgi(Response::builder().header("X", "a\nb").body("x"), true);
        assert_eq!(
            out,
            "Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 22\r\n\r\n"
        );
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
