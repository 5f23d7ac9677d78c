//! SCGI (Neil Schemenauer's protocol, 2006): one request per connection. The headers come
//! as a netstring of NUL-separated names and values (`CONTENT_LENGTH` first), the body
//! follows, and the answer is a CGI response on the same socket.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::ffi::OsStringExt;

use http::StatusCode;

use super::polling_reader::{Deadline, PollingReader};
use super::{Context, Ending, Transport};
use crate::command_line::Bounds;
use crate::exchange::write_response;
use crate::response::Response;

/// Answers the one request on a connection.
pub(crate) fn answer<T: Transport>(
    input: PollingReader<T>,
    output: &mut dyn Write,
    context: &Context<'_>,
) -> io::Result<Ending> {
    let mut input = BufReader::with_capacity(16 * 1024, input);
    // A web server sends its request as it connects: the head's deadline counts from
    // the connection, and a connection that sends nothing gives its worker back as an
    // idle FastCGI one does.
    input.get_mut().deadline = Some(Deadline::after(context.bounds.head_timeout));
    if !super::wait_for_request(&mut input, context)? {
        return Ok(Ending::Closed);
    }
    let head = read_headers(&mut input, context.bounds);
    input.get_mut().deadline = None;
    let (status, reason) = match head {
        Ok(vars) => {
            context.serve(vars, Box::new(input), output)?;
            output.flush()?;
            return Ok(Ending::Answered);
        }
        Err(HeadError::Io(error)) => return Err(error),
        Err(HeadError::Malformed(reason)) => (StatusCode::BAD_REQUEST, reason),
        Err(HeadError::TooLarge(reason)) => (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, reason),
    };
    let response = Response::rejection(status, reason);
    write_response(&context.program, response, false, output, &mut io::stderr())?;
    output.flush()?;
    Ok(Ending::Answered)
}

/// Why a request's headers could not be read.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// Answered `400 Bad Request`, with the reason.
    Malformed(String),
    /// Past `--max-params` or `--max-param-count`: answered `431`, with the reason.
    TooLarge(String),
    /// The connection failed or a time limit was reached: it is closed, unanswered.
    Io(io::Error),
}

impl From<io::Error> for HeadError {
    // The client sees the reason: no OS error text in it.
    fn from(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::UnexpectedEof {
            HeadError::Malformed("The SCGI headers ended early.".into())
        } else {
            HeadError::Io(error)
        }
    }
}

/// Reads the netstring of headers (`<length>:<name>\0<value>\0...,`) into meta-variables,
/// within the bounds.
pub(crate) fn read_headers(
    input: &mut impl BufRead,
    bounds: &Bounds,
) -> Result<Vec<(OsString, OsString)>, HeadError> {
    let mut digits = Vec::new();
    io::Read::take(&mut *input, 8).read_until(b':', &mut digits)?;
    if digits.pop() != Some(b':') || digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(HeadError::Malformed(
            "The SCGI request does not start with a netstring length.".into(),
        ));
    }
    let max = bounds.max_params;
    let length: usize = std::str::from_utf8(&digits)
        .ok()
        .and_then(|digits| digits.parse().ok())
        .filter(|length| *length <= max)
        .ok_or_else(|| {
            HeadError::TooLarge(format!("The SCGI headers are longer than {max} bytes."))
        })?;
    // Kept as it arrives, not allocated at the announced length: memory follows what
    // the web server sent (at most twice that, as the buffer grows).
    let mut headers = Vec::new();
    let mut left = length + 1;
    while left > 0 {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        let taken = available.len().min(left);
        headers.extend_from_slice(&available[..taken]);
        input.consume(taken);
        left -= taken;
    }
    if headers.pop() != Some(b',') {
        return Err(HeadError::Malformed(
            "The SCGI header netstring does not end with ','.".into(),
        ));
    }
    parse_headers(&headers, bounds.max_param_count)
}

/// Splits `name\0value\0...` into at most `max_count` pairs; `CONTENT_LENGTH` must come
/// first (SCGI §3).
pub(crate) fn parse_headers(
    headers: &[u8],
    max_count: usize,
) -> Result<Vec<(OsString, OsString)>, HeadError> {
    let Some(headers) = headers.strip_suffix(b"\0") else {
        return Err(HeadError::Malformed(
            "The SCGI headers do not end with a NUL byte.".into(),
        ));
    };
    let mut fields = headers.split(|byte| *byte == 0);
    let mut vars = Vec::new();
    while let Some(name) = fields.next() {
        let Some(value) = fields.next() else {
            return Err(HeadError::Malformed("An SCGI header has no value.".into()));
        };
        if vars.len() == max_count {
            return Err(HeadError::TooLarge(format!(
                "The request has more than {max_count} headers and variables."
            )));
        }
        vars.push((
            OsString::from_vec(name.to_vec()),
            OsString::from_vec(value.to_vec()),
        ));
    }
    match vars.first() {
        Some((name, _)) if name == "CONTENT_LENGTH" => Ok(vars),
        _ => Err(HeadError::Malformed(
            "The first SCGI header is not CONTENT_LENGTH.".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(input: &[u8]) -> Result<Vec<(String, String)>, HeadError> {
        vars_within(input, &Bounds::default())
    }

    fn vars_within(input: &[u8], bounds: &Bounds) -> Result<Vec<(String, String)>, HeadError> {
        let vars = read_headers(&mut &input[..], bounds)?;
        Ok(vars
            .into_iter()
            .map(|(name, value)| (name.into_string().unwrap(), value.into_string().unwrap()))
            .collect())
    }

    #[test]
    fn the_example_from_the_specification() {
        let request = b"70:CONTENT_LENGTH\x0027\x00SCGI\x001\x00REQUEST_METHOD\x00POST\x00REQUEST_URI\x00/deepthought\x00,What is the answer to life?";
        let mut input = &request[..];
        let parsed = read_headers(&mut input, &Bounds::default()).unwrap();
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
            (b"5:ab\0c\0;", "does not end with ','"),
            (b"7:ab\0c\0d\0,", "no value"),
            (b"4:a\0b\0,", "not CONTENT_LENGTH"),
            (b"3:abc,", "NUL byte"),
            (b"10:CONTENT_", "ended early"),
        ] {
            let Err(HeadError::Malformed(message)) = vars(input) else {
                panic!("{input:?} was not refused as malformed");
            };
            assert!(message.contains(reason), "{input:?}: {message}");
        }
    }

    #[test]
    fn headers_past_the_bounds_are_too_large_and_kept_only_as_they_arrive() {
        let bounds = Bounds {
            max_params: 40,
            max_param_count: 2,
            ..Bounds::default()
        };
        let two = b"24:CONTENT_LENGTH\x000\x00SCGI\x001\x00,";
        assert_eq!(vars_within(two, &bounds).unwrap().len(), 2);
        for (input, reason) in [
            (&b"41:"[..], "longer than 40 bytes"),
            // Announced 9999999 bytes by default limits: refused before any is read.
            (b"9999999:", "longer than 262144 bytes"),
            (
                b"27:CONTENT_LENGTH\x000\x00SCGI\x001\x00A\x00\x00,",
                "more than 2 headers",
            ),
        ] {
            let limits = if input.starts_with(b"99") {
                Bounds::default()
            } else {
                bounds.clone()
            };
            let Err(HeadError::TooLarge(message)) = vars_within(input, &limits) else {
                panic!("{input:?} was not refused as too large");
            };
            assert!(message.contains(reason), "{input:?}: {message}");
        }
        // A time limit is no malformation: it closes the connection unanswered.
        let mut timed_out = io::BufReader::new(TimesOut);
        assert!(matches!(
            read_headers(&mut timed_out, &bounds),
            Err(HeadError::Io(error)) if error.kind() == io::ErrorKind::TimedOut
        ));
    }

    struct TimesOut;

    impl io::Read for TimesOut {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::ErrorKind::TimedOut.into())
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
