//! Fuzzes the FastCGI responder: one connection's worth of records from the web server,
//! through the real conversation (record parser, name-value pairs, stdin streaming,
//! keep-alive, aborts, management records) and the core, into a handler that reads the
//! body and answers with its length.
//!
//! Input: if the first byte is `0xFF`, the rest is the raw connection (arbitrary framing).
//! Otherwise a list of records, each `kind id length content...`: `kind` modulo 12
//! (0 means "a random kind": the next byte as is), `id` modulo 4 (0 is the management
//! id), `length` bytes of content taken from what follows (fewer if the input ends).
//! A BEGIN_REQUEST's content is made valid when it is shorter than 8 bytes (role from the
//! first byte modulo 4, flags from the second), so that requests actually run.
//!
//! Checked:
//! - no panic, and the conversation ends (Cursor input: every read terminates);
//! - the output is well-formed records: version 1, reserved 0, nothing cut short, only
//!   STDOUT, END_REQUEST, GET_VALUES_RESULT and UNKNOWN_TYPE;
//! - every request id the output talks about was begun in the input;
//! - each request's STDOUT, when not empty, is a well-formed CGI response
//!   (`common::parse`), closed by one empty STDOUT record (nothing after it) before its
//!   END_REQUEST.

#![no_main]

mod common;

use cgi::{Limits, Request, Response};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::io::Read;

const STDOUT: u8 = 6;
const END_REQUEST: u8 = 3;
const BEGIN_REQUEST: u8 = 1;

fn build_records(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = data;
    while let [kind, id, length, tail @ ..] = rest {
        let (kind, tail) = match (kind % 12, tail) {
            (0, [raw, tail @ ..]) => (*raw, tail),
            (0, []) => break,
            (kind, tail) => (kind, tail),
        };
        let length = usize::from(*length).min(tail.len());
        let (content, tail) = tail.split_at(length);
        let mut content = content.to_vec();
        if kind == BEGIN_REQUEST && content.len() < 8 {
            let role = content.first().map_or(1, |byte| byte % 4);
            let flags = content.get(1).copied().unwrap_or(1) & 1;
            content = vec![0, role, flags, 0, 0, 0, 0, 0];
        }
        let id = u16::from(id % 4);
        let size = (content.len() as u16).to_be_bytes();
        out.extend_from_slice(&[1, kind, 0, id as u8, size[0], size[1], 0, 0]);
        out.extend_from_slice(&content);
        rest = tail;
    }
    out
}

fn handler(mut request: Request) -> Response {
    let mut body = Vec::new();
    match request.body_mut().read_to_end(&mut body) {
        Ok(_) => Response::builder().body(format!("{} bytes", body.len())),
        Err(error) => Response::builder()
            .status(cgi::StatusCode::BAD_REQUEST)
            .body(format!("{}", error.kind())),
    }
}

fuzz_target!(|data: &[u8]| {
    let input = match data {
        [0xFF, raw @ ..] => raw.to_vec(),
        _ => build_records(data),
    };
    let limits = Limits::default().max_body(4096).drain_cap(8192);
    let (output, _ending) = cgi::__private::fastcgi_conversation(&input, &limits, &handler);

    let begun = begun_ids(&input);
    let mut rest = &output[..];
    // Per request id: its STDOUT so far, and whether the stream was closed.
    let mut answers: HashMap<u16, (Vec<u8>, bool)> = HashMap::new();
    while !rest.is_empty() {
        assert!(rest.len() >= 8, "a record header cut short");
        assert_eq!(rest[0], 1, "version");
        assert_eq!(rest[7], 0, "reserved");
        let kind = rest[1];
        let id = u16::from_be_bytes([rest[2], rest[3]]);
        let length = usize::from(u16::from_be_bytes([rest[4], rest[5]]));
        let padding = usize::from(rest[6]);
        assert!(rest.len() >= 8 + length + padding, "a record cut short");
        let content = &rest[8..8 + length];
        match kind {
            STDOUT => {
                assert!(id != 0 && begun.contains(&id), "STDOUT for id {id} never begun");
                let (answer, closed) = answers.entry(id).or_default();
                assert!(!*closed, "STDOUT after the stream's end");
                if content.is_empty() {
                    *closed = true;
                } else {
                    answer.extend_from_slice(content);
                }
            }
            END_REQUEST => {
                assert!(id != 0 && begun.contains(&id), "END_REQUEST for id {id} never begun");
                assert_eq!(length, 8);
                let (answer, closed) = answers.remove(&id).unwrap_or_default();
                if !answer.is_empty() {
                    assert!(closed, "END_REQUEST before the empty STDOUT");
                    common::parse(&answer, false);
                }
            }
            10 | 11 => assert_eq!(id, 0, "a management answer for a request"),
            other => panic!("the application sent a record of type {other}"),
        }
        rest = &rest[8 + length + padding..];
    }
});

/// The request ids of every BEGIN_REQUEST in the raw input, following the record framing.
fn begun_ids(input: &[u8]) -> Vec<u16> {
    let mut ids = Vec::new();
    let mut rest = input;
    while rest.len() >= 8 {
        let id = u16::from_be_bytes([rest[2], rest[3]]);
        if rest[1] == BEGIN_REQUEST {
            ids.push(id);
        }
        let skip = 8 + usize::from(u16::from_be_bytes([rest[4], rest[5]])) + usize::from(rest[6]);
        if rest.len() < skip {
            break;
        }
        rest = &rest[skip..];
    }
    ids
}
