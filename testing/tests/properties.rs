//! Property tests (proptest): random CGI environments and bodies never make cgikit panic,
//! and whatever it writes is a well-formed CGI response by a strict parser written here;
//! no header value, cookie or redirect target can inject a header line; query strings
//! round-trip; the `Cookie` header parser never panics and reads back valid pairs exactly.
//!
//! Each property runs 256 cases (`CASES`, or `PROPTEST_CASES`); failure persistence is
//! off, so a failure leaves no `.proptest-regressions` file behind: a minimal failing input
//! found by a property is kept below as a plain `#[test]`.
#![cfg(unix)]

// The helpers of the facade's integration tests: the strict CGI response parser.
#[path = "../../tests/support/mod.rs"]
mod support;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use cgi::test::{TestRequest, TestResponse};
use cgi::{
    Cookies, Form, HeaderMap, Json, Limits, LocalRedirect, Query, Redirect, Request, Response,
    SetCookie,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use support::{Cgi, GENERIC_500, Rules, is_tchar};

/// Cases per property; `PROPTEST_CASES=100000 cargo test -p cgikit-testing --test properties`
/// runs a deep search.
const CASES: u32 = 256;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(CASES);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------
// A strict CGI response parser (RFC 3875 §6): `support::parse_cgi`.
// ---------------------------------------------------------------------------------------

/// Parses `raw` as a CGI response to a request that was (`head_only`) or was not a HEAD:
/// a local redirect (`Location: /...`, CRLF, CRLF, nothing else) or a document (see
/// `support::parse_cgi`); header values may hold obs-text.
fn parse_strict(raw: &[u8], head_only: bool) -> Result<Cgi, String> {
    support::parse_cgi(
        raw,
        Rules {
            head: head_only,
            local_redirect: true,
            obs_text: true,
        },
    )
}

/// Parses strictly, or fails the test showing the raw output.
fn strict(response: &TestResponse, head_only: bool) -> Result<Cgi, TestCaseError> {
    parse_strict(response.raw(), head_only).map_err(|problem| {
        TestCaseError::fail(format!(
            "{problem} (head_only: {head_only}) in\n{}",
            response.raw().escape_ascii()
        ))
    })
}

#[test]
fn the_strict_parser_accepts_and_refuses_what_it_should() {
    let ok = |raw: &[u8], head: bool| parse_strict(raw, head).unwrap();
    assert_eq!(ok(b"Location: /a?b\r\n\r\n", false).status_code(), None);
    assert_eq!(ok(GENERIC_500, false).status_code(), Some(500));
    assert_eq!(
        ok(b"Status: 204 No Content\r\n\r\n", true).status_code(),
        Some(204)
    );
    let head = b"Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(ok(head, true).body, b"");
    for (bad, head_only) in [
        (&b"Status: 200 OK\r\nContent-Type: a\r\n"[..], false),
        (b"Status: 200 OK\nContent-Type: a\r\n\r\n", false),
        (b"Status: 200 OK\r\nContent-Type: a\nX: b\r\n\r\n", false),
        (b"Status: 200 OK\r\nContent-Type: a\rX: b\r\n\r\n", false),
        (b"Content-Type: a\r\nStatus: 200 OK\r\n\r\n", false),
        (b"Status: 199 Odd\r\nContent-Type: a\r\n\r\n", false),
        (b"Status: 600 Odd\r\nContent-Type: a\r\n\r\n", false),
        (b"Status: 200\r\nContent-Type: a\r\n\r\n", false),
        (b"Status: 200 OK\r\n\r\n", false),
        (
            b"Status: 200 OK\r\nContent-Type: a\r\nContent-type: b\r\n\r\n",
            false,
        ),
        (
            b"Status: 200 OK\r\nContent-Type: a\r\nBad Name: v\r\n\r\n",
            false,
        ),
        (b"Status: 200 OK\r\nContent-Type: a\r\nX:v\r\n\r\n", false),
        (b"Status: 200 OK\r\nContent-Type: a\r\nX: \0\r\n\r\n", false),
        (
            b"Status: 200 OK\r\nContent-Type: a\r\nStatus: 500 No\r\n\r\n",
            false,
        ),
        (
            b"Status: 200 OK\r\nContent-Type: a\r\nContent-Length: 2\r\n\r\nabc",
            false,
        ),
        (
            b"Status: 200 OK\r\nContent-Type: a\r\nContent-Length: x\r\n\r\n",
            false,
        ),
        (b"Status: 200 OK\r\nContent-Type: a\r\n\r\nbody", true),
        (b"Status: 204 No Content\r\nContent-Type: a\r\n\r\n", false),
        (b"Location: /a\r\nX: b\r\n\r\n", false),
        (b"Location: /a\r\n\r\nbody", false),
        (b"Location: http://x/\r\n\r\n", false),
    ] {
        assert!(
            parse_strict(bad, head_only).is_err(),
            "accepted {}",
            bad.escape_ascii()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Property 1: random environments and bodies, several handlers.
// ---------------------------------------------------------------------------------------

/// Echoes a few request fields in the body, the method and the User-Agent in headers (an
/// agent that is not printable ASCII makes the builder fail closed: the generic 500).
fn echo_request(mut request: Request) -> Response {
    let body = request.body_mut().read_to_vec();
    let text = format!(
        "{} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {:?} {}\n",
        request.method(),
        request.uri(),
        request.script_name(),
        request.path_info(),
        request.query_string(),
        request.content_type(),
        request.server_name(),
        request.server_port(),
        request.remote_addr(),
        request.is_https(),
        request.header("user-agent"),
        match &body {
            Ok(bytes) => format!("{} body bytes", bytes.len()),
            Err(rejection) => rejection.to_string(),
        },
    );
    let mut builder = Response::builder().header("X-Method", request.method().as_str());
    if let Some(agent) = request.headers().get("user-agent") {
        builder = builder.header("X-Agent", &String::from_utf8_lossy(agent.as_bytes()));
    }
    builder.body(text)
}

fn sorted(map: HashMap<String, String>) -> String {
    format!("{:?}", map.into_iter().collect::<BTreeMap<_, _>>())
}

fn query_map(Query(map): Query<HashMap<String, String>>) -> String {
    sorted(map)
}

fn form_map(Form(map): Form<HashMap<String, String>>) -> String {
    sorted(map)
}

/// Lists the cookies and header names, and sets the first cookie back (a received value
/// that is not cookie-octets makes the builder fail closed).
fn cookies_and_headers(cookies: Cookies, headers: HeaderMap) -> Response {
    let mut text = String::new();
    for (name, value) in cookies.iter() {
        text.push_str(&format!("{name}={value:?}\n"));
    }
    for name in headers.keys() {
        text.push_str(&format!(
            "{name}: {}\n",
            headers.get_all(name).iter().count()
        ));
    }
    let mut builder = Response::builder();
    if let Some((name, value)) = cookies.iter().next() {
        builder = builder.cookie(SetCookie::new(name, value).http_only(true));
    }
    builder.body(text)
}

fn string_body(body: String) -> String {
    body
}

fn json_map(Json(map): Json<HashMap<String, i64>>) -> Json<HashMap<String, i64>> {
    Json(map)
}

fn bytes_body(body: Vec<u8>) -> Vec<u8> {
    body
}

/// Shows bytes as an escaped byte string in failure reports.
#[derive(Clone, PartialEq, Eq)]
struct Bytes(Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// One request: the variables set after the test kit's defaults (in order; an empty value
/// unsets), the body on stdin, and the body limit.
#[derive(Clone, Debug)]
struct Case {
    vars: Vec<(String, Bytes)>,
    body: Bytes,
    max_body: Option<u64>,
}

impl Case {
    fn request(&self) -> TestRequest {
        let mut request = TestRequest::get("/").body(self.body.0.clone());
        for (name, Bytes(value)) in &self.vars {
            request = request.var(name, OsStr::from_bytes(value));
        }
        if let Some(max_body) = self.max_body {
            request = request.limits(Limits::default().max_body(max_body));
        }
        request
    }

    /// The value a variable ends with, as cgikit reads it: the last one set, unless a
    /// later empty value unset it. `TestRequest::get` starts with `REQUEST_METHOD=GET`.
    fn effective(&self, name: &str) -> Option<&[u8]> {
        let mut value: Option<&[u8]> = (name == "REQUEST_METHOD").then_some(b"GET");
        for (key, Bytes(set)) in &self.vars {
            if key == name {
                value = Some(set.as_slice()).filter(|set| !set.is_empty());
            }
        }
        value
    }

    fn head_only(&self) -> bool {
        self.effective("REQUEST_METHOD") == Some(b"HEAD")
    }
}

const META_NAMES: &[&str] = &[
    "AUTH_TYPE",
    "CONTENT_LENGTH",
    "CONTENT_TYPE",
    "GATEWAY_INTERFACE",
    "PATH_INFO",
    "PATH_TRANSLATED",
    "QUERY_STRING",
    "REMOTE_ADDR",
    "REMOTE_HOST",
    "REMOTE_IDENT",
    "REMOTE_PORT",
    "REMOTE_USER",
    "REQUEST_METHOD",
    "REQUEST_SCHEME",
    "REQUEST_URI",
    "HTTPS",
    "SCRIPT_FILENAME",
    "SCRIPT_NAME",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "SERVER_SOFTWARE",
    "HTTP_ACCEPT",
    "HTTP_AUTHORIZATION",
    "HTTP_CONTENT_LENGTH",
    "HTTP_CONTENT_TYPE",
    "HTTP_COOKIE",
    "HTTP_HOST",
    "HTTP_TRANSFER_ENCODING",
    "HTTP_USER_AGENT",
    "HTTP_X_FORWARDED_FOR",
];

/// Pieces that make parsers and writers work: line breaks, percent signs, media types,
/// non-UTF-8 and multi-byte UTF-8.
const FRAGMENTS: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b"\n",
    b"\r",
    b"\t",
    b" ",
    b"Set-Cookie: admin=1",
    b"Status: 200 OK",
    b"%",
    b"%zz",
    b"%C3%A9",
    b"%FF",
    b"%0D%0A",
    b"+",
    b"=",
    b"&",
    b";",
    b"\"",
    b"/",
    b"//",
    b"?",
    b"#",
    b"://",
    b"a=1",
    b"sid=abc",
    b"\xc3\xa9",
    b"\xe2\x80\xa8",
    b"\xf0\x9f\x8d\xaa",
    b"\xff",
    b"\xc3",
    b"\x7f",
    b"\x01",
    b"0",
    b"18446744073709551616",
    b"application/json",
    b"application/x-www-form-urlencoded",
    b"charset=",
    b"latin1",
    b"utf-8",
];

/// Bytes for a variable: anything but NUL (an environment value cannot hold one).
fn value_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => vec(1u8..=255, 0..48),
        2 => vec(
            prop_oneof![
                3 => select(FRAGMENTS).prop_map(<[u8]>::to_vec),
                1 => vec(1u8..=255, 0..6),
                1 => "[a-zA-Z0-9._-]{0,8}".prop_map(String::into_bytes),
            ],
            0..6,
        )
        .prop_map(|parts| parts.concat()),
        1 => "\\PC{0,12}".prop_map(String::into_bytes),
    ]
}

fn var_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(META_NAMES).prop_map(str::to_owned),
        2 => "HTTP_[A-Z0-9_]{0,12}",
        1 => "HTTP_[ -~]{0,8}",
        1 => "[A-Z_]{1,10}",
    ]
}

fn method() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => select(&["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"][..])
            .prop_map(|method| method.as_bytes().to_vec()),
        1 => select(&["", "get", "head", "M-SEARCH", "BAD METHOD", "GET\r\n"][..])
            .prop_map(|method| method.as_bytes().to_vec()),
        1 => value_bytes(),
    ]
}

fn content_type() -> impl Strategy<Value = Option<Vec<u8>>> {
    let media = select(
        &[
            "application/json",
            "application/json; charset=utf-8",
            "application/problem+json",
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=UTF-8",
            "APPLICATION/X-WWW-FORM-URLENCODED",
            "text/plain",
            "text/plain; charset=latin1",
            "text/plain; charset=\"utf-8\"",
            "multipart/form-data; boundary=x",
            "application/",
            "application/x",
            "",
        ][..],
    );
    prop_oneof![
        1 => Just(None),
        4 => media.clone().prop_map(|media| Some(media.as_bytes().to_vec())),
        2 => (media.clone(), "\\PC{0,8}")
            .prop_map(|(media, suffix)| Some(format!("{media}{suffix}").into_bytes())),
        1 => (media, value_bytes()).prop_map(|(media, suffix)| {
            let mut value = media.as_bytes().to_vec();
            value.extend(suffix);
            Some(value)
        }),
    ]
}

/// How `CONTENT_LENGTH` relates to the body.
#[derive(Clone, Debug)]
enum Length {
    /// The body's length (what `TestRequest::body` sets).
    Matching,
    /// Unset.
    Missing,
    /// The body's length plus this (at least 0).
    Off(i64),
    /// Random digits (leading zeros, overflowing u64).
    Digits(String),
    /// Anything else.
    Garbage(Vec<u8>),
}

fn length() -> impl Strategy<Value = Length> {
    prop_oneof![
        4 => Just(Length::Matching),
        1 => Just(Length::Missing),
        1 => (-8i64..8).prop_map(Length::Off),
        1 => "[0-9]{1,24}".prop_map(Length::Digits),
        1 => value_bytes().prop_map(Length::Garbage),
    ]
}

/// A JSON object of integers (what `Json<HashMap<String, i64>>` accepts).
fn json_body() -> impl Strategy<Value = Vec<u8>> {
    btree_map("[a-z]{0,6}", any::<i64>(), 0..5).prop_map(|map| {
        let fields: Vec<String> = map
            .iter()
            .map(|(key, value)| format!("\"{key}\":{value}"))
            .collect();
        format!("{{{}}}", fields.join(",")).into_bytes()
    })
}

/// A urlencoded form, keys sometimes malformed (`%`) or repeated.
fn form_body() -> impl Strategy<Value = Vec<u8>> {
    vec(("[a-c%+]{0,4}", "\\PC{0,6}"), 0..5).prop_map(|pairs| {
        let pairs: Vec<String> = pairs
            .iter()
            .map(|(key, value)| format!("{key}={}", encode(value, false)))
            .collect();
        pairs.join("&").into_bytes()
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => vec(any::<u8>(), 0..4096),
        1 => vec(any::<u8>(), 0..16),
        2 => json_body(),
        2 => form_body(),
        1 => "\\PC{0,64}".prop_map(String::into_bytes),
    ]
}

/// `CONTENT_TYPE` (`None`: unset) and the body: mostly independent, sometimes matching,
/// so that the extractors' success paths run too.
fn content_type_and_body() -> impl Strategy<Value = (Option<Vec<u8>>, Vec<u8>)> {
    let typed = |media: &'static str| Just(Some(media.as_bytes().to_vec()));
    prop_oneof![
        2 => (content_type(), body()),
        1 => (typed("application/json"), json_body()),
        1 => (typed("application/x-www-form-urlencoded"), form_body()),
        1 => (typed("text/plain; charset=utf-8"), "\\PC{0,64}".prop_map(String::into_bytes)),
    ]
}

/// A `Cookie` header: `name=value` pairs joined by `"; "`, names mostly tokens, values
/// anything (spaces, quotes, non-ASCII: what a browser may send and `SetCookie` refuses).
fn cookie_header() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        3 => "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,8}".prop_map(String::into_bytes),
        1 => value_bytes(),
    ];
    vec((name, value_bytes()), 0..4).prop_map(|pairs| {
        let pairs: Vec<Vec<u8>> = pairs
            .into_iter()
            .map(|(name, value)| [name, b"=".to_vec(), value].concat())
            .collect();
        pairs.join(&b"; "[..])
    })
}

fn case() -> impl Strategy<Value = Case> {
    (
        method(),
        content_type_and_body(),
        prop::option::weighted(0.5, cookie_header()),
        length(),
        prop::option::weighted(
            0.2,
            prop_oneof![
                select(&["chunked", "gzip, chunked", "identity"][..])
                    .prop_map(|coding| coding.as_bytes().to_vec()),
                value_bytes(),
            ],
        ),
        vec((var_name(), value_bytes()), 0..10),
        prop::option::weighted(0.2, 0u64..5000),
    )
        .prop_map(
            |(method, (content_type, body), cookie, length, coding, random, max_body)| {
                let mut vars = vec![("REQUEST_METHOD".to_owned(), Bytes(method))];
                if let Some(content_type) = content_type {
                    vars.push(("CONTENT_TYPE".to_owned(), Bytes(content_type)));
                }
                if let Some(cookie) = cookie {
                    vars.push(("HTTP_COOKIE".to_owned(), Bytes(cookie)));
                }
                let content_length = match length {
                    Length::Matching => None,
                    Length::Missing => Some(Vec::new()),
                    Length::Off(delta) => {
                        Some((body.len() as i64 + delta).max(0).to_string().into_bytes())
                    }
                    Length::Digits(digits) => Some(digits.into_bytes()),
                    Length::Garbage(bytes) => Some(bytes),
                };
                if let Some(content_length) = content_length {
                    vars.push(("CONTENT_LENGTH".to_owned(), Bytes(content_length)));
                }
                if let Some(coding) = coding {
                    vars.push(("HTTP_TRANSFER_ENCODING".to_owned(), Bytes(coding)));
                }
                vars.extend(random.into_iter().map(|(name, value)| (name, Bytes(value))));
                Case {
                    vars,
                    body: Bytes(body),
                    max_body,
                }
            },
        )
}

/// Runs one handler on the case: the test kit itself panics on an output it cannot read,
/// a panic inside the handler or an extractor shows in the log, and the output must parse
/// strictly.
fn check<T>(case: &Case, name: &str, handler: impl cgi::Handler<T>) -> Result<(), TestCaseError> {
    let response = case.request().call(handler);
    prop_assert!(
        !response.log().contains("panicked"),
        "{name}: {}",
        response.log()
    );
    let parsed = strict(&response, case.head_only())?;
    if let Some(code) = parsed.status_code() {
        prop_assert_eq!(code, response.status().as_u16());
    }
    Ok(())
}

// Regression, found by `random_requests_get_well_formed_responses` (Json):
// `CONTENT_TYPE=application/éjson` made the media-type check slice inside the `é` and panic.
#[test]
fn regression_json_media_type_check_on_a_multibyte_subtype() {
    let response = TestRequest::post("/")
        .header("Content-Type", "application/\u{e9}json")
        .body("{}")
        .call(json_map);
    assert!(!response.log().contains("panicked"), "{}", response.log());
    assert_eq!(response.status().as_u16(), 415, "{}", response.log());
}

// Regression, found by `random_requests_get_well_formed_responses` (Cookies + HeaderMap):
// a HEAD request whose response fell back to the generic 500 got that 500's body.
#[test]
fn regression_head_gets_no_body_with_the_generic_500() {
    let head = || TestRequest::get("/").method(cgi::Method::HEAD);
    for response in [
        head()
            .var("HTTP_COOKIE", "a=Set-Cookie: admin=1")
            .call(cookies_and_headers),
        head().call(|| Response::builder().header("X-Echo", "a\r\nb").body("x")),
    ] {
        assert_eq!(response.status().as_u16(), 500);
        assert_eq!(response.body(), b"", "{}", response.raw().escape_ascii());
        parse_strict(response.raw(), true).unwrap();
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_requests_get_well_formed_responses(case in case()) {
        check(&case, "Request", echo_request)?;
        check(&case, "Query", query_map)?;
        check(&case, "Form", form_map)?;
        check(&case, "Cookies + HeaderMap", cookies_and_headers)?;
        check(&case, "String", string_body)?;
        check(&case, "Json", json_map)?;
        check(&case, "Vec<u8>", bytes_body)?;
        check(&case, "no arguments", || "fixed")?;
    }
}

// ---------------------------------------------------------------------------------------
// Property 2: no header injection through header values, cookies or redirect targets.
// ---------------------------------------------------------------------------------------

/// Strings that try to break out of a header line.
fn nasty_string() -> impl Strategy<Value = String> {
    let pieces = select(
        &[
            "\r",
            "\n",
            "\r\n",
            "\r\n\r\n",
            "\0",
            "\t",
            " ",
            "\u{7f}",
            "\u{85}",
            "\u{2028}",
            "é",
            "\u{fffd}",
            "a",
            "/",
            "//",
            "\\",
            ":",
            ";",
            "=",
            "\"",
            ",",
            "Set-Cookie: admin=1",
            "Status: 200 OK",
            "Location: /evil",
        ][..],
    );
    prop_oneof![
        2 => any::<String>(),
        2 => "[ -~]{0,24}",
        2 => "/[!-~]{0,16}",
        3 => vec(prop_oneof![3 => pieces.prop_map(str::to_owned), 1 => "[a-z0-9]{1,4}"], 0..8)
            .prop_map(|parts| parts.concat()),
    ]
}

fn cookie_name() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}",
        1 => nasty_string(),
    ]
}

fn cookie_value() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => vec(select(&COOKIE_OCTETS[..]), 0..16)
            .prop_map(|octets| octets.into_iter().map(char::from).collect()),
        1 => nasty_string(),
    ]
}

/// RFC 6265 §4.1.1 cookie-octet.
const COOKIE_OCTETS: [u8; 90] = {
    let mut octets = [0u8; 90];
    let mut byte = 0x21u8;
    let mut index = 0;
    while byte <= 0x7E {
        if byte != b'"' && byte != b',' && byte != b';' && byte != b'\\' {
            octets[index] = byte;
            index += 1;
        }
        byte += 1;
    }
    octets
};

/// Whether a header value must be refused (a control byte: CR, LF, NUL, DEL, ... but not
/// HTAB), must be written verbatim (printable ASCII and HTAB), or may be either (non-ASCII
/// text: `http` accepts it as obs-text, a stricter writer may refuse it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Refused,
    Written,
    Either,
}

fn header_verdict(text: &str) -> Verdict {
    if text
        .bytes()
        .any(|byte| byte != b'\t' && (byte < 0x20 || byte == 0x7F))
    {
        Verdict::Refused
    } else if text.is_ascii() {
        Verdict::Written
    } else {
        Verdict::Either
    }
}

/// The header lines, values read as UTF-8 (lossily).
fn headers_of(parsed: &Cgi) -> Vec<(String, String)> {
    parsed
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), String::from_utf8_lossy(value).into_owned()))
        .collect()
}

/// The output parses strictly, and is exactly the generic 500 (`Refused`), or has `status`
/// and exactly the `expected` header lines (`Written`), or either of the two (`Either`).
fn expect_headers_or_500(
    response: &TestResponse,
    verdict: Verdict,
    status: u16,
    expected: &[(&str, &str)],
) -> Result<(), TestCaseError> {
    let parsed = strict(response, false)?;
    let is_generic_500 = response.raw() == GENERIC_500;
    match verdict {
        Verdict::Refused => prop_assert!(
            is_generic_500,
            "expected the generic 500, got\n{}",
            response.raw().escape_ascii()
        ),
        Verdict::Either if is_generic_500 => {}
        Verdict::Written | Verdict::Either => {
            prop_assert_eq!(parsed.status_code(), Some(status));
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|&(name, value)| (name.to_owned(), value.to_owned()))
                .collect();
            prop_assert_eq!(headers_of(&parsed), expected);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn header_values_cannot_inject_headers(value in nasty_string()) {
        let response = TestRequest::get("/")
            .call(|| Response::builder().header("X-Echo", value.as_str()).body("ok"));
        expect_headers_or_500(
            &response,
            header_verdict(&value),
            200,
            &[
                ("Content-Type", "text/plain; charset=utf-8"),
                ("X-Echo", value.as_str()),
                ("Content-Length", "2"),
            ],
        )?;
    }

    #[test]
    fn cookies_cannot_inject_headers(name in cookie_name(), value in cookie_value()) {
        let response = TestRequest::get("/").call(|| {
            Response::builder()
                .cookie(SetCookie::new(name.as_str(), value.as_str()))
                .body("ok")
        });
        // RFC 6265 §4.1.1: a token name and cookie-octet values (ASCII only), exactly.
        let valid = !name.is_empty()
            && name.bytes().all(is_tchar)
            && value.bytes().all(|byte| COOKIE_OCTETS.contains(&byte));
        let line = format!("{name}={value}");
        expect_headers_or_500(
            &response,
            if valid { Verdict::Written } else { Verdict::Refused },
            200,
            &[
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Set-Cookie", line.as_str()),
                ("Content-Length", "2"),
            ],
        )?;
    }

    #[test]
    fn redirect_targets_cannot_inject_headers(location in nasty_string()) {
        let response = TestRequest::get("/").call(|| Redirect::to(&location));
        let parsed = strict(&response, false)?;
        let length = parsed.body.len().to_string();
        // An empty location is refused like an invalid one: it would send the browser nowhere.
        let verdict = if location.is_empty() { Verdict::Refused } else { header_verdict(&location) };
        expect_headers_or_500(
            &response,
            verdict,
            303,
            &[
                ("Content-Type", "text/html; charset=utf-8"),
                ("Location", location.as_str()),
                ("Content-Length", length.as_str()),
            ],
        )?;
    }

    #[test]
    fn local_redirect_targets_cannot_inject_headers(path in nasty_string()) {
        let response = TestRequest::get("/").call(|| LocalRedirect::to(&path));
        // RFC 3875 §6.2.2: an abs-path on this server; `//host` and `/\host` are other
        // hosts to a browser; a space or control byte would not survive the header.
        let verdict = if !path.starts_with('/')
            || path.starts_with("//")
            || path.starts_with("/\\")
            || path.bytes().any(|byte| byte <= b' ' || byte == 0x7F)
        {
            Verdict::Refused
        } else if path.is_ascii() {
            Verdict::Written
        } else {
            Verdict::Either
        };
        let parsed = strict(&response, false)?;
        if verdict == Verdict::Refused || (verdict == Verdict::Either && response.raw() == GENERIC_500) {
            expect_headers_or_500(&response, Verdict::Refused, 500, &[])?;
        } else {
            let expected = format!("Location: {path}\r\n\r\n");
            prop_assert_eq!(
                response.raw().escape_ascii().to_string(),
                expected.as_bytes().escape_ascii().to_string()
            );
            prop_assert_eq!(parsed.status_code(), None);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Property 3: query strings round-trip.
// ---------------------------------------------------------------------------------------

/// Percent-encodes every byte but ASCII letters and digits (a space as `+` if asked).
fn encode(text: &str, plus_for_space: bool) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() {
            encoded.push(char::from(byte));
        } else if byte == b' ' && plus_for_space {
            encoded.push('+');
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn queries_round_trip(
        map in btree_map(any::<String>(), any::<String>(), 0..8),
        plus_for_space in any::<bool>(),
    ) {
        let query: Vec<String> = map
            .iter()
            .map(|(key, value)| {
                format!("{}={}", encode(key, plus_for_space), encode(value, plus_for_space))
            })
            .collect();
        let query = query.join("&");
        let extracted = RefCell::new(None);
        let response = TestRequest::get(&format!("/?{query}")).call(
            |Query(map): Query<BTreeMap<String, String>>| {
                *extracted.borrow_mut() = Some(map);
            },
        );
        prop_assert_eq!(response.status().as_u16(), 204, "{}", response.text());
        prop_assert_eq!(extracted.into_inner(), Some(map));
    }
}

// ---------------------------------------------------------------------------------------
// Property 4: Cookies::parse.
// ---------------------------------------------------------------------------------------

const COOKIE_PIECES: &[&[u8]] = &[
    b";",
    b"; ",
    b"=",
    b"\"",
    b" ",
    b"\t",
    b"a",
    b"\xc3\xa9",
    b"\xff",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cookie_parsing_never_panics(header in prop_oneof![
        vec(any::<u8>(), 0..256),
        vec(select(COOKIE_PIECES), 0..32)
            .prop_map(|parts| parts.concat()),
    ]) {
        let cookies = Cookies::parse(&header);
        prop_assert_eq!(cookies.iter().count(), cookies.len());
        for (name, _) in cookies.iter() {
            prop_assert!(!name.is_empty() && name.bytes().all(is_tchar), "{:?}", name);
            prop_assert_eq!(cookies.get(name), cookies.get_all(name).next());
        }
    }

    #[test]
    fn valid_cookies_parse_exactly(
        pairs in vec(
            (
                "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}",
                vec(select(&COOKIE_OCTETS[..]), 0..16)
                    .prop_map(|octets| octets.into_iter().map(char::from).collect::<String>()),
            ),
            0..8,
        ),
    ) {
        let header: Vec<String> = pairs.iter().map(|(name, value)| format!("{name}={value}")).collect();
        let cookies = Cookies::parse(header.join("; ").as_bytes());
        let parsed: Vec<(String, String)> = cookies
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        prop_assert_eq!(parsed, pairs);
    }
}
