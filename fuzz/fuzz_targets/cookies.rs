//! Fuzzes the `Cookie` header: `cgi::Cookies::parse`, the `Cookies` extractor, and
//! setting every received cookie back with `SetCookie`.
//!
//! Input: any bytes, the `Cookie` header (`HTTP_COOKIE`).
//!
//! Checked:
//! - `Cookies::parse` never panics; every name is a non-empty RFC 9110 token, no value
//!   holds a `;`; `get` is the first of a name, `get_all` all of them in order, `len` the
//!   count;
//! - the extractor sees exactly what `Cookies::parse` does;
//! - a handler that sets each cookie back (`SetCookie::new(name, value)`) answers either
//!   200 with exactly one `Set-Cookie: name=value` line per cookie, in order, when every
//!   value is RFC 6265 cookie-octets, or else exactly the generic 500; no other header
//!   line than `Content-Type` and `Content-Length`, and well-formed CGI (`common::parse`).

#![no_main]

mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use cgi::test::TestRequest;
use cgi::{Cookies, Response, SetCookie};
use libfuzzer_sys::fuzz_target;

/// RFC 6265 `cookie-octet`: visible ASCII but `"`, `,`, `;` and `\`.
fn is_cookie_octet(byte: u8) -> bool {
    byte.is_ascii_graphic() && !matches!(byte, b'"' | b',' | b';' | b'\\')
}

fuzz_target!(|data: &[u8]| {
    let cookies = Cookies::parse(data);
    let pairs: Vec<(String, String)> = cookies
        .iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    assert_eq!(cookies.len(), pairs.len());
    assert_eq!(cookies.is_empty(), pairs.is_empty());
    assert!(
        pairs.len() <= data.iter().filter(|&&byte| byte == b';').count() + 1,
        "more cookies than `;`-separated pieces"
    );
    let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
    for (name, value) in &pairs {
        assert!(
            !name.is_empty() && name.bytes().all(common::is_tchar),
            "a cookie name that is not a token: {name:?} (from {:?})",
            String::from_utf8_lossy(data)
        );
        assert!(!value.contains(';'), "a cookie value with a `;`: {value:?}");
        by_name.entry(name).or_default().push(value);
    }
    // `get` and `get_all` scan the list: check a few names, so that a long header (up to
    // thousands of cookies) stays linear.
    let mut names: Vec<&str> = pairs
        .iter()
        .map(|(name, _)| name.as_str())
        .take(16)
        .collect();
    names.extend(pairs.last().map(|(name, _)| name.as_str()));
    names.push("absent name");
    for name in names {
        let all = by_name.get(name).cloned().unwrap_or_default();
        assert_eq!(cookies.get(name), all.first().copied(), "get({name:?})");
        assert_eq!(
            cookies.get_all(name).collect::<Vec<_>>(),
            all,
            "get_all({name:?})"
        );
    }

    // The extractor reads HTTP_COOKIE the same way.
    let seen = RefCell::new(None);
    let response = request(data).call(|cookies: Cookies| {
        *seen.borrow_mut() = Some(
            cookies
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect::<Vec<_>>(),
        );
        "ok"
    });
    common::parse(response.raw(), false);
    assert_eq!(seen.into_inner().as_ref(), Some(&pairs), "the extractor");

    // Every cookie, set back.
    let response = request(data).call(|cookies: Cookies| {
        let mut builder = Response::builder();
        for (name, value) in cookies.iter() {
            builder = builder.cookie(SetCookie::new(name, value));
        }
        builder.body("ok")
    });
    let raw = response.raw();
    let settable = pairs
        .iter()
        .all(|(_, value)| value.bytes().all(is_cookie_octet));
    if !settable {
        assert_eq!(
            raw,
            common::INTERNAL_ERROR,
            "a cookie value that is not cookie-octets was set: {:?}",
            String::from_utf8_lossy(raw)
        );
        return;
    }
    let output = common::parse(raw, false);
    assert_eq!(output.status, Some(200), "{:?}", output.shown());
    let expected: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let set: Vec<String> = output
        .all("set-cookie")
        .iter()
        .map(|value| String::from_utf8_lossy(value).into_owned())
        .collect();
    assert_eq!(set, expected, "the Set-Cookie lines: {:?}", output.shown());
    for (name, _) in &output.headers {
        assert!(
            matches!(
                name.as_str(),
                "set-cookie" | "content-type" | "content-length"
            ),
            "a header line the handler did not set: {name:?} in {:?}",
            output.shown()
        );
    }
    assert_eq!(output.body, b"ok");
});

fn request(cookie: &[u8]) -> TestRequest {
    TestRequest::get("/").var("HTTP_COOKIE", OsStr::from_bytes(cookie))
}
