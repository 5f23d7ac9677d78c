//! Fuzzes the request as the server hands it over: arbitrary meta-variables and body,
//! through the real core, into a handler that takes `cgi::Request` and calls every
//! accessor.
//!
//! Input: up to the first `\0\0`, meta-variables, one per line (`\n`), as `NAME=VALUE`
//! (the name up to the first `=`, lossily made UTF-8; the value any bytes). A line that
//! starts with a tab continues the previous value after a line feed, so values can hold
//! LF: `HTTP_X=a\n\tb` sets `HTTP_X` to `a\nb`. A line without `=`, or with an empty
//! value, unsets the variable. Everything after the `\0\0` is the body; without one the
//! request has no body. The variables go on top of `cgi::test::TestRequest::get("/")`'s
//! (`REQUEST_METHOD=GET`, `SERVER_NAME=localhost`, ..., and `CONTENT_LENGTH` when there
//! is a body), replacing any of the same name, as `TestRequest::var` does.
//!
//! Checked:
//! - no panic;
//! - the handler runs exactly when the request is acceptable (a valid `REQUEST_METHOD`,
//!   a `CONTENT_LENGTH` of digits within the body limit, no transfer-coding without a
//!   length), and otherwise the answer is the documented rejection (500, 400, 413, 411);
//! - every accessor agrees with the meta-variables (`vars()`), as documented, and
//!   `vars()` with what was set; the header map is exactly the `HTTP_*` variables that
//!   can be headers, plus `CONTENT_TYPE`/`CONTENT_LENGTH`;
//! - the body reads as the first `CONTENT_LENGTH` bytes sent, or fails when fewer came;
//! - `Debug` shows nothing but the method, the URI and the body's length (no values);
//! - the output is a well-formed CGI response (see `common::parse`).

#![no_main]

mod common;

use std::cell::Cell;
use std::ffi::OsStr;
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;

use cgi::http::{HeaderName, HeaderValue, Uri};
use cgi::test::TestRequest;
use cgi::{Limits, Method, Request};
use libfuzzer_sys::fuzz_target;

struct Input {
    /// In input order; a later one replaces an earlier one of the same name.
    vars: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
}

impl Input {
    fn parse(data: &[u8]) -> Input {
        let (head, body) = match common::find(data, b"\0\0") {
            Some(at) => (&data[..at], Some(data[at + 2..].to_vec())),
            None => (data, None),
        };
        let mut vars: Vec<(String, Vec<u8>)> = Vec::new();
        for line in head.split(|&byte| byte == b'\n') {
            if let (Some(rest), Some((_, value))) = (line.strip_prefix(b"\t"), vars.last_mut()) {
                value.push(b'\n');
                value.extend_from_slice(rest);
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let (name, value) = match line.iter().position(|&byte| byte == b'=') {
                Some(at) => (&line[..at], &line[at + 1..]),
                None => (line, &[][..]),
            };
            vars.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
        }
        Input { vars, body }
    }

    /// What the request's variable `name` will be: set here (the last setting wins; empty
    /// is unset), else the test kit's default.
    fn effective<'a>(&'a self, name: &str, default: Option<&'a [u8]>) -> Option<&'a [u8]> {
        match self.vars.iter().rev().find(|(key, _)| key == name) {
            Some((_, value)) if value.is_empty() => None,
            Some((_, value)) => Some(value),
            None => default,
        }
    }

    /// Each name set here, with its last value.
    fn last_values(&self) -> Vec<(&str, &[u8])> {
        let mut last: Vec<(&str, &[u8])> = Vec::new();
        for (name, value) in &self.vars {
            last.retain(|(key, _)| key != name);
            last.push((name, value));
        }
        last
    }
}

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data);
    let sent: &[u8] = input.body.as_deref().unwrap_or_default();

    // What the core must make of it, from RFC 3875 and the documentation.
    let body_length = input.body.as_ref().map(|body| body.len().to_string());
    let method = input.effective("REQUEST_METHOD", Some(b"GET"));
    let content_length =
        input.effective("CONTENT_LENGTH", body_length.as_deref().map(str::as_bytes));
    let transfer_encoding = input.effective("HTTP_TRANSFER_ENCODING", None);
    let head_only = method == Some(b"HEAD");
    let expected_rejection = match method.map(Method::from_bytes) {
        None => Some(500),
        Some(Err(_)) => Some(400),
        Some(Ok(_)) => match content_length {
            None if transfer_encoding.is_some() => Some(411),
            None => None,
            Some(digits) if !digits.iter().all(u8::is_ascii_digit) => Some(400),
            Some(digits) => match std::str::from_utf8(digits).unwrap().parse::<u64>() {
                Ok(length) if length <= Limits::DEFAULT_MAX_BODY => None,
                _ => Some(413),
            },
        },
    };

    let mut request = TestRequest::get("/");
    if let Some(body) = &input.body {
        request = request.body(body.clone());
    }
    for (name, value) in &input.vars {
        request = request.var(name, OsStr::from_bytes(value));
    }
    let ran = Cell::new(false);
    let response = request.call(|request: Request| {
        ran.set(true);
        inspect(request, &input, sent)
    });
    let raw = response.raw();
    let output = common::parse(raw, head_only);
    match expected_rejection {
        None => {
            assert!(ran.get(), "the handler did not run: {:?}", output.shown());
            assert_eq!(output.status, Some(200), "{:?}", output.shown());
        }
        Some(status) => {
            assert!(!ran.get(), "the handler ran; expected a {status}");
            assert_eq!(output.status, Some(status), "{:?}", output.shown());
        }
    }
});

/// Calls every accessor, checks each against the meta-variables, reads the body.
fn inspect(mut request: Request, input: &Input, sent: &[u8]) -> String {
    let env: Vec<(Vec<u8>, Vec<u8>)> = request
        .vars()
        .map(|(name, value)| (name.as_bytes().to_vec(), value.as_bytes().to_vec()))
        .collect();
    // `vars()`: the non-empty variables; one set with `TestRequest::var` replaces any other
    // of its name, and an empty one is unset.
    assert!(
        env.iter().all(|(_, value)| !value.is_empty()),
        "an empty variable in vars()"
    );
    for (name, value) in input.last_values() {
        let found: Vec<&[u8]> = env
            .iter()
            .filter(|(key, _)| key == name.as_bytes())
            .map(|(_, value)| value.as_slice())
            .collect();
        if value.is_empty() {
            assert!(found.is_empty(), "{name} was unset, vars() has {found:?}");
        } else {
            assert_eq!(found, [value], "{name}");
        }
    }
    // The first of a name, as getenv finds it.
    let lookup = |name: &str| {
        env.iter()
            .find(|(key, _)| key == name.as_bytes())
            .map(|(_, value)| value.as_slice())
    };
    let text = |name: &str| lookup(name).and_then(|value| std::str::from_utf8(value).ok());

    for (name, _) in &env {
        if let Ok(name) = std::str::from_utf8(name) {
            assert_eq!(request.var(name), lookup(name), "var({name:?})");
        }
    }
    assert_eq!(
        Some(request.method().as_str().as_bytes()),
        lookup("REQUEST_METHOD"),
        "method()"
    );

    let uri = request.uri().to_string();
    assert!(
        uri.starts_with('/') || uri.contains("://"),
        "uri() is neither a path nor absolute: {uri:?}"
    );
    assert!(
        uri.bytes().all(|byte| byte.is_ascii_graphic()),
        "uri() holds a byte a URI cannot: {uri:?}"
    );
    assert!(
        uri.parse::<Uri>().is_ok(),
        "uri() does not parse again: {uri:?}"
    );
    if let Some(target) = lookup("REQUEST_URI") {
        // A plain path is taken as it is.
        let plain = target.starts_with(b"/")
            && !target.starts_with(b"//")
            && target
                .iter()
                .all(|&byte| byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte));
        if plain {
            assert_eq!(uri.as_bytes(), target, "uri() for a plain REQUEST_URI");
        }
    }

    assert_eq!(request.script_name(), text("SCRIPT_NAME"), "script_name()");
    assert_eq!(request.path_info(), text("PATH_INFO"), "path_info()");
    assert_eq!(
        request.query_string(),
        text("QUERY_STRING"),
        "query_string()"
    );
    assert_eq!(request.server_name(), text("SERVER_NAME"), "server_name()");
    assert_eq!(
        request.server_protocol(),
        text("SERVER_PROTOCOL"),
        "server_protocol()"
    );
    assert_eq!(
        request.server_software(),
        text("SERVER_SOFTWARE"),
        "server_software()"
    );
    assert_eq!(
        request.content_type(),
        text("CONTENT_TYPE"),
        "content_type()"
    );
    assert_eq!(
        request.server_port(),
        text("SERVER_PORT").and_then(|port| port.parse::<u16>().ok()),
        "server_port()"
    );
    assert_eq!(
        request.remote_port(),
        text("REMOTE_PORT").and_then(|port| port.parse::<u16>().ok()),
        "remote_port()"
    );
    assert_eq!(
        request.remote_addr(),
        text("REMOTE_ADDR").and_then(|addr| addr.parse::<IpAddr>().ok()),
        "remote_addr()"
    );
    assert_eq!(
        request.is_https(),
        matches!(lookup("HTTPS"), Some(b"on" | b"ON" | b"1"))
            || lookup("REQUEST_SCHEME").is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"https")),
        "is_https()"
    );

    check_headers(&request, &env);

    // The body: exactly CONTENT_LENGTH bytes of what was sent, or an error if fewer came.
    let announced = lookup("CONTENT_LENGTH")
        .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<u64>().ok())
        .unwrap_or(0);
    assert_eq!(
        request.content_length(),
        Some(announced).filter(|&n| n > 0),
        "content_length()"
    );
    assert_eq!(request.body().len(), announced, "body().len()");
    let debug = format!("{request:?}");
    // `Debug` leaves the values out (they hold cookies and credentials): with the method,
    // URI and body it shows taken out, what is left is the same for every request.
    let skeleton = debug
        .replacen(&format!("method: {:?}", request.method()), "method: _", 1)
        .replacen(&format!("uri: {:?}", request.uri()), "uri: _", 1)
        .replacen(&format!("body: {:?}", request.body()), "body: _", 1);
    static SKELETON: OnceLock<String> = OnceLock::new();
    assert_eq!(
        &skeleton,
        SKELETON.get_or_init(|| skeleton.clone()),
        "Debug shows more than the method, URI and body: {debug}"
    );
    let read = request.body_mut().read_to_vec();
    let announced = usize::try_from(announced).expect("within the body limit");
    match &read {
        Ok(bytes) => {
            assert!(
                announced <= sent.len(),
                "read {} bytes of {} sent",
                bytes.len(),
                sent.len()
            );
            assert_eq!(bytes.as_slice(), &sent[..announced], "the body read");
        }
        Err(rejection) => {
            assert!(
                announced > sent.len(),
                "the body ({} of {announced} bytes sent) failed to read: {rejection}",
                sent.len()
            );
        }
    }
    let mut rest = [0u8; 16];
    assert_eq!(
        std::io::Read::read(request.body_mut(), &mut rest).unwrap_or(0),
        0,
        "the body goes on after CONTENT_LENGTH"
    );

    format!(
        "{} {uri} {} headers, body {:?}, {debug}\n",
        request.method(),
        request.headers().len(),
        read.map(|bytes| bytes.len())
            .map_err(|rejection| rejection.to_string()),
    )
}

/// `headers()` is exactly the `HTTP_*` variables that make a valid header (name: the
/// suffix lower-cased, `_` as `-`), except `HTTP_CONTENT_TYPE`/`HTTP_CONTENT_LENGTH`, with
/// `CONTENT_TYPE`/`CONTENT_LENGTH` (when valid) replacing any header of their name; and
/// `header(name)` is that header as text when it is visible ASCII.
fn check_headers(request: &Request, env: &[(Vec<u8>, Vec<u8>)]) {
    let mut expected: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, value) in env {
        let Some(suffix) = name.strip_prefix(b"HTTP_") else {
            continue;
        };
        if suffix == b"CONTENT_TYPE" || suffix == b"CONTENT_LENGTH" {
            continue;
        }
        let mapped: Vec<u8> = suffix
            .iter()
            .map(|&byte| {
                if byte == b'_' {
                    b'-'
                } else {
                    byte.to_ascii_lowercase()
                }
            })
            .collect();
        if let (Ok(header), Ok(_)) = (
            HeaderName::from_bytes(&mapped),
            HeaderValue::from_bytes(value),
        ) {
            expected.push((header.as_str().to_owned(), value.clone()));
        }
    }
    for (variable, header) in [
        ("CONTENT_TYPE", "content-type"),
        ("CONTENT_LENGTH", "content-length"),
    ] {
        let value = env
            .iter()
            .find(|(key, _)| key == variable.as_bytes())
            .map(|(_, value)| value);
        if let Some(value) = value.filter(|value| HeaderValue::from_bytes(value).is_ok()) {
            expected.retain(|(name, _)| name != header);
            expected.push((header.to_owned(), value.clone()));
        }
    }
    let headers = request.headers();
    let mut actual: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    expected.sort();
    actual.sort();
    assert_eq!(actual, expected, "headers()");

    for name in headers.keys() {
        let first = headers.get(name).and_then(|value| value.to_str().ok());
        assert_eq!(request.header(name.as_str()), first, "header({name:?})");
        assert_eq!(
            request.header(&name.as_str().to_ascii_uppercase()),
            first,
            "header() is case-insensitive"
        );
    }
}
