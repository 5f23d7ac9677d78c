//! A strict CGI response parser (RFC 3875 §6, in the one canonical form cgikit writes),
//! shared by every test that reads a script's output.

use std::fmt;

/// What cgikit writes when a response cannot be written safely (response/write.rs).
pub(crate) const GENERIC_500: &[u8] = b"Status: 500 Internal Server Error\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 22\r\n\
\r\n\
Internal Server Error\n";

/// The few things that differ between the outputs a test reads; every other check always
/// applies (see [`parse_cgi`]).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Rules {
    /// The answer to a HEAD request: the GET's headers, `Content-Length` included, and no
    /// body.
    pub(crate) head: bool,
    /// A local redirect (RFC 3875 §6.2.2) is accepted: a lone `Location: /path` line, no
    /// `Status`, no body.
    pub(crate) local_redirect: bool,
    /// Header values may hold obs-text (bytes 0x80-0xFF, RFC 9110 §5.5) that is not UTF-8;
    /// without it the whole header block must be UTF-8.
    pub(crate) obs_text: bool,
}

/// A CGI response, parsed strictly.
#[derive(PartialEq, Eq)]
pub(crate) struct Cgi {
    /// The code of the `Status` line; 0 for a local redirect, which has none (see
    /// [`Cgi::status_code`]).
    pub(crate) status: u16,
    /// A local redirect: a lone `Location` line (only with [`Rules::local_redirect`]).
    pub(crate) local_redirect: bool,
    /// The header block, `Status` line included, without the blank line that ends it
    /// (lossy if obs-text is allowed and present).
    pub(crate) head: String,
    /// Every header line but `Status`, in order, names as written; values as bytes.
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
}

impl Cgi {
    /// The code of the `Status` line; `None` for a local redirect.
    pub(crate) fn status_code(&self) -> Option<u16> {
        (!self.local_redirect).then_some(self.status)
    }

    /// Every value of a header (case-insensitive name), as bytes.
    pub(crate) fn all(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
            .collect()
    }

    /// Every value of a header (case-insensitive name), as text.
    pub(crate) fn header_all(&self, name: &str) -> Vec<&str> {
        self.all(name)
            .into_iter()
            .map(|value| std::str::from_utf8(value).expect("a UTF-8 header value"))
            .collect()
    }

    /// The only value of a header (case-insensitive name); fails if it is repeated.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let values = self.header_all(name);
        assert!(values.len() <= 1, "`{name}` is repeated: {self:?}");
        values.first().copied()
    }

    /// The body, which must be UTF-8.
    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }
}

impl fmt::Debug for Cgi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", value.escape_ascii()))
            .collect();
        f.debug_struct("Cgi")
            .field("status", &self.status)
            .field("local_redirect", &self.local_redirect)
            .field("headers", &headers)
            .field("body", &self.body.escape_ascii().to_string())
            .finish()
    }
}

/// A byte of an RFC 9110 token (a header name).
pub(crate) fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// A header value byte as the writer may emit it: no CR, LF, NUL or other control but HTAB.
pub(crate) fn is_field_value_byte(byte: u8) -> bool {
    byte == b'\t' || (byte >= 0x20 && byte != 0x7F)
}

/// Headers a script must not send (RFC 3875 §6.3.4), and `Status` past the first line.
fn is_server_only(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "transfer-encoding" | "upgrade" | "te" | "trailer" | "status"
    ) || name.starts_with("proxy-")
}

/// Parses `raw` strictly as cgikit writes it:
///
/// - every line ends in CRLF, with no bare CR or LF, and a blank line ends the header block;
/// - `Status: NNN Reason` first, NNN in 200..=599, a printable ASCII reason; then
///   `Name: value` lines with a token name and a value without controls but HTAB (and,
///   unless [`Rules::obs_text`], a header block that is UTF-8);
/// - no server-only header and no second `Status`; at most one `Content-Type`,
///   `Content-Length` and `Location`;
/// - for 204, 205 and 304: no `Content-Type`, no `Content-Length`, no body; for any other
///   status exactly one `Content-Type` and a `Content-Length` of digits equal to the
///   body's length (or, with [`Rules::head`], whatever it says and no body);
/// - with [`Rules::local_redirect`], a lone `Location: /path` line and nothing after it.
pub(crate) fn parse_cgi(raw: &[u8], rules: Rules) -> Result<Cgi, String> {
    let mut lines: Vec<&[u8]> = Vec::new();
    // Where the blank line that ends the header block starts.
    let mut blank = 0;
    loop {
        let rest = &raw[blank..];
        let end = rest
            .windows(2)
            .position(|pair| pair == b"\r\n")
            .ok_or("the header block does not end with a blank CRLF line")?;
        let line = &rest[..end];
        if line.is_empty() {
            break;
        }
        if line.iter().any(|&byte| byte == b'\r' || byte == b'\n') {
            return Err(format!(
                "bare CR or LF in header line {:?}",
                line.escape_ascii().to_string()
            ));
        }
        lines.push(line);
        blank += end + 2;
    }
    // The header lines without the CRLF of the last one.
    let block = &raw[..blank.saturating_sub(2)];
    if !rules.obs_text && std::str::from_utf8(block).is_err() {
        return Err("the header block is not UTF-8".into());
    }
    let head = String::from_utf8_lossy(block).into_owned();
    let body = raw[blank + 2..].to_vec();
    let (&first, others) = lines.split_first().ok_or("no header line at all")?;

    if rules.local_redirect
        && let Some(location) = first.strip_prefix(b"Location: ")
        && others.is_empty()
        && location.starts_with(b"/")
    {
        if !location.iter().all(|&byte| is_field_value_byte(byte)) {
            return Err("control character in a local redirect's Location".into());
        }
        if !body.is_empty() {
            return Err("a local redirect has a body".into());
        }
        return Ok(Cgi {
            status: 0,
            local_redirect: true,
            head,
            headers: vec![("Location".to_owned(), location.to_vec())],
            body,
        });
    }

    let status = status_line(first)?;
    let mut headers = Vec::new();
    for &line in others {
        let colon = line
            .iter()
            .position(|&byte| byte == b':')
            .ok_or_else(|| format!("no colon in {:?}", line.escape_ascii().to_string()))?;
        let (name, after) = line.split_at(colon);
        if name.is_empty() || !name.iter().all(|&byte| is_tchar(byte)) {
            return Err(format!(
                "header name {:?} is not a token",
                name.escape_ascii().to_string()
            ));
        }
        let value = after
            .strip_prefix(b": ")
            .ok_or_else(|| format!("no `: ` in {:?}", line.escape_ascii().to_string()))?;
        if !value.iter().all(|&byte| is_field_value_byte(byte)) {
            return Err(format!(
                "control character in header value {:?}",
                value.escape_ascii().to_string()
            ));
        }
        let name = String::from_utf8(name.to_vec()).expect("a token is ASCII");
        if is_server_only(&name) {
            return Err(format!("server-only header `{name}`"));
        }
        headers.push((name, value.to_vec()));
    }
    let parsed = Cgi {
        status,
        local_redirect: false,
        head,
        headers,
        body,
    };

    for unique in ["content-type", "content-length", "location"] {
        if parsed.all(unique).len() > 1 {
            return Err(format!("`{unique}` is repeated"));
        }
    }
    let content_types = parsed.all("content-type").len();
    let length = parsed.all("content-length").first().copied();
    if matches!(status, 204 | 205 | 304) {
        if content_types != 0 || length.is_some() || !parsed.body.is_empty() {
            return Err(format!(
                "status {status} with a Content-Type, a Content-Length or a body"
            ));
        }
        return Ok(parsed);
    }
    if content_types != 1 {
        return Err("no Content-Type".into());
    }
    let length = length.ok_or("no Content-Length")?;
    let length: usize = Some(length)
        .filter(|length| !length.is_empty() && length.iter().all(u8::is_ascii_digit))
        .and_then(|length| std::str::from_utf8(length).ok()?.parse().ok())
        .ok_or_else(|| format!("Content-Length {:?}", length.escape_ascii().to_string()))?;
    let expected = if rules.head { 0 } else { length };
    if parsed.body.len() != expected {
        return Err(format!(
            "Content-Length {length} (head: {}) but the body has {} bytes",
            rules.head,
            parsed.body.len()
        ));
    }
    Ok(parsed)
}

/// `Status: NNN Reason` with NNN in 200..=599 and a printable ASCII reason: the code.
fn status_line(line: &[u8]) -> Result<u16, String> {
    let shown = || line.escape_ascii().to_string();
    let text = std::str::from_utf8(line).map_err(|_| format!("status line {:?}", shown()))?;
    let status = text
        .strip_prefix("Status: ")
        .ok_or_else(|| format!("the first line is not `Status: `: {:?}", shown()))?;
    let (code, reason) = status
        .split_once(' ')
        .ok_or_else(|| format!("no reason phrase: {:?}", shown()))?;
    if code.len() != 3
        || !code.bytes().all(|byte| byte.is_ascii_digit())
        || reason.is_empty()
        || !reason
            .bytes()
            .all(|byte| byte == b' ' || byte.is_ascii_graphic())
    {
        return Err(format!("malformed status line {:?}", shown()));
    }
    let code: u16 = code.parse().map_err(|_| "the status code")?;
    if !(200..=599).contains(&code) {
        return Err(format!("status {code} outside 200-599"));
    }
    Ok(code)
}

/// The status of an output cut short: its first line must be complete and valid.
pub(crate) fn status_of_prefix(raw: &[u8]) -> Result<u16, String> {
    let end = raw
        .windows(2)
        .position(|pair| pair == b"\r\n")
        .ok_or("the partial output has no complete first line")?;
    status_line(&raw[..end])
}
