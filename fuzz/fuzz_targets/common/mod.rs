//! Shared by the fuzz targets: a strict reader of CGI output (RFC 3875 §6), written
//! independently of cgikit's writer and of `cgi::test::TestResponse`'s parser.
//!
//! Each target includes it with `mod common;` (each target is its own binary, so a
//! helper it does not use is not dead code elsewhere).

#![allow(dead_code)]

/// The generic answer for a response that cannot be written safely
/// (cgi-runtime/src/response/write.rs, `INTERNAL_ERROR`).
pub const INTERNAL_ERROR: &[u8] = b"Status: 500 Internal Server Error\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 22\r\n\
\r\n\
Internal Server Error\n";

/// The generic 500 as a HEAD request gets it: the same head, no body.
pub fn internal_error(head_only: bool) -> &'static [u8] {
    if head_only {
        &INTERNAL_ERROR[..INTERNAL_ERROR.len() - "Internal Server Error\n".len()]
    } else {
        INTERNAL_ERROR
    }
}

/// CGI output, read back.
#[derive(Debug)]
pub struct CgiOutput<'a> {
    /// The `Status` code; `None` for a local redirect (a lone `Location` line).
    pub status: Option<u16>,
    /// Every header line but `Status`, in order: lower-cased name, raw value.
    pub headers: Vec<(String, &'a [u8])>,
    /// The head, up to and including the blank line.
    pub head: &'a [u8],
    pub body: &'a [u8],
}

impl<'a> CgiOutput<'a> {
    /// The values of every line with this (lower-case) name.
    pub fn all(&self, name: &str) -> Vec<&'a [u8]> {
        self.headers
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| *value)
            .collect()
    }

    /// The value of the only line with this name (asserting there is at most one).
    pub fn one(&self, name: &str) -> Option<&'a [u8]> {
        let all = self.all(name);
        assert!(
            all.len() <= 1,
            "{} `{name}` lines: {:?}",
            all.len(),
            self.shown()
        );
        all.first().copied()
    }

    pub fn shown(&self) -> String {
        String::from_utf8_lossy(self.head).into_owned()
    }
}

/// RFC 9110 `tchar`.
pub fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// RFC 9110 `field-value` bytes: HTAB, visible ASCII, SP, obs-text. No CR, LF, NUL or
/// other control.
pub fn is_field_value_byte(byte: u8) -> bool {
    byte == b'\t' || (0x20..=0x7E).contains(&byte) || byte >= 0x80
}

/// Reads `raw` as a CGI response and panics, quoting it, unless it is well-formed:
///
/// - a head that ends at the first CRLF CRLF (so exactly one blank line ends it), every
///   line ending in CRLF, with no CR or LF inside a line;
/// - first a `Status: NNN reason` line with NNN in 200..=599 (the only status lines CGI
///   allows a script), or else a lone `Location: /...` line (a local redirect, RFC 3875
///   §6.2.2) and nothing after the blank line;
/// - then `Name: value` lines: names RFC 9110 tokens, values with no control bytes but
///   HTAB, no second `Status`, at most one `Content-Type` and one `Content-Length`;
/// - `Content-Length`, when present, the body's length (for HEAD, the head is all there
///   is and the body is empty);
/// - no body, and no `Content-Length`, for 204, 205 and 304.
pub fn parse(raw: &[u8], head_only: bool) -> CgiOutput<'_> {
    let shown = || String::from_utf8_lossy(raw).into_owned();
    let end = find(raw, b"\r\n\r\n")
        .unwrap_or_else(|| panic!("the CGI output has no blank line: {:?}", shown()));
    let head = &raw[..end + 4];
    let body = &raw[end + 4..];
    let mut lines = raw[..end].split_crlf();
    let first = lines.next().expect("split gives at least one line");
    let mut headers = Vec::new();
    let status = if let Some(rest) = first.strip_prefix(b"Status: ") {
        let code = rest
            .get(..3)
            .filter(|digits| digits.iter().all(u8::is_ascii_digit))
            .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<u16>().ok())
            .unwrap_or_else(|| panic!("a Status line without a code: {:?}", shown()));
        assert!(
            (200..=599).contains(&code),
            "status {code} cannot end a CGI response: {:?}",
            shown()
        );
        assert!(
            rest.len() > 4 && rest[3] == b' ' && rest[4..].iter().all(|&b| is_field_value_byte(b)),
            "a Status line without a reason phrase: {:?}",
            shown()
        );
        Some(code)
    } else {
        assert!(
            first.starts_with(b"Location: /") && end == first.len(),
            "the CGI output starts with neither a Status line nor a lone local Location: {:?}",
            shown()
        );
        assert!(
            body.is_empty(),
            "a local redirect with a body: {:?}",
            shown()
        );
        headers.push(("location".to_owned(), &first[b"Location: ".len()..]));
        None
    };
    for line in lines {
        assert!(
            !line.is_empty(),
            "an empty line inside the head: {:?}",
            shown()
        );
        let colon = find(line, b": ")
            .unwrap_or_else(|| panic!("a header line without `: `: {line:?} in {:?}", shown()));
        let (name, value) = (&line[..colon], &line[colon + 2..]);
        assert!(
            !name.is_empty() && name.iter().all(|&b| is_tchar(b)),
            "a header name that is not a token: {:?} in {:?}",
            String::from_utf8_lossy(name),
            shown()
        );
        assert!(
            value.iter().all(|&b| is_field_value_byte(b)),
            "a control byte (CR, LF, NUL...) in the value of {:?}: {:?}",
            String::from_utf8_lossy(name),
            shown()
        );
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        assert!(name != "status", "a second Status line: {:?}", shown());
        headers.push((name, value));
    }
    let output = CgiOutput {
        status,
        headers,
        head,
        body,
    };
    output.one("content-type");
    if let Some(length) = output.one("content-length") {
        let length = std::str::from_utf8(length)
            .ok()
            .filter(|text| text.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|text| text.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("a Content-Length that is not a number: {:?}", shown()));
        if !head_only {
            assert_eq!(
                length,
                body.len(),
                "Content-Length is not the body's length: {:?}",
                shown()
            );
        }
    }
    if head_only {
        assert!(
            body.is_empty(),
            "a body in the answer to HEAD: {:?}",
            shown()
        );
    }
    if matches!(status, Some(204 | 205 | 304)) {
        assert!(
            body.is_empty(),
            "a body with a bodiless status: {:?}",
            shown()
        );
        assert!(
            output.one("content-length").is_none(),
            "a Content-Length with a bodiless status: {:?}",
            shown()
        );
    }
    output
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Splitting on CRLF (a byte slice has no `split` on a two-byte separator).
trait SplitCrlf {
    fn split_crlf(&self) -> std::vec::IntoIter<&[u8]>;
}

impl SplitCrlf for [u8] {
    fn split_crlf(&self) -> std::vec::IntoIter<&[u8]> {
        let mut lines = Vec::new();
        let mut rest = self;
        while let Some(at) = find(rest, b"\r\n") {
            lines.push(&rest[..at]);
            rest = &rest[at + 2..];
        }
        lines.push(rest);
        // A CR or LF left inside a line is a line break a server may honour.
        for line in &lines {
            assert!(
                !line.contains(&b'\r') && !line.contains(&b'\n'),
                "a bare CR or LF in the CGI head: {:?}",
                String::from_utf8_lossy(self)
            );
        }
        lines.into_iter()
    }
}
