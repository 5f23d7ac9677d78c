//! SCGI (Neil Schemenauer's protocol, 2006): one request per connection. The headers come
//! as a netstring of NUL-separated names and values (`CONTENT_LENGTH` first), the body
//! follows, and the answer is a CGI response on the same socket.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStringExt;

use http::StatusCode;

use super::polling_reader::PollingReader;
use super::{Context, Transport};
use crate::exchange::write_response;
use crate::response::Response;

/// The most header bytes one request may bring.
const MAX_HEADERS: usize = 1024 * 1024;

/// Answers the one request on a connection.
pub(crate) fn answer<T: Transport>(
    input: T,
    output: &mut dyn Write,
    context: &Context<'_>,
) -> io::Result<()> {
    // The socket polls (see `PollingReader`); SCGI has no idle time to look for a stop in.
    let mut input = BufReader::with_capacity(16 * 1024, PollingReader::new(input));
    let vars = match read_headers(&mut input) {
        Ok(vars) => vars,
        Err(Malformed(reason)) => {
            let response = Response::rejection(StatusCode::BAD_REQUEST, reason);
            write_response(context.program, response, false, output, &mut io::stderr())?;
            return output.flush();
        }
    };
    context.serve(vars, Box::new(input), output)?;
    output.flush()
}

/// Why a request's headers could not be read; answered with `400 Bad Request`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) String);

impl From<io::Error> for Malformed {
    // The client sees the reason: no OS error text in it.
    fn from(_: io::Error) -> Self {
        Malformed("The SCGI headers ended early.".into())
    }
}

/// Reads the netstring of headers (`<length>:<name>\0<value>\0...,`) into meta-variables.
pub(crate) fn read_headers(
    input: &mut impl BufRead,
) -> Result<Vec<(OsString, OsString)>, Malformed> {
    let mut digits = Vec::new();
    input.take(8).read_until(b':', &mut digits)?;
    if digits.pop() != Some(b':') || digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Malformed(
            "The SCGI request does not start with a netstring length.".into(),
        ));
    }
    let length: usize = std::str::from_utf8(&digits)
        .ok()
        .and_then(|digits| digits.parse().ok())
        .filter(|length| *length <= MAX_HEADERS)
        .ok_or_else(|| {
            Malformed(format!(
                "The SCGI headers are longer than {MAX_HEADERS} bytes."
            ))
        })?;
    let mut headers = vec![0u8; length + 1];
    input.read_exact(&mut headers)?;
    if headers.pop() != Some(b',') {
        return Err(Malformed(
            "The SCGI header netstring does not end with ','.".into(),
        ));
    }
    parse_headers(&headers)
}

/// Splits `name\0value\0...` into pairs; `CONTENT_LENGTH` must come first (SCGI §3).
pub(crate) fn parse_headers(headers: &[u8]) -> Result<Vec<(OsString, OsString)>, Malformed> {
    let Some(headers) = headers.strip_suffix(b"\0") else {
        return Err(Malformed(
            "The SCGI headers do not end with a NUL byte.".into(),
        ));
    };
    let fields: Vec<&[u8]> = headers.split(|byte| *byte == 0).collect();
    if !fields.len().is_multiple_of(2) {
        return Err(Malformed("An SCGI header has no value.".into()));
    }
    let vars: Vec<(OsString, OsString)> = fields
        .chunks_exact(2)
        .map(|pair| {
            (
                OsString::from_vec(pair[0].to_vec()),
                OsString::from_vec(pair[1].to_vec()),
            )
        })
        .collect();
    match vars.first() {
        Some((name, _)) if name == "CONTENT_LENGTH" => Ok(vars),
        _ => Err(Malformed(
            "The first SCGI header is not CONTENT_LENGTH.".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(input: &[u8]) -> Result<Vec<(String, String)>, Malformed> {
        let vars = read_headers(&mut &input[..])?;
        Ok(vars
            .into_iter()
            .map(|(name, value)| (name.into_string().unwrap(), value.into_string().unwrap()))
            .collect())
    }

    #[test]
    fn the_example_from_the_specification() {
        let request = b"70:CONTENT_LENGTH\x0027\x00SCGI\x001\x00REQUEST_METHOD\x00POST\x00REQUEST_URI\x00/deepthought\x00,What is the answer to life?";
        let mut input = &request[..];
        let parsed = read_headers(&mut input).unwrap();
        assert_eq!(parsed.len(), 4);
        assert_eq!(parsed[3].1, "/deepthought");
        // The body is left for the request to read.
        assert_eq!(input, b"What is the answer to life?");
    }

    #[test]
    fn malformed_netstrings_are_refused() {
        for (input, reason) in [
            (&b"GET / HTTP/1.1\r\n"[..], "netstring length"),
            (b":,", "netstring length"),
            (b"99999999:", "netstring length"),
            (b"9999999:", "longer than"),
            (b"5:ab\0c\0;", "does not end with ','"),
            (b"7:ab\0c\0d\0,", "no value"),
            (b"4:a\0b\0,", "not CONTENT_LENGTH"),
            (b"3:abc,", "NUL byte"),
            (b"10:CONTENT_", "ended early"),
        ] {
            let Err(Malformed(message)) = vars(input) else {
                panic!("{input:?} was accepted");
            };
            assert!(message.contains(reason), "{input:?}: {message}");
        }
    }

    #[test]
    fn empty_values_are_kept() {
        assert_eq!(
            vars(b"24:CONTENT_LENGTH\x000\x00SCGI\x001\x00,").unwrap(),
            [
                ("CONTENT_LENGTH".to_owned(), "0".to_owned()),
                ("SCGI".to_owned(), "1".to_owned())
            ]
        );
    }
}
