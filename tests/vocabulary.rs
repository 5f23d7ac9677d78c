//! The full vocabulary, in-process through `cgi::test`: every extractor with its success
//! and each of its rejections, every response type checked against the exact CGI bytes,
//! the `SetCookie` attribute matrix and its injection guards, and RFC 3875 cases
//! re-expressed from Go's `net/http/cgi` tests.
//!
//! `tests/in_process.rs` covers the rejection table of the crate docs for `Query`/`Form` and the
//! everyday responses (`&str`, `String`, `Html`, `StatusCode`, `()`...); this file does not
//! repeat those.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cgi::http::Version;
use cgi::test::{TestRequest, TestResponse};
use cgi::{
    Body, BodyRejection, Bytes, Cookies, Error, Form, FormRejection, Json, JsonRejection,
    LocalRedirect, Method, PathInfo, PathInfoRejection, Query, QueryRejection, Redirect,
    RemoteAddr, RemoteAddrRejection, Request, Response, SameSite, SetCookie, StatusCode,
    StringRejection,
};
use serde::{Deserialize, Serialize};

// ---- Helpers ----

/// What cgikit writes for any failure on the script's side.
const INTERNAL_ERROR: &str = "Status: 500 Internal Server Error\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 22\r\n\
\r\n\
Internal Server Error\n";

fn raw(response: &TestResponse) -> &str {
    std::str::from_utf8(response.raw()).expect("the CGI output is UTF-8")
}

/// The exact bytes of a rejection: status, plain text, `nosniff`, the reason and a newline;
/// and the exact line in the error log.
fn assert_rejection(response: &TestResponse, status: StatusCode, reason: &str) {
    let body = format!("{reason}\n");
    let expected = format!(
        "Status: {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {}\r\n\r\n{body}",
        status.as_str(),
        status.canonical_reason().unwrap(),
        body.len()
    );
    assert_eq!(raw(response), expected);
    assert_eq!(
        response.log(),
        format!("test: {} {reason}\n", status.as_u16())
    );
}

/// The generic 500, with a line in the log that contains `log_part`.
fn assert_generic_500(response: &TestResponse, log_part: &str) {
    assert_eq!(raw(response), INTERNAL_ERROR);
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        response.log().contains(log_part),
        "log {:?} lacks {log_part:?}",
        response.log()
    );
    assert_eq!(response.log().lines().count(), 1, "{}", response.log());
}

/// `text/plain; charset=utf-8` 200 with this body, exactly.
fn plain_200(body: &str) -> String {
    format!(
        "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn json_post(body: &str) -> TestRequest {
    TestRequest::post("/")
        .header("Content-Type", "application/json")
        .body(body)
}

// =====================================================================================
// 1. Extractors
// =====================================================================================

// ---- Json<T> ----

#[derive(Debug, Deserialize)]
struct Order {
    customer: String,
    items: Vec<Line>,
}

#[derive(Debug, Deserialize)]
struct Line {
    name: String,
    qty: u32,
}

fn order(Json(order): Json<Order>) -> String {
    let lines: Vec<String> = order
        .items
        .iter()
        .map(|line| format!("{}x{}", line.qty, line.name))
        .collect();
    format!("{}: {}", order.customer, lines.join(", "))
}

const GOOD_ORDER: &str =
    r#"{"customer": "ada", "items": [{"name": "tea", "qty": 2}, {"name": "jam", "qty": 1}]}"#;

#[test]
fn json_extractor_decodes_the_body() {
    let response = json_post(GOOD_ORDER).call(order);
    assert_eq!(raw(&response), plain_200("ada: 2xtea, 1xjam"));
    assert_eq!(response.log(), "");
}

#[test]
fn json_extractor_accepts_parameters_case_and_structured_suffixes() {
    for content_type in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/problem+json",
        "application/vnd.api+json",
    ] {
        let response = TestRequest::post("/")
            .header("Content-Type", content_type)
            .body(GOOD_ORDER)
            .call(order);
        assert_eq!(response.text(), "ada: 2xtea, 1xjam", "{content_type}");
    }
}

#[test]
fn json_extractor_wrong_or_missing_content_type_is_415() {
    let response = TestRequest::post("/")
        .header("Content-Type", "text/plain")
        .body(GOOD_ORDER)
        .call(order);
    assert_rejection(
        &response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Expected a JSON body (Content-Type: application/json), but the request's is `text/plain`.",
    );
    for not_json in [
        "application/x-www-form-urlencoded",
        "text/json",
        "application/jsonx",
    ] {
        let response = TestRequest::post("/")
            .header("Content-Type", not_json)
            .body(GOOD_ORDER)
            .call(order);
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{not_json}"
        );
    }
    let response = TestRequest::post("/").body(GOOD_ORDER).call(order);
    assert_rejection(
        &response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Expected a JSON body (Content-Type: application/json), but the request has none.",
    );
}

#[test]
fn json_extractor_syntax_error_is_400() {
    let response = json_post(r#"{"customer": }"#).call(order);
    assert_rejection(
        &response,
        StatusCode::BAD_REQUEST,
        "Malformed JSON: expected value at line 1 column 14",
    );
    // An empty body is not JSON either.
    let response = TestRequest::post("/")
        .header("Content-Type", "application/json")
        .call(order);
    assert_rejection(
        &response,
        StatusCode::BAD_REQUEST,
        "Malformed JSON: EOF while parsing a value at line 1 column 0",
    );
}

#[test]
fn json_extractor_trailing_garbage_is_400() {
    let response = json_post(&format!("{GOOD_ORDER} {{}}")).call(order);
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .starts_with("Malformed JSON: trailing characters at line 1 column "),
        "{}",
        response.text()
    );
    // Whitespace after the value is fine.
    let response = json_post(&format!("{GOOD_ORDER}\n\t ")).call(order);
    assert_eq!(response.text(), "ada: 2xtea, 1xjam");
}

#[test]
fn json_extractor_short_body_is_400() {
    let response = json_post(GOOD_ORDER)
        .var("CONTENT_LENGTH", (GOOD_ORDER.len() + 10).to_string())
        .call(order);
    assert_rejection(
        &response,
        StatusCode::BAD_REQUEST,
        &format!(
            "The request body ended early: CONTENT_LENGTH is {} bytes, but only {} arrived.",
            GOOD_ORDER.len() + 10,
            GOOD_ORDER.len()
        ),
    );
}

#[test]
fn json_extractor_wrong_shape_is_422_naming_the_field_path() {
    let body = r#"{"customer": "ada", "items": [{"name": "tea", "qty": 2}, {"name": "jam", "qty": "two"}]}"#;
    let response = json_post(body).call(order);
    assert_rejection(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        r#"Invalid JSON data: field `items[1].qty`: invalid type: string "two", expected u32 at line 1 column 85"#,
    );

    let response = json_post(r#"{"customer": "ada", "items": [{"name": "tea"}]}"#).call(order);
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .starts_with("Invalid JSON data: field `items[0]`: missing field `qty`"),
        "{}",
        response.text()
    );

    // The wrong type at the top has no field to name.
    let response = json_post("42").call(order);
    assert_rejection(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid JSON data: invalid type: integer `42`, expected struct Order at line 1 column 2",
    );
}

#[test]
fn json_extractor_optional_and_fallible() {
    fn optional(json: Option<Json<Order>>) -> String {
        json.map_or("none".to_owned(), |Json(order)| order.customer)
    }
    fn fallible(json: Result<Json<Order>, JsonRejection>) -> String {
        match json {
            Ok(Json(order)) => order.customer,
            Err(rejection) => format!("{} {rejection}", rejection.status().as_u16()),
        }
    }
    assert_eq!(json_post(GOOD_ORDER).call(optional).text(), "ada");
    let swallowed = json_post("{").call(optional);
    assert_eq!(raw(&swallowed), plain_200("none"));
    assert_eq!(swallowed.log(), "", "a handled rejection is not logged");
    let handled = TestRequest::post("/").body("{}").call(fallible);
    assert_eq!(
        raw(&handled),
        plain_200(
            "415 Expected a JSON body (Content-Type: application/json), but the request has none."
        )
    );
    assert_eq!(handled.log(), "");
}

// ---- String, Vec<u8>, Bytes bodies ----

fn echo_text(text: String) -> String {
    format!("[{text}]")
}

#[test]
fn string_body_is_read_as_utf8() {
    let response = TestRequest::post("/")
        .header("Content-Type", "text/plain; charset=utf-8")
        .body("héllo")
        .call(echo_text);
    assert_eq!(raw(&response), plain_200("[héllo]"));
    for content_type in [
        "text/plain; charset=UTF-8",
        "text/plain; charset=\"utf-8\"",
        "text/plain; charset=us-ascii",
        "text/plain",
        "application/octet-stream",
    ] {
        let response = TestRequest::post("/")
            .header("Content-Type", content_type)
            .body("ok")
            .call(echo_text);
        assert_eq!(response.text(), "[ok]", "{content_type}");
    }
    // No Content-Type at all, and no body at all.
    assert_eq!(
        TestRequest::post("/").body("x").call(echo_text).text(),
        "[x]"
    );
    assert_eq!(TestRequest::post("/").call(echo_text).text(), "[]");
}

#[test]
fn string_body_in_another_charset_is_415() {
    let response = TestRequest::post("/")
        .header("Content-Type", "text/plain; charset=latin1")
        .body("caf\u{e9}")
        .call(echo_text);
    assert_rejection(
        &response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "The request body's charset is `latin1`; this script reads UTF-8 only.",
    );
}

#[test]
fn string_body_not_utf8_is_400() {
    let response = TestRequest::post("/")
        .body(b"ok\xFFno".to_vec())
        .call(echo_text);
    assert_rejection(
        &response,
        StatusCode::BAD_REQUEST,
        "The request body is not UTF-8 (invalid byte at offset 2).",
    );
    fn fallible(text: Result<String, StringRejection>) -> String {
        text.unwrap_or_else(|rejection| format!("handled {}", rejection.status().as_u16()))
    }
    assert_eq!(
        TestRequest::post("/")
            .body(vec![0xC3])
            .call(fallible)
            .text(),
        "handled 400"
    );
}

fn every_byte() -> Vec<u8> {
    (0..=255u8).chain((0..=255u8).rev()).collect()
}

#[test]
fn vec_u8_body_round_trips_binary() {
    fn echo(body: Vec<u8>) -> Vec<u8> {
        body
    }
    let bytes = every_byte();
    let response = TestRequest::post("/").body(bytes.clone()).call(echo);
    let mut expected =
        b"Status: 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 512\r\n\r\n"
            .to_vec();
    expected.extend_from_slice(&bytes);
    assert_eq!(response.raw(), expected);
}

#[test]
fn bytes_body_round_trips_binary() {
    fn echo(body: Bytes) -> Response {
        Response::builder()
            .header("Content-Type", "image/x-test")
            .body(body)
    }
    let bytes = every_byte();
    let response = TestRequest::post("/").body(bytes.clone()).call(echo);
    let mut expected =
        b"Status: 200 OK\r\nContent-Type: image/x-test\r\nContent-Length: 512\r\n\r\n".to_vec();
    expected.extend_from_slice(&bytes);
    assert_eq!(response.raw(), expected);
}

#[test]
fn binary_bodies_ending_early_are_400() {
    fn vec(body: Vec<u8>) -> String {
        body.len().to_string()
    }
    fn bytes(body: Bytes) -> String {
        body.len().to_string()
    }
    let reason = "The request body ended early: CONTENT_LENGTH is 9 bytes, but only 3 arrived.";
    let short = || {
        TestRequest::post("/")
            .body("abc")
            .var("CONTENT_LENGTH", "9")
    };
    assert_rejection(&short().call(vec), StatusCode::BAD_REQUEST, reason);
    assert_rejection(&short().call(bytes), StatusCode::BAD_REQUEST, reason);
}

// ---- PathInfo ----

fn show_path(path: PathInfo) -> String {
    format!(
        "{:?} {:?} {:?}",
        path.0,
        path.segments().collect::<Vec<_>>(),
        path.checked_segments()
    )
}

#[test]
fn path_info_is_the_decoded_path() {
    let response = TestRequest::get("/wiki/Main%20Page/caf%C3%A9?x=1").call(show_path);
    assert_eq!(
        response.text(),
        r#""/wiki/Main Page/café" ["wiki", "Main Page", "café"] Some(["wiki", "Main Page", "café"])"#
    );
    // A trailing slash is an empty last segment, which checked_segments allows.
    let response = TestRequest::get("/docs/").call(show_path);
    assert_eq!(response.text(), r#""/docs/" ["docs", ""] Some(["docs"])"#);
}

#[test]
fn path_info_is_empty_when_unset() {
    let response = TestRequest::get("/").var("PATH_INFO", "").call(show_path);
    assert_eq!(response.text(), r#""" [] Some([])"#);
}

#[test]
fn path_info_checked_segments_refuse_what_could_escape_a_directory() {
    for bad in [
        "/a/../b", "/..", "/./a", "/a/.", "/a//b", "//a", "/a\\b", "/..\\x", "/a\0b",
    ] {
        let response = TestRequest::get("/").var("PATH_INFO", bad).call(show_path);
        assert_eq!(response.status(), StatusCode::OK, "{bad:?}");
        assert!(
            response.text().ends_with(" None"),
            "{bad:?}: {}",
            response.text()
        );
    }
    // `..` inside a name is just a name.
    let response = TestRequest::get("/")
        .var("PATH_INFO", "/a..b/.c")
        .call(show_path);
    assert!(
        response.text().ends_with(r#" Some(["a..b", ".c"])"#),
        "{}",
        response.text()
    );
}

#[test]
fn path_info_not_utf8_is_400() {
    let reason = "The path after the script's name is not UTF-8.";
    let response = TestRequest::get("/")
        .var("PATH_INFO", OsStr::from_bytes(b"/caf\xE9"))
        .call(show_path);
    assert_rejection(&response, StatusCode::BAD_REQUEST, reason);
    // The same, from a percent-encoded request URI the test kit decodes as a server would.
    let response = TestRequest::get("/caf%E9").call(show_path);
    assert_rejection(&response, StatusCode::BAD_REQUEST, reason);
    fn fallible(path: Result<PathInfo, PathInfoRejection>) -> String {
        path.map_or_else(|rejection| rejection.to_string(), |path| path.0)
    }
    let response = TestRequest::get("/caf%E9").call(fallible);
    assert_eq!(raw(&response), plain_200(reason));
    let response = TestRequest::get("/caf%E9").call(|path: Option<PathInfo>| format!("{path:?}"));
    assert_eq!(response.text(), "None");
}

// ---- RemoteAddr ----

fn who(addr: RemoteAddr) -> String {
    format!(
        "{} {} {:?} {:?}",
        addr,
        addr.ip,
        addr.port,
        addr.socket_addr()
    )
}

#[test]
fn remote_addr_ipv4_with_port() {
    let response = TestRequest::get("/")
        .var("REMOTE_ADDR", "5.6.7.8")
        .var("REMOTE_PORT", "54321")
        .call(who);
    assert_eq!(
        response.text(),
        "5.6.7.8:54321 5.6.7.8 Some(54321) Some(5.6.7.8:54321)"
    );
}

#[test]
fn remote_addr_ipv6() {
    let response = TestRequest::get("/")
        .var("REMOTE_ADDR", "2000::3000")
        .var("REMOTE_PORT", "12345")
        .call(who);
    assert_eq!(
        response.text(),
        "[2000::3000]:12345 2000::3000 Some(12345) Some([2000::3000]:12345)"
    );
}

#[test]
fn remote_addr_without_a_port() {
    let response = TestRequest::get("/")
        .var("REMOTE_ADDR", "10.0.0.1")
        .call(who);
    assert_eq!(response.text(), "10.0.0.1 10.0.0.1 None None");
    // A port that is not a port is no port.
    let response = TestRequest::get("/")
        .var("REMOTE_ADDR", "10.0.0.1")
        .var("REMOTE_PORT", "http")
        .call(who);
    assert_eq!(response.text(), "10.0.0.1 10.0.0.1 None None");
}

#[test]
fn remote_addr_missing_or_invalid_is_500() {
    let reason = "The server did not set a valid REMOTE_ADDR (RFC 3875 §4.1.8).";
    let response = TestRequest::get("/").var("REMOTE_ADDR", "").call(who);
    assert_rejection(&response, StatusCode::INTERNAL_SERVER_ERROR, reason);
    let response = TestRequest::get("/")
        .var("REMOTE_ADDR", "example.com")
        .call(who);
    assert_rejection(&response, StatusCode::INTERNAL_SERVER_ERROR, reason);
}

#[test]
fn remote_addr_optional_and_fallible() {
    let optional = |addr: Option<RemoteAddr>| format!("{addr:?}");
    let response = TestRequest::get("/").var("REMOTE_ADDR", "").call(optional);
    assert_eq!(raw(&response), plain_200("None"));
    let response = TestRequest::get("/").call(optional);
    assert_eq!(
        response.text(),
        "Some(RemoteAddr { ip: 127.0.0.1, port: None })"
    );
    let fallible = |addr: Result<RemoteAddr, RemoteAddrRejection>| {
        addr.map_or_else(|r| r.status().as_u16().to_string(), |a| a.to_string())
    };
    let response = TestRequest::get("/").var("REMOTE_ADDR", "").call(fallible);
    assert_eq!(response.text(), "500");
}

// ---- http::Request<Vec<u8>> ----

fn describe_http(request: cgi::http::Request<Vec<u8>>) -> String {
    format!(
        "{} {} {:?} x-a={:?} type={:?} len={:?} body={:?} remote={:?}",
        request.method(),
        request.uri(),
        request.version(),
        request.headers().get("x-a"),
        request.headers().get("content-type"),
        request.headers().get("content-length"),
        String::from_utf8_lossy(request.body()),
        request
            .extensions()
            .get::<RemoteAddr>()
            .map(ToString::to_string),
    )
}

#[test]
fn http_request_has_method_uri_version_headers_body_and_remote_addr() {
    let response = TestRequest::post("/items?id=1")
        .header("X-A", "one")
        .header("Content-Type", "text/csv")
        .body("a,b\n")
        .var("REMOTE_ADDR", "5.6.7.8")
        .var("REMOTE_PORT", "54321")
        .call(describe_http);
    assert_eq!(
        response.text(),
        r#"POST /items?id=1 HTTP/1.1 x-a=Some("one") type=Some("text/csv") len=Some("4") body="a,b\n" remote=Some("5.6.7.8:54321")"#
    );
    let response = TestRequest::get("/")
        .var("REMOTE_ADDR", "")
        .call(describe_http);
    assert!(
        response.text().ends_with(r#"body="" remote=None"#),
        "{}",
        response.text()
    );
}

#[test]
fn http_request_version_comes_from_server_protocol() {
    fn version(request: cgi::http::Request<Vec<u8>>) -> String {
        format!("{:?}", request.version())
    }
    for (protocol, expected) in [
        ("HTTP/0.9", Version::HTTP_09),
        ("HTTP/1.0", Version::HTTP_10),
        ("INCLUDED", Version::HTTP_10),
        ("HTTP/1.1", Version::HTTP_11),
        ("HTTP/2", Version::HTTP_2),
        ("HTTP/2.0", Version::HTTP_2),
        ("HTTP/3", Version::HTTP_3),
        ("", Version::HTTP_11),
        ("SHTTP/1.3", Version::HTTP_11),
    ] {
        let response = TestRequest::get("/")
            .var("SERVER_PROTOCOL", protocol)
            .call(version);
        assert_eq!(response.status(), StatusCode::OK, "{protocol}");
        assert_eq!(response.text(), format!("{expected:?}"), "{protocol}");
    }
}

#[test]
fn http_request_short_body_is_400() {
    let response = TestRequest::post("/")
        .body("abc")
        .var("CONTENT_LENGTH", "5")
        .call(describe_http);
    assert_rejection(
        &response,
        StatusCode::BAD_REQUEST,
        "The request body ended early: CONTENT_LENGTH is 5 bytes, but only 3 arrived.",
    );
}

// ---- Cookies ----

fn show_cookies(cookies: Cookies) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {}",
        cookies.get("a"),
        cookies.get_all("a").collect::<Vec<_>>(),
        cookies.get("q"),
        cookies.get("missing"),
        cookies.len()
    )
}

#[test]
fn cookies_quoted_values_and_duplicates() {
    let response = TestRequest::get("/")
        .cookie("a", "1")
        .cookie("q", "\"quoted\"")
        .cookie("a", "2")
        .call(show_cookies);
    assert_eq!(
        response.text(),
        r#"Some("1") ["1", "2"] Some("quoted") None 3"#
    );
}

#[test]
fn cookies_junk_is_skipped_without_panics() {
    let junk: &[&[u8]] = &[
        b"; ;a=1;; b c=2; =3; novalue; e=\xff; \xff=4; q=\"half; a=x=y",
        b";;;;",
        b"=",
        b"a",
        b"\"a=1\"",
        b"a=\"\"",
        b"\x00=\x01",
    ];
    for header in junk {
        let response = TestRequest::get("/")
            .var("HTTP_COOKIE", OsStr::from_bytes(header))
            .call(show_cookies);
        assert_eq!(response.status(), StatusCode::OK, "{header:?}");
        assert_eq!(response.log(), "", "{header:?}");
    }
    let response = TestRequest::get("/")
        .var("HTTP_COOKIE", OsStr::from_bytes(junk[0]))
        .call(show_cookies);
    assert_eq!(
        response.text(),
        r#"Some("1") ["1", "x=y"] Some("\"half") None 3"#
    );
    let response = TestRequest::get("/")
        .var("HTTP_COOKIE", "a=\"\"")
        .call(show_cookies);
    assert_eq!(response.text(), r#"Some("") [""] None None 1"#);
    let response = TestRequest::get("/").call(show_cookies);
    assert_eq!(response.text(), "None [] None None 0");
}

// ---- Query<T> and Form<T> through Option and Result ----

#[derive(Debug, Deserialize)]
struct Rating {
    author: String,
    stars: u8,
}

#[test]
fn query_through_option_and_result() {
    fn optional(rating: Option<Query<Rating>>) -> String {
        rating.map_or("none".into(), |Query(r)| {
            format!("{} {}", r.author, r.stars)
        })
    }
    fn fallible(rating: Result<Query<Rating>, QueryRejection>) -> String {
        match rating {
            Ok(Query(r)) => format!("{} {}", r.author, r.stars),
            Err(rejection) => format!("{} {rejection}", rejection.status().as_u16()),
        }
    }
    assert_eq!(
        TestRequest::get("/?author=ann&stars=5")
            .call(optional)
            .text(),
        "ann 5"
    );
    let response = TestRequest::get("/?author=ann&stars=many").call(optional);
    assert_eq!(raw(&response), plain_200("none"));
    assert_eq!(response.log(), "");
    assert_eq!(
        TestRequest::get("/?author=ann&stars=5")
            .call(fallible)
            .text(),
        "ann 5"
    );
    let response = TestRequest::get("/?author=ann").call(fallible);
    assert_eq!(
        raw(&response),
        plain_200("400 Invalid query string: missing field `stars`")
    );
    assert_eq!(response.log(), "");
    let response = TestRequest::get("/?author=ann&stars=300").call(fallible);
    assert!(
        response
            .text()
            .starts_with("400 Invalid query string: field `stars`"),
        "{}",
        response.text()
    );
}

#[test]
fn form_through_option_and_result() {
    fn optional(rating: Option<Form<Rating>>) -> String {
        rating.map_or("none".into(), |Form(r)| format!("{} {}", r.author, r.stars))
    }
    fn fallible(rating: Result<Form<Rating>, FormRejection>) -> String {
        match rating {
            Ok(Form(r)) => format!("{} {}", r.author, r.stars),
            Err(rejection) => format!("{} {rejection}", rejection.status().as_u16()),
        }
    }
    let good = || TestRequest::post("/").form(&[("author", "bo"), ("stars", "4")]);
    assert_eq!(good().call(optional).text(), "bo 4");
    assert_eq!(good().call(fallible).text(), "bo 4");
    // 422, 415 and 400 all become None.
    for request in [
        TestRequest::post("/").form(&[("author", "bo")]),
        TestRequest::post("/").body("author=bo&stars=4"),
        TestRequest::post("/")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("author=%zz&stars=4"),
    ] {
        let response = request.call(optional);
        assert_eq!(raw(&response), plain_200("none"));
        assert_eq!(response.log(), "");
    }
    let response = TestRequest::post("/")
        .form(&[("author", "bo")])
        .call(fallible);
    assert_eq!(
        raw(&response),
        plain_200("422 Invalid form data: missing field `stars`")
    );
    let response = TestRequest::post("/")
        .header("Content-Type", "application/json")
        .body("{}")
        .call(fallible);
    assert_eq!(
        response.text(),
        "415 Expected a form body (Content-Type: application/x-www-form-urlencoded), but the request's is `application/json`."
    );
    // GET reads the query, and its rejection is a 400.
    let response = TestRequest::get("/?author=bo").call(fallible);
    assert_eq!(
        response.text(),
        "400 Invalid query string: missing field `stars`"
    );
}

// =====================================================================================
// 2. Responses, as exact CGI bytes
// =====================================================================================

#[derive(Serialize)]
struct Receipt {
    item: &'static str,
    quantity: u32,
    note: Option<&'static str>,
}

#[test]
fn json_response_is_application_json() {
    let response = TestRequest::get("/").call(|| {
        Json(Receipt {
            item: "tea \"green\"",
            quantity: 2,
            note: None,
        })
    });
    let body = r#"{"item":"tea \"green\"","quantity":2,"note":null}"#;
    assert_eq!(
        raw(&response),
        format!(
            "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    );
    let response = TestRequest::get("/").call(|| (StatusCode::CREATED, Json([1, 2, 3])));
    assert_eq!(
        raw(&response),
        "Status: 201 Created\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n[1,2,3]"
    );
}

#[test]
fn json_response_that_cannot_be_serialised_is_a_generic_500() {
    let response = TestRequest::get("/").call(|| Json(BTreeMap::from([(vec![1u8], 1u8)])));
    assert_generic_500(&response, "could not serialise the JSON response");
}

#[test]
fn local_redirect_is_a_lone_location_line() {
    let response = TestRequest::get("/").call(|| LocalRedirect::to("/x?y=1"));
    assert_eq!(response.raw(), b"Location: /x?y=1\r\n\r\n");
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.header("location"), Some("/x?y=1"));
    assert_eq!(response.log(), "");
    // Also for HEAD and POST.
    let response = TestRequest::post("/")
        .body("x=1")
        .call(|| LocalRedirect::to("/done"));
    assert_eq!(response.raw(), b"Location: /done\r\n\r\n");
    let response = TestRequest::get("/")
        .method(Method::HEAD)
        .call(|| LocalRedirect::to("/"));
    assert_eq!(response.raw(), b"Location: /\r\n\r\n");
}

#[test]
fn local_redirect_to_anything_but_a_local_path_is_a_generic_500() {
    for target in [
        "http://evil",
        "//evil",
        "/\\evil",
        "/a b",
        "/a\r\nX: y",
        "/a\nX: y",
        "/a\tb",
        "evil",
        "",
    ] {
        let response = TestRequest::get("/").call(move || LocalRedirect::to(target));
        assert_generic_500(&response, "a local redirect needs a path on this server");
        assert!(!raw(&response).contains("evil"), "{target:?}");
        assert!(!raw(&response).contains("X: y"), "{target:?}");
    }
}

#[test]
fn every_redirect_kind_is_status_location_and_an_escaped_link() {
    let location = "/next?a=1&b=\"<x>\"";
    let link = "/next?a=1&amp;b=&quot;&lt;x&gt;&quot;";
    let body = format!(
        "<!DOCTYPE html>\n<title>Redirect</title>\n<p>Continue to <a href=\"{link}\">{link}</a>.</p>\n"
    );
    for (redirect, status) in [
        (Redirect::to(location), "303 See Other"),
        (Redirect::found(location), "302 Found"),
        (Redirect::temporary(location), "307 Temporary Redirect"),
        (Redirect::permanent(location), "308 Permanent Redirect"),
    ] {
        let response = TestRequest::post("/").call(move || redirect.clone());
        assert_eq!(
            raw(&response),
            format!(
                "Status: {status}\r\nContent-Type: text/html; charset=utf-8\r\nLocation: {location}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        );
    }
    // An absolute URL is fine for a client redirect.
    let response = TestRequest::get("/").call(|| Redirect::permanent("https://example.com/"));
    assert_eq!(response.header("location"), Some("https://example.com/"));
    // A location with CR/LF never splits the header.
    let response = TestRequest::get("/").call(|| Redirect::to("/x\r\nSet-Cookie: EVIL=1"));
    assert_generic_500(&response, "Location");
    assert!(!raw(&response).contains("EVIL"));
}

/// A reader that hands out `data` a few bytes at a time, as a pipe might.
struct Trickle {
    data: Vec<u8>,
    at: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(7).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn trickle(data: &[u8]) -> Trickle {
    Trickle {
        data: data.to_vec(),
        at: 0,
    }
}

#[test]
fn streamed_body_with_a_length_has_content_length() {
    let response =
        TestRequest::get("/").call(|| Body::from_reader(trickle(b"hello, stream"), Some(13)));
    assert_eq!(
        raw(&response),
        "Status: 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 13\r\n\r\nhello, stream"
    );
    assert_eq!(response.log(), "");
    // Exactly the announced length is sent, even if the reader has more.
    let response = TestRequest::get("/").call(|| {
        Response::builder()
            .header("Content-Type", "text/plain")
            .body(Body::from_reader(trickle(b"hello, and more"), Some(5)))
    });
    assert_eq!(
        raw(&response),
        "Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    );
}

#[test]
fn streamed_body_without_a_length_has_no_content_length() {
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let stream = data.clone();
    let response = TestRequest::get("/").call(move || Body::from_reader(trickle(&stream), None));
    let head = b"Status: 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n";
    assert_eq!(&response.raw()[..head.len()], head);
    assert_eq!(response.raw().len(), head.len() + data.len());
    assert_eq!(response.body(), data);
    assert_eq!(response.header("content-length"), None);
}

#[test]
fn a_five_mib_stream_comes_through_intact() {
    const SIZE: usize = 5 << 20;
    let data: Vec<u8> = (0..SIZE).map(|i| (i * 31 % 257) as u8).collect();
    for length in [Some(SIZE as u64), None] {
        let stream = data.clone();
        let response =
            TestRequest::get("/").call(move || Body::from_reader(io::Cursor::new(stream), length));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.header("content-length"),
            length.map(|_| "5242880"),
            "{length:?}"
        );
        assert!(response.body() == data, "{length:?}: the body differs");
        assert_eq!(response.log(), "");
    }
}

// Regression: a streamed body that ends before its announced length used to make
// `TestRequest::call` panic; the test kit now hands back the response and its log.
#[test]
fn a_stream_that_ends_short_of_its_length_is_logged() {
    let response = TestRequest::get("/").call(|| Body::from_reader(trickle(b"abc"), Some(10)));
    assert!(response.raw().starts_with(
        b"Status: 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 10\r\n\r\nabc"
    ));
    assert!(
        response
            .log()
            .contains("the response body ended after 3 of 10 bytes"),
        "{}",
        response.log()
    );
}

#[test]
fn head_on_a_streamed_body_sends_headers_only_and_never_reads() {
    struct Untouchable(Arc<AtomicBool>);
    impl Read for Untouchable {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            self.0.store(true, Ordering::SeqCst);
            Err(io::Error::other("read during HEAD"))
        }
    }
    for length in [Some(1_000_000u64), None] {
        let touched = Arc::new(AtomicBool::new(false));
        let flag = touched.clone();
        let response = TestRequest::get("/")
            .method(Method::HEAD)
            .call(move || Body::from_reader(Untouchable(flag), length));
        let expected = match length {
            Some(_) => {
                "Status: 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
            }
            None => "Status: 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n",
        };
        assert_eq!(raw(&response), expected);
        assert!(!touched.load(Ordering::SeqCst), "{length:?}");
        assert_eq!(response.log(), "");
    }
}

#[test]
fn a_file_body_is_streamed_with_its_length() {
    let path = std::env::temp_dir().join(format!("cgikit-vocabulary-{}.bin", std::process::id()));
    std::fs::write(&path, every_byte()).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let response = TestRequest::get("/").call(move || {
        Response::builder()
            .header("Content-Type", "application/pdf")
            .attachment("report.pdf")
            .body(file)
    });
    std::fs::remove_file(&path).unwrap();
    let mut expected = b"Status: 200 OK\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Length: 512\r\n\r\n".to_vec();
    expected.extend_from_slice(&every_byte());
    assert_eq!(response.raw(), expected);
}

#[test]
fn http_response_keeps_status_headers_and_body() {
    let response = TestRequest::get("/").call(|| {
        cgi::http::Response::builder()
            .status(201)
            .header("content-type", "text/csv")
            .header("x-request-id", "42")
            .header("cache-control", "no-store")
            .body("a,b\n")
            .unwrap()
    });
    assert_eq!(
        raw(&response),
        "Status: 201 Created\r\nContent-Type: text/csv\r\nX-Request-Id: 42\r\nCache-Control: no-store\r\nContent-Length: 4\r\n\r\na,b\n"
    );
    // Without a Content-Type, the body's own default; bytes are octet-stream.
    let response = TestRequest::get("/").call(|| cgi::http::Response::new(vec![0u8, 255]));
    assert_eq!(
        response.raw(),
        b"Status: 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 2\r\n\r\n\x00\xFF"
    );
    // Server-only headers are refused as from the builder.
    let response = TestRequest::get("/").call(|| {
        cgi::http::Response::builder()
            .header("transfer-encoding", "chunked")
            .body("x")
            .unwrap()
    });
    assert_generic_500(&response, "transfer-encoding");
}

/// A `Location` on a 200 means another document under Apache and the 200 under nginx: both
/// ways of building a response are refused alike; a redirect status or 201 keeps it.
#[test]
fn location_without_a_redirect_status_is_a_generic_500() {
    let from_builder = TestRequest::get("/").call(|| {
        Response::builder()
            .header("Location", "/elsewhere")
            .body("<p>moved</p>")
    });
    assert_generic_500(&from_builder, "a `Location` header with status 200");
    let from_http = TestRequest::get("/").call(|| {
        cgi::http::Response::builder()
            .header("location", "https://example.com/")
            .body("x")
            .unwrap()
    });
    assert_generic_500(&from_http, "a `Location` header with status 200");
    let created = TestRequest::post("/").call(|| {
        cgi::http::Response::builder()
            .status(201)
            .header("location", "/items/7")
            .body("")
            .unwrap()
    });
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.header("location"), Some("/items/7"));
    let moved = TestRequest::get("/").call(|| {
        Response::builder()
            .status(StatusCode::MOVED_PERMANENTLY)
            .header("Location", "/new")
            .body("")
    });
    assert_eq!(moved.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(moved.header("location"), Some("/new"));
    assert_eq!(moved.log(), "");
}

#[test]
fn attachments_strip_directories_and_encode_odd_names() {
    fn download(name: &'static str) -> impl Fn() -> Response {
        move || {
            Response::builder()
                .header("Content-Type", "text/csv")
                .attachment(name)
                .body("a\n")
        }
    }
    for (name, disposition) in [
        ("report.csv", "attachment; filename=\"report.csv\""),
        ("../../etc/passwd", "attachment; filename=\"passwd\""),
        (
            "C:\\Users\\ann\\q4 sales.csv",
            "attachment; filename=\"q4 sales.csv\"",
        ),
        ("dir/", "attachment; filename=\"download\""),
        ("..", "attachment; filename=\"download\""),
        (
            "a\r\nSet-Cookie: x=1.csv",
            "attachment; filename=\"aSet-Cookie: x=1.csv\"",
        ),
        (
            "say \"hi\".txt",
            "attachment; filename=\"say _hi_.txt\"; filename*=UTF-8''say%20%22hi%22.txt",
        ),
        (
            "/tmp/résumé.pdf",
            "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
        ),
        (
            "100%;x.txt",
            "attachment; filename=\"100__x.txt\"; filename*=UTF-8''100%25%3Bx.txt",
        ),
    ] {
        let response = TestRequest::get("/").call(download(name));
        assert_eq!(
            raw(&response),
            format!(
                "Status: 200 OK\r\nContent-Type: text/csv\r\nContent-Disposition: {disposition}\r\nContent-Length: 2\r\n\r\na\n"
            ),
            "{name:?}"
        );
    }
}

#[test]
fn error_new_answers_its_status_and_message() {
    fn missing() -> Result<String, Error> {
        Err(Error::new(StatusCode::NOT_FOUND, "No such post."))
    }
    assert_rejection(
        &TestRequest::get("/").call(missing),
        StatusCode::NOT_FOUND,
        "No such post.",
    );
}

#[test]
fn error_from_io_error_is_a_generic_500_logged_only() {
    fn read() -> Result<String, Error> {
        let text = std::fs::read_to_string("/nonexistent/cgikit-vocabulary/secret.txt")?;
        Ok(text)
    }
    let response = TestRequest::get("/").call(read);
    assert_eq!(raw(&response), INTERNAL_ERROR);
    assert_eq!(
        response.log(),
        "test: 500 the handler failed: No such file or directory (os error 2)\n"
    );
    fn chained() -> Result<String, Error> {
        Err(io::Error::other(io::Error::new(io::ErrorKind::NotFound, "inner cause")).into())
    }
    let response = TestRequest::get("/").call(chained);
    assert_eq!(raw(&response), INTERNAL_ERROR);
    assert!(response.log().contains("inner cause"), "{}", response.log());
}

#[test]
fn error_from_a_rejection_keeps_its_status() {
    fn body(mut request: Request) -> Result<String, Error> {
        let bytes = request.body_mut().read_to_vec()?;
        Ok(format!("{} bytes", bytes.len()))
    }
    let response = TestRequest::post("/")
        .body("abc")
        .var("CONTENT_LENGTH", "10")
        .call(body);
    assert_rejection(
        &response,
        StatusCode::BAD_REQUEST,
        "The request body ended early: CONTENT_LENGTH is 10 bytes, but only 3 arrived.",
    );
    assert_eq!(
        TestRequest::post("/").body("abc").call(body).text(),
        "3 bytes"
    );

    fn query(rating: Result<Query<Rating>, QueryRejection>) -> Result<String, Error> {
        let Query(rating) = rating?;
        Ok(rating.author)
    }
    assert_rejection(
        &TestRequest::get("/?author=x").call(query),
        StatusCode::BAD_REQUEST,
        "Invalid query string: missing field `stars`",
    );

    fn form(rating: Result<Form<Rating>, FormRejection>) -> Result<String, Error> {
        let Form(rating) = rating?;
        Ok(rating.author)
    }
    assert_rejection(
        &TestRequest::post("/").form(&[("stars", "1")]).call(form),
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid form data: missing field `author`",
    );

    fn bytes_with_rejection(body: Result<Vec<u8>, BodyRejection>) -> Result<Vec<u8>, Error> {
        Ok(body?)
    }
    assert_eq!(
        TestRequest::post("/")
            .body("abc")
            .var("CONTENT_LENGTH", "4")
            .call(bytes_with_rejection)
            .status(),
        StatusCode::BAD_REQUEST
    );
}

// =====================================================================================
// 3. SetCookie
// =====================================================================================

fn with_cookies(cookies: Vec<SetCookie>) -> TestResponse {
    TestRequest::get("/").call(move || {
        cookies
            .iter()
            .cloned()
            .fold(Response::builder(), |builder, cookie| {
                builder.cookie(cookie)
            })
            .body("ok")
    })
}

/// The exact response for one or more accepted cookies.
fn cookie_raw(lines: &[&str]) -> String {
    let cookies: String = lines
        .iter()
        .map(|line| format!("Set-Cookie: {line}\r\n"))
        .collect();
    format!(
        "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n{cookies}Content-Length: 2\r\n\r\nok"
    )
}

/// 1994-11-06 08:49:37 UTC, RFC 9110's example date.
fn example_date() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(784_111_777)
}

#[test]
fn set_cookie_each_attribute_alone() {
    let base = || SetCookie::new("sid", "abc");
    for (cookie, line) in [
        (base(), "sid=abc"),
        (base().path("/cgi-bin/app"), "sid=abc; Path=/cgi-bin/app"),
        (base().domain("example.com"), "sid=abc; Domain=example.com"),
        (
            base().max_age(Duration::from_secs(3600)),
            "sid=abc; Max-Age=3600",
        ),
        (
            base().max_age(Duration::from_millis(1999)),
            "sid=abc; Max-Age=1",
        ),
        (
            base().expires(example_date()),
            "sid=abc; Expires=Sun, 06 Nov 1994 08:49:37 GMT",
        ),
        (base().secure(true), "sid=abc; Secure"),
        (base().secure(false), "sid=abc"),
        (base().http_only(true), "sid=abc; HttpOnly"),
        (base().http_only(false), "sid=abc"),
        (
            base().same_site(SameSite::Strict),
            "sid=abc; SameSite=Strict",
        ),
        (base().same_site(SameSite::Lax), "sid=abc; SameSite=Lax"),
        (base().same_site(SameSite::None), "sid=abc; SameSite=None"),
        (base().partitioned(true), "sid=abc; Partitioned"),
        (base().partitioned(false), "sid=abc"),
        // Cookie-octets may be any visible ASCII but space, `"`, `,`, `;` and `\`.
        (
            SetCookie::new("t0k!#$%&'*+-.^_`|~", "a=b/c:d?e[f]{g}<h>@"),
            "t0k!#$%&'*+-.^_`|~=a=b/c:d?e[f]{g}<h>@",
        ),
        (SetCookie::new("empty", ""), "empty="),
    ] {
        assert_eq!(
            raw(&with_cookies(vec![cookie])),
            cookie_raw(&[line]),
            "{line}"
        );
    }
}

#[test]
fn set_cookie_all_attributes_together_in_order() {
    // Set in reverse order: the output order is fixed.
    let cookie = SetCookie::new("sid", "3f9a")
        .partitioned(true)
        .same_site(SameSite::None)
        .http_only(true)
        .secure(true)
        .expires(example_date())
        .max_age(Duration::from_secs(60))
        .domain("example.com")
        .path("/");
    assert_eq!(
        raw(&with_cookies(vec![cookie])),
        cookie_raw(&[
            "sid=3f9a; Path=/; Domain=example.com; Max-Age=60; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Secure; HttpOnly; SameSite=None; Partitioned"
        ])
    );
}

#[test]
fn set_cookie_delete_expires_the_cookie() {
    assert_eq!(
        raw(&with_cookies(vec![SetCookie::delete("sid")])),
        cookie_raw(&["sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"])
    );
    assert_eq!(
        raw(&with_cookies(vec![
            SetCookie::delete("sid").path("/app").domain("example.com")
        ])),
        cookie_raw(&[
            "sid=; Path=/app; Domain=example.com; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        ])
    );
}

#[test]
fn several_cookies_are_several_lines_in_order() {
    let response = with_cookies(vec![
        SetCookie::new("c", "3"),
        SetCookie::new("a", "1").http_only(true),
        SetCookie::delete("old"),
        SetCookie::new("c", "again"),
    ]);
    assert_eq!(
        raw(&response),
        cookie_raw(&[
            "c=3",
            "a=1; HttpOnly",
            "old=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "c=again",
        ])
    );
    assert_eq!(response.headers().get_all("set-cookie").iter().count(), 4);
}

/// Each attacker string carries the marker `EVIL`, which must never reach the output.
const INJECTIONS: [&str; 7] = [
    "a\r\nSet-Cookie: EVIL=1",
    "a\nEVIL: 1",
    "a; Domain=EVIL.example",
    "a EVIL",
    "a\"EVIL",
    "a,EVIL=1",
    "caf\u{e9}EVIL",
];

fn assert_refused(cookie: SetCookie, what: &str) {
    let response = with_cookies(vec![SetCookie::new("before", "1"), cookie]);
    assert_eq!(raw(&response), INTERNAL_ERROR, "{what}");
    assert!(!raw(&response).contains("EVIL"), "{what}");
    assert!(!raw(&response).contains("before"), "{what}");
    assert!(
        response
            .log()
            .contains("answered 500 instead of the handler's response"),
        "{what}: {}",
        response.log()
    );
}

#[test]
fn set_cookie_injection_in_name_or_value_is_a_generic_500() {
    for attack in INJECTIONS {
        assert_refused(SetCookie::new(attack, "v"), &format!("name {attack:?}"));
        assert_refused(SetCookie::new("sid", attack), &format!("value {attack:?}"));
    }
    for bad_name in ["", "a=b", "a\tb", "a\\b", "(a)", "a/b"] {
        assert_refused(SetCookie::new(bad_name, "v"), &format!("name {bad_name:?}"));
    }
    for bad_value in ["a\\b", "a\tb", "a\0b", "a\x7Fb"] {
        assert_refused(
            SetCookie::new("sid", bad_value),
            &format!("value {bad_value:?}"),
        );
    }
}

#[test]
fn set_cookie_injection_in_path_or_domain_is_a_generic_500() {
    for attack in [
        "a\r\nSet-Cookie: EVIL=1",
        "a\nEVIL: 1",
        "a; Domain=EVIL.example",
        "caf\u{e9}EVIL",
        "a\0EVIL",
        "a\tEVIL",
    ] {
        assert_refused(
            SetCookie::new("sid", "v").path(&format!("/{attack}")),
            &format!("path {attack:?}"),
        );
        assert_refused(
            SetCookie::new("sid", "v").domain(attack),
            &format!("domain {attack:?}"),
        );
    }
}

// Regression: `Domain` used to accept a space, `"` and `,`; RFC 6265 §4.1.2.3 makes it a
// host name, and a `,` would let a client that folds Set-Cookie lines read a second cookie.
#[test]
fn set_cookie_domain_refuses_space_quote_and_comma() {
    for attack in ["a EVIL", "a\"EVIL", "a,EVIL=1"] {
        assert_refused(
            SetCookie::new("sid", "v").domain(attack),
            &format!("domain {attack:?}"),
        );
    }
}

// Regression (a policy): `Path` refuses a space, `"` and `,`, which browsers never send
// unencoded and a `,` could split a folded Set-Cookie line.
#[test]
fn set_cookie_path_refuses_space_quote_and_comma() {
    for attack in ["a EVIL", "a\"EVIL", "a,EVIL=1"] {
        assert_refused(
            SetCookie::new("sid", "v").path(&format!("/{attack}")),
            &format!("path {attack:?}"),
        );
    }
}

// =====================================================================================
// 4. RFC 3875 cases re-expressed from Go's net/http/cgi tests
// =====================================================================================
//
// The cases below port the *cases* of Go's `net/http/cgi` `child_test.go` and
// `host_test.go` (Copyright The Go Authors, BSD-3-Clause licence), re-expressed for
// cgikit's request model; no Go code is copied. Where Go builds an absolute URL
// (`http://example.com/path?a=b`), cgikit's `Request::uri` is the request target and the
// host is the `Host` header.

/// Go's TestRequest environment.
fn go_request() -> TestRequest {
    TestRequest::get("/")
        .var("SERVER_PROTOCOL", "HTTP/1.1")
        .var("REQUEST_METHOD", "GET")
        .var("HTTP_HOST", "example.com")
        .var("HTTP_REFERER", "elsewhere")
        .var("HTTP_USER_AGENT", "goclient")
        .var("HTTP_FOO_BAR", "baz")
        .var("REQUEST_URI", "/path?a=b")
        // Not in Go's environment (Go's child parses the query out of REQUEST_URI), but
        // RFC 3875 §4.1.7 says the server MUST set it, and cgikit reads the query from it.
        .var("QUERY_STRING", "a=b")
        .var("CONTENT_LENGTH", "123")
        .var("CONTENT_TYPE", "text/xml")
        .var("REMOTE_ADDR", "5.6.7.8")
        .var("REMOTE_PORT", "54321")
}

fn go_describe(request: Request) -> String {
    let header = |name: &str| request.header(name).unwrap_or("-").to_owned();
    let remote = RemoteAddr {
        ip: request.remote_addr().expect("REMOTE_ADDR"),
        port: request.remote_port(),
    };
    format!(
        "method={} uri={} host={} https={} ua={} type={} length={:?}/{} referer={} foo-bar={} remote={remote}",
        request.method(),
        request.uri(),
        header("host"),
        request.is_https(),
        header("user-agent"),
        request.content_type().unwrap_or("-"),
        request.content_length(),
        header("content-length"),
        header("referer"),
        header("foo-bar"),
    )
}

#[test]
fn go_test_request() {
    let response = go_request().call(go_describe);
    assert_eq!(
        response.text(),
        "method=GET uri=/path?a=b host=example.com https=false ua=goclient type=text/xml length=Some(123)/123 referer=elsewhere foo-bar=baz remote=5.6.7.8:54321"
    );
    // The query decodes as Go's form value a=b.
    let response = go_request().call(|Query(q): Query<BTreeMap<String, String>>| format!("{q:?}"));
    assert_eq!(response.text(), r#"{"a": "b"}"#);
    // The header map has Foo-Bar from HTTP_FOO_BAR, and nothing from non-HTTP_ variables.
    let response = go_request().call(|headers: cgi::HeaderMap| {
        let mut names: Vec<&str> = headers.keys().map(|name| name.as_str()).collect();
        names.sort_unstable();
        names.join(",")
    });
    assert_eq!(
        response.text(),
        "content-length,content-type,foo-bar,host,referer,user-agent"
    );
}

#[test]
fn go_request_with_tls() {
    for https in ["1", "on", "ON"] {
        let response = go_request().var("HTTPS", https).call(go_describe);
        assert!(
            response.text().contains(" https=true "),
            "{https}: {}",
            response.text()
        );
    }
    let response = go_request()
        .var("REQUEST_SCHEME", "https")
        .call(go_describe);
    assert!(response.text().contains(" https=true "));
    for not_https in ["off", "0", ""] {
        let response = go_request().var("HTTPS", not_https).call(go_describe);
        assert!(response.text().contains(" https=false "), "{not_https}");
    }
}

#[test]
fn go_request_without_host() {
    let response = go_request().var("HTTP_HOST", "").call(|request: Request| {
        format!(
            "{} {:?} {:?}",
            request.uri(),
            request.uri().host(),
            request.header("host")
        )
    });
    assert_eq!(response.text(), "/path?a=b None None");
}

#[test]
fn go_request_without_request_uri() {
    let response = go_request()
        .var("REQUEST_URI", "")
        .var("SCRIPT_NAME", "/dir/scriptname")
        .var("PATH_INFO", "/p1/p2")
        .var("QUERY_STRING", "a=1&b=2")
        .call(go_describe);
    assert!(
        response
            .text()
            .contains(" uri=/dir/scriptname/p1/p2?a=1&b=2 "),
        "{}",
        response.text()
    );
}

#[test]
fn go_request_without_remote_port() {
    let response = go_request().var("REMOTE_PORT", "").call(go_describe);
    assert!(
        response.text().ends_with(" remote=5.6.7.8"),
        "{}",
        response.text()
    );
    let response = go_request()
        .var("REMOTE_PORT", "")
        .call(|addr: RemoteAddr| format!("{:?}", addr.port));
    assert_eq!(response.text(), "None");
}

#[test]
fn go_included_server_protocol() {
    let response = go_request()
        .var("SERVER_PROTOCOL", "INCLUDED")
        .var("CONTENT_LENGTH", "")
        .call(|request: cgi::http::Request<Vec<u8>>| format!("{:?}", request.version()));
    assert_eq!(raw(&response), plain_200("HTTP/1.0"));
}

#[test]
fn go_child_only_headers() {
    // A handler that sets headers and writes no body still gives a complete response.
    let response = TestRequest::get("/").call(|| {
        Response::builder()
            .header("X-Test-Header", "X-Test-Value")
            .body(Body::empty())
    });
    assert_eq!(
        raw(&response),
        "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nX-Test-Header: X-Test-Value\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(response.header("x-test-header"), Some("X-Test-Value"));
    assert_eq!(response.body(), b"");
}

#[test]
fn go_nil_request_body() {
    // POST with no body, or with CONTENT_LENGTH=0: an empty, readable body.
    fn all(mut request: Request) -> String {
        let mut text = String::new();
        let read = request.body_mut().read_to_string(&mut text);
        format!("{read:?} {text:?} {:?}", request.content_length())
    }
    for request in [
        TestRequest::post("/"),
        TestRequest::post("/").body(""),
        TestRequest::post("/").var("CONTENT_LENGTH", "0"),
        TestRequest::post("/").var("CONTENT_LENGTH", "000"),
    ] {
        assert_eq!(request.clone().call(all).text(), "Ok(0) \"\" None");
        assert_eq!(
            request
                .clone()
                .call(|body: Vec<u8>| format!("{body:?}"))
                .text(),
            "[]"
        );
        assert_eq!(
            request
                .clone()
                .call(|body: String| format!("{body:?}"))
                .text(),
            "\"\""
        );
        assert_eq!(
            request
                .call(|request: cgi::http::Request<Vec<u8>>| format!("{:?}", request.body()))
                .text(),
            "[]"
        );
    }
}

#[test]
fn go_500_with_no_headers_does_not_apply_status_and_content_type_are_always_written() {
    // Go's host answers 500 when the child prints no headers, only Content-Length, or a
    // blank line first. cgikit cannot produce those: every response with a body starts with
    // `Status:` then `Content-Type:`, even an empty one.
    let responses = [
        TestRequest::get("/").call(|| ""),
        TestRequest::get("/").call(Vec::<u8>::new),
        TestRequest::get("/").call(Body::empty),
        TestRequest::get("/").call(|| cgi::http::Response::new("")),
        TestRequest::get("/")
            .call(|| Response::builder().body(Body::from_reader(io::empty(), None))),
        TestRequest::get("/").call(|| Json(())),
        TestRequest::get("/").call(|| StatusCode::OK),
        TestRequest::get("/").call(|| -> &'static str { panic!("no output at all") }),
    ];
    for response in &responses {
        let raw = raw(response);
        let mut lines = raw.split("\r\n");
        assert!(lines.next().unwrap().starts_with("Status: "), "{raw}");
        assert!(lines.next().unwrap().starts_with("Content-Type: "), "{raw}");
        assert!(raw.contains("\r\n\r\n"), "{raw}");
    }
    // The two exceptions, by design: 204 (no body, so no Content-Type) and a local
    // redirect (RFC 3875 §6.2.2).
    assert_eq!(
        raw(&TestRequest::get("/").call(|| StatusCode::NO_CONTENT)),
        "Status: 204 No Content\r\n\r\n"
    );
    assert_eq!(
        raw(&TestRequest::get("/").call(|| LocalRedirect::to("/"))),
        "Location: /\r\n\r\n"
    );
}

#[test]
fn an_empty_variable_is_an_unset_one() {
    fn facts(request: Request) -> String {
        format!(
            "{} {:?} {:?} {:?}",
            request.uri(),
            request.var("REQUEST_URI"),
            request.var("HTTP_HOST"),
            request.header("host")
        )
    }
    let response = TestRequest::get("/a?b=1")
        .var("REQUEST_URI", "")
        .var("SCRIPT_NAME", "/cgi-bin/s")
        .var("HTTP_HOST", "")
        .call(facts);
    assert_eq!(response.text(), "/cgi-bin/s/a?b=1 None None None");
    // Without the override, REQUEST_URI is the one used.
    let response = TestRequest::get("/a?b=1")
        .var("SCRIPT_NAME", "/cgi-bin/s")
        .call(facts);
    assert_eq!(
        response.text(),
        "/a?b=1 Some([47, 97, 63, 98, 61, 49]) Some([108, 111, 99, 97, 108, 104, 111, 115, 116]) Some(\"localhost\")"
    );
    // An empty QUERY_STRING is no query; an empty CONTENT_TYPE is no content type.
    let response = TestRequest::post("/?x=1")
        .var("QUERY_STRING", "")
        .var("CONTENT_TYPE", "")
        .call(|request: Request| {
            format!("{:?} {:?}", request.query_string(), request.content_type())
        });
    assert_eq!(response.text(), "None None");
}

// Regression: `TestRequest::var` on an `HTTP_*` variable used to leave the default value
// in the header map as well; it now replaces it.
#[test]
fn var_overrides_a_header_variable() {
    let response = TestRequest::get("/")
        .var("HTTP_HOST", "example.com")
        .var("HTTP_X_A", "1")
        .var("HTTP_X_A", "2")
        .call(|request: Request| {
            format!(
                "{:?} {:?} {:?} {}",
                request.header("host"),
                request.headers().get_all("host").iter().collect::<Vec<_>>(),
                request.headers().get_all("x-a").iter().collect::<Vec<_>>(),
                request
                    .vars()
                    .filter(|(name, _)| *name == "HTTP_HOST")
                    .count()
            )
        });
    assert_eq!(
        response.text(),
        r#"Some("example.com") ["example.com"] ["2"] 1"#
    );
}
