//! The streaming multipart/form-data parser (RFC 7578, RFC 2046 §5.1.1): finds the
//! delimiters in a stream without ever holding more than one buffer of it.

use std::io::{self, Read};

use http::{HeaderMap, HeaderName, HeaderValue};

/// How much of the stream is held at once. Part data is handed out as soon as it cannot
/// be the start of a delimiter, so this bounds memory whatever the body's size.
const BUFFER: usize = 64 * 1024;

/// What went wrong in the stream's structure or against a limit.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Malformed: no first delimiter, a bad header line, no final delimiter, ...
    Malformed(String),
    /// A part's headers are longer than allowed.
    HeadersTooLarge(usize),
    /// The stream could not be read (an early end is `Malformed`).
    Io(String),
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum State {
    /// Before the first delimiter: a preamble to skip.
    Preamble,
    /// Just after a delimiter: `--` ends the body, else padding and a line break.
    AfterDelimiter,
    /// In a part's headers.
    Headers,
    /// In a part's data.
    Data,
    /// After the close delimiter: the epilogue is ignored.
    Done,
}

/// Splits a multipart body into parts: [`next_part`](Parts::next_part) gives each part's
/// headers, then [`read_data`](Parts::read_data) its data.
pub(crate) struct Parts<R> {
    source: R,
    /// Finds `\n--boundary`: a delimiter is this, optionally preceded by `\r` (bare LF
    /// tolerated).
    finder: memchr::memmem::Finder<'static>,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    /// `buffer[start..clean_until]` is known to be part data (no delimiter starts there).
    clean_until: usize,
    /// Where the delimiter that ends the current part starts, once found.
    delimiter_at: Option<usize>,
    source_ended: bool,
    state: State,
}

impl<R: Read> Parts<R> {
    pub(crate) fn new(source: R, boundary: &str) -> Self {
        let mut delimiter = b"\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        let mut buffer = vec![0; BUFFER].into_boxed_slice();
        // A line break before the stream, so that a body opening with `--boundary` (the
        // usual case) matches the same delimiter as every later one.
        buffer[0] = b'\n';
        Parts {
            source,
            finder: memchr::memmem::Finder::new(&delimiter).into_owned(),
            buffer,
            start: 0,
            end: 1,
            clean_until: 0,
            delimiter_at: None,
            source_ended: false,
            state: State::Preamble,
        }
    }

    /// Moves to the next part and returns its headers; `None` after the last part.
    /// Whatever is left of the current part's data is skipped.
    pub(crate) fn next_part(
        &mut self,
        max_header_bytes: usize,
    ) -> Result<Option<HeaderMap>, ParseError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Data => {
                    let mut sink = [0u8; 4096];
                    while self
                        .read_data(&mut sink)
                        .map_err(|error| io_to_parse(&error))?
                        > 0
                    {}
                }
                State::Preamble => self.skip_preamble()?,
                State::AfterDelimiter => self.after_delimiter()?,
                State::Headers => return self.read_headers(max_header_bytes).map(Some),
            }
        }
    }

    /// Reads the current part's data; `Ok(0)` at its end.
    pub(crate) fn read_data(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.state != State::Data || out.is_empty() {
            return Ok(0);
        }
        loop {
            // What an earlier search proved to be data is handed out without searching
            // again, so small reads (a `BufReader`-less `serde_json::from_reader`) stay cheap.
            if self.start < self.clean_until {
                let n = (self.clean_until - self.start).min(out.len());
                out[..n].copy_from_slice(&self.buffer[self.start..self.start + n]);
                self.start += n;
                return Ok(n);
            }
            if let Some(at) = self.delimiter_at.take() {
                self.start = at + self.finder.needle().len();
                self.state = State::AfterDelimiter;
                return Ok(0);
            }
            let window = &self.buffer[self.start..self.end];
            match self.finder.find(window) {
                Some(at) => {
                    // The data ends before the delimiter's line break (`\r\n`, or a bare `\n`).
                    let data_end = if at > 0 && window[at - 1] == b'\r' {
                        at - 1
                    } else {
                        at
                    };
                    self.clean_until = self.start + data_end;
                    self.delimiter_at = Some(self.start + at);
                }
                None => {
                    // Hold back what could be the start of a delimiter (and its `\r`).
                    let safe = window.len().saturating_sub(self.finder.needle().len());
                    if safe > 0 {
                        self.clean_until = self.start + safe;
                    } else if !self.fill()? {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the multipart body ends inside a part, without its closing boundary",
                        ));
                    }
                }
            }
        }
    }

    fn skip_preamble(&mut self) -> Result<(), ParseError> {
        loop {
            let window = &self.buffer[self.start..self.end];
            if let Some(at) = self.finder.find(window) {
                self.start += at + self.finder.needle().len();
                self.state = State::AfterDelimiter;
                return Ok(());
            }
            // Keep only a tail that could begin a delimiter.
            self.start = self
                .end
                .saturating_sub(self.finder.needle().len() - 1)
                .max(self.start);
            if !self.fill().map_err(|error| io_to_parse(&error))? {
                return Err(ParseError::Malformed(
                    "the multipart body has no boundary line".into(),
                ));
            }
        }
    }

    fn after_delimiter(&mut self) -> Result<(), ParseError> {
        self.ensure(2)?;
        if self.buffer[self.start..self.end].starts_with(b"--") {
            self.start += 2;
            self.state = State::Done;
            return Ok(());
        }
        // Transport padding (RFC 2046: linear white space) up to the line break.
        loop {
            self.ensure(1)?;
            match self.buffer[self.start] {
                b' ' | b'\t' | b'\r' => self.start += 1,
                b'\n' => {
                    self.start += 1;
                    self.state = State::Headers;
                    return Ok(());
                }
                _ => {
                    return Err(ParseError::Malformed(
                        "unexpected bytes after a boundary".into(),
                    ));
                }
            }
        }
    }

    fn read_headers(&mut self, max_header_bytes: usize) -> Result<HeaderMap, ParseError> {
        let mut headers = HeaderMap::new();
        let mut total = 0;
        loop {
            let line = self
                .read_line(max_header_bytes.saturating_sub(total) + 2)
                // The line's own budget is what is left; the limit to report is the whole.
                .map_err(|error| match error {
                    ParseError::HeadersTooLarge(_) => ParseError::HeadersTooLarge(max_header_bytes),
                    other => other,
                })?;
            total += line.len();
            if total > max_header_bytes {
                return Err(ParseError::HeadersTooLarge(max_header_bytes));
            }
            let line = line.strip_suffix(b"\n").unwrap_or(&line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                self.state = State::Data;
                return Ok(headers);
            }
            let colon = line.iter().position(|&byte| byte == b':');
            let parsed = colon.and_then(|colon| {
                let name = HeaderName::from_bytes(&line[..colon]).ok()?;
                let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).ok()?;
                Some((name, value))
            });
            match parsed {
                Some((name, value)) => {
                    headers.append(name, value);
                }
                None => {
                    return Err(ParseError::Malformed(
                        "a part has a malformed header line".into(),
                    ));
                }
            }
        }
    }

    /// One line including its `\n`, at most `max` bytes.
    fn read_line(&mut self, max: usize) -> Result<Vec<u8>, ParseError> {
        let mut line = Vec::new();
        loop {
            let window = &self.buffer[self.start..self.end];
            if let Some(at) = memchr::memchr(b'\n', window) {
                line.extend_from_slice(&window[..=at]);
                self.start += at + 1;
                return Ok(line);
            }
            line.extend_from_slice(window);
            self.start = self.end;
            if line.len() > max {
                return Err(ParseError::HeadersTooLarge(max.saturating_sub(2)));
            }
            if !self.fill().map_err(|error| io_to_parse(&error))? {
                return Err(ParseError::Malformed(
                    "the multipart body ends inside a part's headers".into(),
                ));
            }
        }
    }

    /// Makes at least `n` bytes available, or fails as a truncated body.
    fn ensure(&mut self, n: usize) -> Result<(), ParseError> {
        while self.end - self.start < n {
            if !self.fill().map_err(|error| io_to_parse(&error))? {
                return Err(ParseError::Malformed(
                    "the multipart body ends without its closing boundary".into(),
                ));
            }
        }
        Ok(())
    }

    /// Reads more into the buffer (moving what is left to its front); `false` at the end
    /// of the source.
    fn fill(&mut self) -> io::Result<bool> {
        if self.source_ended {
            return Ok(false);
        }
        if self.start > 0 {
            let shift = self.start;
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= shift;
            self.start = 0;
            self.clean_until = self.clean_until.saturating_sub(shift);
            self.delimiter_at = self.delimiter_at.map(|at| at - shift);
        }
        if self.end == self.buffer.len() {
            // Cannot happen: at most a delimiter's length is ever held back.
            return Err(io::Error::other("multipart buffer full"));
        }
        loop {
            match self.source.read(&mut self.buffer[self.end..]) {
                Ok(0) => {
                    self.source_ended = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }
}

pub(super) fn io_to_parse(error: &io::Error) -> ParseError {
    if error.kind() == io::ErrorKind::UnexpectedEof {
        ParseError::Malformed(error.to_string())
    } else {
        ParseError::Io(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out the stream in two pieces split at `split`, then in `chunk`-sized reads.
    struct Pieces {
        data: Vec<u8>,
        position: usize,
        split: usize,
        chunk: usize,
    }

    impl Read for Pieces {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let limit = if self.position < self.split {
                self.split
            } else {
                self.position + self.chunk
            };
            let n = out.len().min(limit.min(self.data.len()) - self.position);
            out[..n].copy_from_slice(&self.data[self.position..self.position + n]);
            self.position += n;
            Ok(n)
        }
    }

    type Part = (Vec<(String, String)>, Vec<u8>);

    fn parse(
        body: &[u8],
        boundary: &str,
        split: usize,
        chunk: usize,
    ) -> Result<Vec<Part>, ParseError> {
        let source = Pieces {
            data: body.to_vec(),
            position: 0,
            split,
            chunk,
        };
        let mut parts = Parts::new(source, boundary);
        let mut result = Vec::new();
        while let Some(headers) = parts.next_part(8192)? {
            let headers = headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("?").to_owned()))
                .collect();
            let mut data = Vec::new();
            let mut chunk = [0u8; 7];
            loop {
                match parts.read_data(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => data.extend_from_slice(&chunk[..n]),
                    Err(error) => return Err(io_to_parse(&error)),
                }
            }
            result.push((headers, data));
        }
        Ok(result)
    }

    /// Every way of cutting the stream in two, and byte by byte, gives the same parts.
    fn parse_every_way(body: &[u8], boundary: &str) -> Result<Vec<Part>, ParseError> {
        let whole = parse(body, boundary, body.len(), body.len().max(1));
        for split in 0..=body.len() {
            for chunk in [1, 3, 64] {
                assert_eq!(
                    parse(body, boundary, split, chunk),
                    whole,
                    "split at {split}, chunks of {chunk}"
                );
            }
        }
        whole
    }

    const BODY: &[u8] = b"preamble to ignore\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"title\"\r\n\
\r\n\
Hello --XyZ is not a boundary here, nor is\r\n-XyZ, nor \r--XyZ\r\n\
--XyZ  \t\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\
Content-Type: application/octet-stream\r\n\
\r\n\
\x00\x01\r\n\r\x02\r\n\
--XyZ--\r\n\
epilogue, also ignored\r\n";

    #[test]
    fn parts_and_data_whatever_the_reads() {
        let parts = parse_every_way(BODY, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0].0,
            [(
                "content-disposition".to_owned(),
                "form-data; name=\"title\"".to_owned()
            )]
        );
        assert_eq!(
            parts[0].1,
            b"Hello --XyZ is not a boundary here, nor is\r\n-XyZ, nor \r--XyZ"
        );
        assert_eq!(parts[1].0.len(), 2);
        assert_eq!(parts[1].1, b"\x00\x01\r\n\r\x02");
    }

    #[test]
    fn the_first_boundary_may_open_the_body() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--";
        let parts = parse_every_way(body, "b").unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].1, b"1");
    }

    #[test]
    fn bare_line_feeds_are_tolerated() {
        let body = b"--b\nContent-Disposition: form-data; name=\"a\"\n\nline one\nline two\n--b\nContent-Disposition: form-data; name=\"c\"\n\n\n--b--\n";
        let parts = parse_every_way(body, "b").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].1, b"line one\nline two");
        assert_eq!(parts[1].1, b"");
    }

    #[test]
    fn an_empty_form_has_no_parts() {
        assert_eq!(parse_every_way(b"--b--\r\n", "b").unwrap(), []);
    }

    #[test]
    fn a_long_boundary_and_a_large_part() {
        let boundary = "x".repeat(70);
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut body =
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n")
                .into_bytes();
        body.extend_from_slice(&data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        for chunk in [1, 4096, 65536] {
            let parts = parse(&body, &boundary, 0, chunk).unwrap();
            assert_eq!(parts[0].1, data);
        }
    }

    #[test]
    fn malformed_bodies_are_errors_not_hangs() {
        for (body, what) in [
            (&b""[..], "no boundary"),
            (b"just text", "no boundary"),
            (
                b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ndata without end",
                "ends inside a part",
            ),
            (
                b"--b\r\nContent-Disposition: form-data; name=\"a\"",
                "ends inside a part's headers",
            ),
            (
                b"--b\r\nno colon here\r\n\r\nx\r\n--b--",
                "malformed header",
            ),
            (
                b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b",
                "without its closing boundary",
            ),
            (b"--bxyz\r\n\r\n", "unexpected bytes"),
        ] {
            match parse_every_way(body, "b") {
                Err(ParseError::Malformed(message)) => {
                    assert!(message.contains(what), "{message:?} for {body:?}");
                }
                other => panic!("{other:?} for {body:?}"),
            }
        }
    }

    #[test]
    fn header_blocks_are_limited() {
        let mut body = b"--b\r\nX-Long: ".to_vec();
        body.extend(std::iter::repeat_n(b'a', 10_000));
        body.extend_from_slice(b"\r\n\r\nx\r\n--b--");
        let source = Pieces {
            data: body,
            position: 0,
            split: 0,
            chunk: 512,
        };
        let mut parts = Parts::new(source, "b");
        assert_eq!(
            parts.next_part(8192),
            Err(ParseError::HeadersTooLarge(8192))
        );
    }
}
