//! Fuzzes the streaming multipart/form-data parser through the real request core.
//!
//! Input: the first line (up to the first `\n`, at most 70 bytes) is the boundary put in
//! the `Content-Type`; everything after that `\n` is the request body.
//!
//! Each input runs through:
//! 1. a handler that walks every field of a `cgi::Multipart` and reads it with `Read` in
//!    small chunks (checking what the parser hands out);
//! 2. a handler taking a `cgi::MultipartForm<HashMap<String, String>>` (text fields
//!    deserialized, files spooled to temporary files);
//! 3. the walker again, with small limits, twice: once on the body as it is and once with
//!    a 64 KiB preamble in front, so that the body reaches the parser in two reads cut at
//!    a point the input chooses (the parser holds one 64 KiB buffer, and a fuzz input is
//!    smaller: without this every body would arrive in one read). Both answers must be
//!    byte for byte the same.
//!
//! A panic anywhere (libfuzzer-sys's panic hook aborts even inside the core's
//! `catch_unwind`), or a failed assertion on the CGI output, is a finding.

#![no_main]

use std::collections::HashMap;
use std::io::Read;

use cgi::test::{TestRequest, TestResponse};
use cgi::{Limits, Multipart, MultipartError, MultipartForm};
use libfuzzer_sys::fuzz_target;

/// Read sizes, cycled per field, so that data is handed out across every kind of cut.
const CHUNKS: [usize; 5] = [1, 3, 7, 64, 4096];

/// What the parser's first read of the body can hold: its 64 KiB buffer, less the line
/// break it starts with (cgi-runtime/src/multipart/parser.rs).
const FIRST_READ: usize = 64 * 1024 - 1;

fuzz_target!(|data: &[u8]| {
    let Some(newline) = data.iter().take(71).position(|&byte| byte == b'\n') else {
        return;
    };
    let boundary = String::from_utf8_lossy(&data[..newline]).into_owned();
    let body = &data[newline + 1..];
    let content_type = format!("multipart/form-data; boundary={boundary}");
    // The delimiter the runtime looks for: the parameter's value up to a `;`, trimmed and
    // unquoted (cgi-runtime/src/multipart/mod.rs, `boundary`).
    let effective = boundary
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('"');
    let delimiter = format!("\n--{effective}").into_bytes();
    let request = || TestRequest::post("/").header("Content-Type", &content_type);

    // 1. Every field, read with `Read` in small chunks.
    let response = request()
        .body(body)
        .call(walk(delimiter.clone(), body.len()));
    check(&response);

    // 2. The whole form: text fields into a map, files into temporary files.
    let response =
        request()
            .body(body)
            .call(|form: MultipartForm<HashMap<String, String>>| -> String {
                let mut keys: Vec<_> = form.fields.keys().cloned().collect();
                keys.sort();
                keys.join(",")
            });
    check(&response);

    // 3. Small limits (so that 413s are reachable with small inputs), in one read and in
    //    two. A preamble of `x`s and a line break changes nothing: the parser starts as if
    //    after a line break.
    if body.len() >= FIRST_READ {
        return; // Already more than one read (only with a raised -max_len).
    }
    let limits = Limits::default()
        .max_parts(8)
        .max_part_headers(256)
        .max_file_size(512);
    let whole = request()
        .body(body)
        .limits(limits.clone())
        .call(walk(delimiter.clone(), body.len()));
    check(&whole);
    let cut = body.iter().map(|&byte| usize::from(byte)).sum::<usize>() % (body.len() + 1);
    let mut padded = vec![b'x'; FIRST_READ - cut];
    *padded.last_mut().expect("cut < FIRST_READ") = b'\n';
    padded.extend_from_slice(body);
    let split = request()
        .body(padded)
        .limits(limits)
        .call(walk(delimiter, body.len()));
    check(&split);
    assert!(
        whole.raw() == split.raw(),
        "the answer depends on where the body's reads were cut (at {cut}):\n\
         one read:   {:?}\ntwo reads:  {:?}",
        String::from_utf8_lossy(whole.raw()),
        String::from_utf8_lossy(split.raw()),
    );
});

/// A handler that reads every field in small chunks and reports each one's name, file name
/// and size.
fn walk(
    delimiter: Vec<u8>,
    body_len: usize,
) -> impl FnOnce(Multipart) -> Result<String, MultipartError> {
    move |mut multipart| {
        let mut report = String::new();
        let mut total = 0usize;
        let mut index = 0usize;
        while let Some(mut field) = multipart.next_field()? {
            let name = field.name().map(str::to_owned);
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_owned);
            let mut chunk = vec![0u8; CHUNKS[index % CHUNKS.len()]];
            let mut value = Vec::new();
            loop {
                let n = field.read(&mut chunk).map_err(MultipartError::from_io)?;
                if n == 0 {
                    break;
                }
                assert!(n <= chunk.len(), "read {n} bytes into {}", chunk.len());
                value.extend_from_slice(&chunk[..n]);
            }
            // A part's data ends at the first delimiter, so it never holds one.
            assert!(
                !value
                    .windows(delimiter.len())
                    .any(|window| window == delimiter),
                "a field's data holds the delimiter"
            );
            total += value.len();
            assert!(
                total <= body_len,
                "the fields hold more bytes than the body"
            );
            // Past the end of a part, `read` gives nothing more.
            assert_eq!(field.read(&mut chunk).map_err(MultipartError::from_io)?, 0);
            report.push_str(&format!(
                "{name:?} {file_name:?} {content_type:?} {} {value:?}\n",
                value.len()
            ));
            index += 1;
        }
        // After the last part the stream stays ended.
        assert!(multipart.next_field()?.is_none(), "a part after the end");
        Ok(report)
    }
}

/// The raw CGI output is a response: a `Status` line first, and a blank line after the
/// headers.
fn check(response: &TestResponse) {
    let raw = response.raw();
    assert!(
        raw.starts_with(b"Status: "),
        "the CGI output does not start with a Status line: {:?}",
        String::from_utf8_lossy(raw)
    );
    assert!(
        raw.windows(4).any(|window| window == b"\r\n\r\n"),
        "the CGI output has no blank line: {:?}",
        String::from_utf8_lossy(raw)
    );
}
