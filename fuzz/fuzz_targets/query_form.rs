//! Fuzzes urlencoded decoding: `Query<T>` and `Form<T>`, through the real core.
//!
//! Input: any bytes, used whole as `QUERY_STRING` and as an
//! `application/x-www-form-urlencoded` POST body. Each input goes into:
//! 1. `Query<HashMap<String, String>>`;
//! 2. `Query<HashMap<String, Vec<String>>>`;
//! 3. `Form<Fields>` (a `String`, an `Option<u32>`, a `Vec<String>`, a `bool`), by GET
//!    (read from the query string) and by POST (read from the body).
//!
//! Each handler answers with what it received, re-encoded canonically (keys sorted). That
//! answer is compared with a model written here from the documentation: the input is
//! rejected when a `%` is not followed by two hex digits or a `&`-separated piece is not
//! UTF-8 once decoded (400); otherwise its pairs are `form_urlencoded::parse`'s, a repeated
//! key fills a `Vec` and is an error for a single value (400 for `Query` and GET forms, 422
//! for POST forms), `bool` takes `true`, `false`, `on`. Then the round trip: the re-encoded
//! answer, sent again, must give the same answer. Every output must be well-formed CGI.

#![no_main]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use cgi::test::{TestRequest, TestResponse};
use cgi::{Form, Query};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

/// A small form with one field of each everyday kind.
#[derive(Debug, PartialEq, Deserialize)]
struct Fields {
    name: String,
    age: Option<u32>,
    #[serde(default)]
    tag: Vec<String>,
    #[serde(default)]
    flag: bool,
}

impl Fields {
    fn encode(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        out.append_pair("name", &self.name);
        if let Some(age) = self.age {
            out.append_pair("age", &age.to_string());
        }
        for tag in &self.tag {
            out.append_pair("tag", tag);
        }
        out.append_pair("flag", if self.flag { "true" } else { "false" });
        out.finish()
    }
}

/// What the model expects of one extraction.
#[derive(Debug)]
enum Expected {
    /// 200, with this canonical re-encoding as the body.
    Ok(String),
    /// A rejection: the input is malformed (bad `%`, not UTF-8).
    Malformed,
    /// A rejection: well-formed, but not what the type needs.
    Mismatch,
}

fuzz_target!(|data: &[u8]| {
    let pairs = decode(data);

    // 1. One value per key.
    let expected = match &pairs {
        None => Expected::Malformed,
        Some(pairs) => {
            let mut map: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_str()))
                .collect();
            map.sort();
            if map.windows(2).any(|two| two[0].0 == two[1].0) {
                Expected::Mismatch
            } else {
                Expected::Ok(encode(map))
            }
        }
    };
    round_trip(data, &expected, &query_single, (400, 400));

    // 2. Every value of every key.
    let expected = match &pairs {
        None => Expected::Malformed,
        Some(pairs) => {
            // Keys sorted, each key's values in input order.
            let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (key, value) in pairs {
                groups.entry(key).or_default().push(value);
            }
            Expected::Ok(encode(groups.iter().flat_map(|(key, values)| {
                values.iter().map(move |value| (*key, *value))
            })))
        }
    };
    round_trip(data, &expected, &query_multi, (400, 400));

    // 3. A typed form, from the query string (GET) and from the body (POST).
    let expected = match &pairs {
        None => Expected::Malformed,
        Some(pairs) => match model_fields(pairs) {
            Some(fields) => Expected::Ok(fields.encode()),
            None => Expected::Mismatch,
        },
    };
    round_trip(data, &expected, &form_get, (400, 400));
    round_trip(data, &expected, &form_post, (400, 422));
});

/// Runs `call` on `input`, checks the answer against `expected` (`statuses`: the status
/// for malformed input, and for a mismatch), then, on success, runs it again on the
/// answer's body (a canonical encoding of what was extracted), which must come back the
/// same.
fn round_trip(
    input: &[u8],
    expected: &Expected,
    call: &dyn Fn(&[u8]) -> TestResponse,
    (malformed, mismatch): (u16, u16),
) {
    let response = call(input);
    let output = common::parse(response.raw(), false);
    let shown = || {
        format!(
            "input {:?}, expected {expected:?}, got {:?}",
            String::from_utf8_lossy(input),
            String::from_utf8_lossy(response.raw())
        )
    };
    match expected {
        Expected::Ok(encoded) => {
            assert_eq!(output.status, Some(200), "{}", shown());
            assert_eq!(output.body, encoded.as_bytes(), "{}", shown());
            let again = call(encoded.as_bytes());
            assert_eq!(
                again.raw(),
                response.raw(),
                "re-encoded and decoded again, the value changed: {}",
                shown()
            );
        }
        Expected::Malformed => assert_eq!(output.status, Some(malformed), "{}", shown()),
        Expected::Mismatch => assert_eq!(output.status, Some(mismatch), "{}", shown()),
    }
}

fn query(input: &[u8]) -> TestRequest {
    TestRequest::get("/").var("QUERY_STRING", OsStr::from_bytes(input))
}

fn query_single(input: &[u8]) -> TestResponse {
    query(input).call(|Query(map): Query<HashMap<String, String>>| {
        let mut pairs: Vec<(&str, &str)> =
            map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        pairs.sort();
        encode(pairs)
    })
}

fn query_multi(input: &[u8]) -> TestResponse {
    query(input).call(|Query(map): Query<HashMap<String, Vec<String>>>| {
        let mut groups: Vec<(&String, &Vec<String>)> = map.iter().collect();
        groups.sort();
        encode(groups.into_iter().flat_map(|(key, values)| {
            values
                .iter()
                .map(move |value| (key.as_str(), value.as_str()))
        }))
    })
}

fn form_get(input: &[u8]) -> TestResponse {
    query(input).call(|Form(fields): Form<Fields>| fields.encode())
}

fn form_post(input: &[u8]) -> TestResponse {
    TestRequest::post("/")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(input.to_vec())
        .call(|Form(fields): Form<Fields>| fields.encode())
}

fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        out.append_pair(key, value);
    }
    out.finish()
}

/// The pairs, or `None` when the input is malformed: a `%` without two hex digits after
/// it, or a `&`-separated piece that is not UTF-8 once `+` and `%XX` are decoded.
fn decode(input: &[u8]) -> Option<Vec<(String, String)>> {
    for piece in input.split(|&byte| byte == b'&') {
        let mut decoded = Vec::with_capacity(piece.len());
        let mut at = 0;
        while at < piece.len() {
            match piece[at] {
                b'%' => {
                    let hex = piece.get(at + 1..at + 3)?;
                    let text = std::str::from_utf8(hex).ok()?;
                    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return None;
                    }
                    decoded.push(u8::from_str_radix(text, 16).ok()?);
                    at += 3;
                }
                b'+' => {
                    decoded.push(b' ');
                    at += 1;
                }
                byte => {
                    decoded.push(byte);
                    at += 1;
                }
            }
        }
        String::from_utf8(decoded).ok()?;
    }
    Some(
        form_urlencoded::parse(input)
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect(),
    )
}

/// `Fields` from the pairs, as documented: `name` exactly once, `age` at most once and a
/// `u32`, `tag` any number of times, `flag` at most once and `true`, `false` or `on`;
/// other keys ignored.
fn model_fields(pairs: &[(String, String)]) -> Option<Fields> {
    let values = |key: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, value)| value.clone())
            .collect()
    };
    let name = match values("name").as_slice() {
        [name] => name.clone(),
        _ => return None,
    };
    let age = match values("age").as_slice() {
        [] => None,
        // A field left blank: an optional number reads as absent.
        [age] if age.is_empty() => None,
        [age] => Some(age.parse::<u32>().ok()?),
        _ => return None,
    };
    let flag = match values("flag").as_slice() {
        [] => false,
        [flag] if flag == "true" || flag == "on" => true,
        [flag] if flag == "false" => false,
        _ => return None,
    };
    Some(Fields {
        name,
        age,
        tag: values("tag"),
        flag,
    })
}
