//! Fuzzes the response side: what a handler builds (headers, cookies, redirects, a
//! download, any status, a body in memory or streamed) and how the core writes it as CGI.
//!
//! Input: records separated by `\0`; each is an operation byte and its argument (the
//! rest of the record). Text arguments are made UTF-8 lossily; `name=value` splits at
//! the first `=`. Unknown operations are ignored.
//!
//! | op | argument | what the handler does |
//! |---|---|---|
//! | `s` | 1-5 digits, or 2 bytes (big-endian) | a status (any `StatusCode::from_u16` accepts) |
//! | `h` | `name=value` | `.header(name, value)` |
//! | `c` | `name=value` | a `SetCookie::new(name, value)` |
//! | `x` | `name` | a `SetCookie::delete(name)` |
//! | `p` `d` | text | `.path(..)`, `.domain(..)` on the last cookie |
//! | `m` | digits | `.max_age(seconds)` on the last cookie |
//! | `e` | digits, maybe after `-` | `.expires(UNIX_EPOCH ± seconds)` on the last cookie |
//! | `f` | one byte | flags on the last cookie: 1 `Secure`, 2 `HttpOnly`, 4 `Partitioned`, 8/16/24 `SameSite` Strict/Lax/None |
//! | `a` | text | `.attachment(name)` |
//! | `b` `B` `U` | bytes | the body: in memory, streamed with its length, streamed without |
//! | `r` `F` `T` `P` | text | answer `Redirect::to` / `found` / `temporary` / `permanent` (the last wins) |
//! | `l` | text | answer `LocalRedirect::to` (the last wins) |
//!
//! Without a redirect the response is `Response::builder()` with the status, headers,
//! cookies and attachment in order, and the body. With one, the redirect is the response
//! (with the status, if one was given, through `(StatusCode, R)`), and the headers,
//! cookies and attachment are added to it (`headers_mut`, `add_cookie`).
//!
//! Each input is answered to GET and to HEAD. Checked:
//! - both outputs are well-formed CGI (`common::parse`), and HEAD's is GET's head alone;
//! - when something set is invalid (by the documented rules: an `http` header name or
//!   value, a server-only header, a cookie name that is not a token, a value that is not
//!   cookie-octets, a bad `Path` or `Domain`, a status outside 200-599, an empty or
//!   invalid redirect, a local redirect that is not a local path or carries anything but
//!   its `Location`), the output is exactly the generic 500;
//! - otherwise the status is the one set, and the header lines are exactly the ones set
//!   (each cookie exactly as the documented `Set-Cookie` syntax writes it) plus
//!   `Status`, `Content-Type` (the one set, if any) and `Content-Length`; no CR or LF in a
//!   value; the body is the one set (none for HEAD, 204, 205, 304); a redirect's page adds
//!   no markup from its location; a local redirect is its `Location` line alone.

#![no_main]

mod common;

use std::io::Cursor;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cgi::http::{HeaderName, HeaderValue};
use cgi::test::TestRequest;
use cgi::{
    Body, IntoResponse, LocalRedirect, Method, Redirect, Response, SameSite, SetCookie, StatusCode,
};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Clone)]
struct CookieSpec {
    name: String,
    value: String,
    path: Option<String>,
    domain: Option<String>,
    max_age: Option<u64>,
    /// Seconds from the epoch (negative: before), and the time itself.
    expires: Option<(i128, SystemTime)>,
    secure: bool,
    http_only: bool,
    partitioned: bool,
    same_site: Option<SameSite>,
    /// Made with `SetCookie::delete`.
    delete: bool,
}

impl CookieSpec {
    fn new(name: String, value: String) -> Self {
        CookieSpec {
            name,
            value,
            path: None,
            domain: None,
            max_age: None,
            expires: None,
            secure: false,
            http_only: false,
            partitioned: false,
            same_site: None,
            delete: false,
        }
    }

    fn build(&self) -> SetCookie {
        let mut cookie = if self.delete {
            SetCookie::delete(self.name.as_str())
        } else {
            SetCookie::new(self.name.as_str(), self.value.as_str())
        };
        if let Some(path) = &self.path {
            cookie = cookie.path(path);
        }
        if let Some(domain) = &self.domain {
            cookie = cookie.domain(domain);
        }
        if let Some(seconds) = self.max_age {
            cookie = cookie.max_age(Duration::from_secs(seconds));
        }
        if let Some((_, time)) = self.expires {
            cookie = cookie.expires(time);
        }
        if let Some(same_site) = self.same_site {
            cookie = cookie.same_site(same_site);
        }
        cookie
            .secure(self.secure)
            .http_only(self.http_only)
            .partitioned(self.partitioned)
    }

    /// The `Set-Cookie` value, as documented (attributes in the order Path, Domain,
    /// Max-Age, Expires, Secure, HttpOnly, SameSite, Partitioned), or `None` if the
    /// cookie is invalid.
    fn expected(&self) -> Option<String> {
        let value = if self.delete { "" } else { self.value.as_str() };
        let token = |text: &str| !text.is_empty() && text.bytes().all(common::is_tchar);
        let cookie_octets = |text: &str| {
            text.bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'))
        };
        if !token(&self.name) || !cookie_octets(value) {
            return None;
        }
        let mut line = format!("{}={value}", self.name);
        if let Some(path) = &self.path {
            let ok = !path.is_empty()
                && path
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b'"' | b','));
            if !ok {
                return None;
            }
            line += &format!("; Path={path}");
        }
        if let Some(domain) = &self.domain {
            let ok = !domain.is_empty()
                && domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if !ok {
                return None;
            }
            line += &format!("; Domain={domain}");
        }
        let max_age = if self.delete && self.max_age.is_none() {
            Some(0)
        } else {
            self.max_age
        };
        if let Some(seconds) = max_age {
            line += &format!("; Max-Age={seconds}");
        }
        let expires = match self.expires {
            Some((seconds, _)) => Some(seconds),
            None if self.delete => Some(0),
            None => None,
        };
        if let Some(seconds) = expires {
            line += &format!("; Expires={}", imf_fixdate(seconds.max(0) as u64));
        }
        if self.secure {
            line += "; Secure";
        }
        if self.http_only {
            line += "; HttpOnly";
        }
        match self.same_site {
            Some(SameSite::Strict) => line += "; SameSite=Strict",
            Some(SameSite::Lax) => line += "; SameSite=Lax",
            Some(SameSite::None) => line += "; SameSite=None",
            None => {}
        }
        if self.partitioned {
            line += "; Partitioned";
        }
        Some(line)
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` for a number of seconds since the epoch (the days to
/// a civil date by H. Hinnant's algorithm).
fn imf_fixdate(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    // 1970-01-01 was a Thursday.
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!(
        "{weekday}, {day:02} {month} {year} {:02}:{:02}:{:02} GMT",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[derive(Debug, Clone)]
enum Op {
    Header(String, String),
    Cookie(CookieSpec),
    Attachment(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BodyKind {
    Memory,
    Sized,
    Unsized,
}

#[derive(Debug, Clone)]
enum Terminal {
    Builder,
    Redirect(StatusCode, String),
    Local(String),
}

#[derive(Debug)]
struct Plan {
    status: Option<StatusCode>,
    ops: Vec<Op>,
    body: (BodyKind, Vec<u8>),
    terminal: Terminal,
}

impl Plan {
    fn parse(data: &[u8]) -> Plan {
        let mut plan = Plan {
            status: None,
            ops: Vec::new(),
            body: (BodyKind::Memory, Vec::new()),
            terminal: Terminal::Builder,
        };
        for record in data.split(|&byte| byte == 0) {
            let Some((&op, argument)) = record.split_first() else {
                continue;
            };
            let text = String::from_utf8_lossy(argument).into_owned();
            let pair = || match text.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => (text.clone(), String::new()),
            };
            let last_cookie = plan.ops.iter_mut().rev().find_map(|op| match op {
                Op::Cookie(cookie) => Some(cookie),
                _ => None,
            });
            match op {
                b's' => {
                    let code = if (1..=5).contains(&argument.len())
                        && argument.iter().all(u8::is_ascii_digit)
                    {
                        text.parse::<u16>().ok()
                    } else {
                        argument
                            .get(..2)
                            .map(|two| u16::from_be_bytes([two[0], two[1]]))
                    };
                    if let Some(status) = code.and_then(|code| StatusCode::from_u16(code).ok()) {
                        plan.status = Some(status);
                    }
                }
                b'h' => {
                    let (name, value) = pair();
                    plan.ops.push(Op::Header(name, value));
                }
                b'c' => {
                    let (name, value) = pair();
                    plan.ops.push(Op::Cookie(CookieSpec::new(name, value)));
                }
                b'x' => {
                    let mut cookie = CookieSpec::new(text, String::new());
                    cookie.delete = true;
                    plan.ops.push(Op::Cookie(cookie));
                }
                b'p' => {
                    if let Some(cookie) = last_cookie {
                        cookie.path = Some(text);
                    }
                }
                b'd' => {
                    if let Some(cookie) = last_cookie {
                        cookie.domain = Some(text);
                    }
                }
                b'm' => {
                    if let (Some(cookie), Ok(seconds)) = (last_cookie, text.parse::<u64>()) {
                        cookie.max_age = Some(seconds);
                    }
                }
                b'e' => {
                    let (before, digits) = match text.strip_prefix('-') {
                        Some(digits) => (true, digits),
                        None => (false, text.as_str()),
                    };
                    let Ok(seconds) = digits.parse::<u64>() else {
                        continue;
                    };
                    let since = Duration::from_secs(seconds);
                    let time = if before {
                        UNIX_EPOCH.checked_sub(since)
                    } else {
                        UNIX_EPOCH.checked_add(since)
                    };
                    if let (Some(cookie), Some(time)) = (last_cookie, time) {
                        let signed = if before {
                            -i128::from(seconds)
                        } else {
                            i128::from(seconds)
                        };
                        cookie.expires = Some((signed, time));
                    }
                }
                b'f' => {
                    if let (Some(cookie), Some(&flags)) = (last_cookie, argument.first()) {
                        cookie.secure = flags & 1 != 0;
                        cookie.http_only = flags & 2 != 0;
                        cookie.partitioned = flags & 4 != 0;
                        cookie.same_site = match (flags >> 3) & 3 {
                            1 => Some(SameSite::Strict),
                            2 => Some(SameSite::Lax),
                            3 => Some(SameSite::None),
                            _ => None,
                        };
                    }
                }
                b'a' => plan.ops.push(Op::Attachment(text)),
                b'b' => plan.body = (BodyKind::Memory, argument.to_vec()),
                b'B' => plan.body = (BodyKind::Sized, argument.to_vec()),
                b'U' => plan.body = (BodyKind::Unsized, argument.to_vec()),
                b'r' => plan.terminal = Terminal::Redirect(StatusCode::SEE_OTHER, text),
                b'F' => plan.terminal = Terminal::Redirect(StatusCode::FOUND, text),
                b'T' => plan.terminal = Terminal::Redirect(StatusCode::TEMPORARY_REDIRECT, text),
                b'P' => plan.terminal = Terminal::Redirect(StatusCode::PERMANENT_REDIRECT, text),
                b'l' => plan.terminal = Terminal::Local(text),
                _ => {}
            }
        }
        plan
    }

    /// The handler's response.
    fn respond(&self) -> Response {
        if let Terminal::Builder = self.terminal {
            let mut builder = Response::builder();
            if let Some(status) = self.status {
                builder = builder.status(status);
            }
            for op in &self.ops {
                builder = match op {
                    Op::Header(name, value) => builder.header(name, value),
                    Op::Cookie(cookie) => builder.cookie(cookie.build()),
                    Op::Attachment(file_name) => builder.attachment(file_name),
                };
            }
            let (kind, bytes) = &self.body;
            let length = bytes.len() as u64;
            return match kind {
                BodyKind::Memory => builder.body(bytes.clone()),
                BodyKind::Sized => {
                    builder.body(Body::from_reader(Cursor::new(bytes.clone()), Some(length)))
                }
                BodyKind::Unsized => {
                    builder.body(Body::from_reader(Cursor::new(bytes.clone()), None))
                }
            };
        }
        let mut response = match &self.terminal {
            Terminal::Builder => unreachable!(),
            Terminal::Redirect(status, location) => redirect(*status, location).into_response(),
            Terminal::Local(path) => LocalRedirect::to(path).into_response(),
        };
        if let Some(status) = self.status {
            response = (status, response).into_response();
        }
        for (name, value) in self.added_headers() {
            response.headers_mut().append(name, value);
        }
        for op in &self.ops {
            if let Op::Cookie(cookie) = op {
                response.add_cookie(cookie.build());
            }
        }
        response
    }

    /// For a redirect: the headers and attachment added with `headers_mut` (those that can
    /// be `http` values; the rest cannot even be built).
    fn added_headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut added = Vec::new();
        for op in &self.ops {
            match op {
                Op::Header(name, value) => {
                    if let (Ok(name), Ok(value)) = (
                        HeaderName::from_bytes(name.as_bytes()),
                        HeaderValue::from_str(value),
                    ) {
                        added.push((name, value));
                    }
                }
                Op::Attachment(file_name) => {
                    added.push((
                        HeaderName::from_static("content-disposition"),
                        HeaderValue::from_str(&content_disposition(file_name)).expect("checked"),
                    ));
                }
                Op::Cookie(_) => {}
            }
        }
        added
    }

    /// The header lines the handler set (lower-case name, value), or `None` when
    /// something set is invalid and the answer must be the generic 500.
    fn expected_headers(&self) -> Option<Vec<(String, String)>> {
        let mut lines = Vec::new();
        match &self.terminal {
            Terminal::Builder => {
                for op in &self.ops {
                    match op {
                        Op::Header(name, value) => {
                            let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
                            HeaderValue::from_str(value).ok()?;
                            lines.push((name.as_str().to_owned(), value.clone()));
                        }
                        Op::Cookie(cookie) => {
                            lines.push(("set-cookie".to_owned(), cookie.expected()?))
                        }
                        Op::Attachment(file_name) => {
                            lines.push((
                                "content-disposition".to_owned(),
                                content_disposition(file_name),
                            ));
                        }
                    }
                }
            }
            Terminal::Redirect(_, location) => {
                if location.is_empty() {
                    return None;
                }
                HeaderValue::from_str(location).ok()?;
                lines.push(("location".to_owned(), location.clone()));
                lines.push((
                    "content-type".to_owned(),
                    "text/html; charset=utf-8".to_owned(),
                ));
                for (name, value) in self.added_headers() {
                    let value =
                        String::from_utf8(value.as_bytes().to_vec()).expect("made from a str");
                    lines.push((name.as_str().to_owned(), value));
                }
                for op in &self.ops {
                    if let Op::Cookie(cookie) = op {
                        lines.push(("set-cookie".to_owned(), cookie.expected()?));
                    }
                }
            }
            Terminal::Local(path) => {
                let local = path.starts_with('/')
                    && !path.starts_with("//")
                    && !path.starts_with("/\\")
                    && !path.bytes().any(|b| b <= b' ' || b == 0x7F);
                // Nothing but the Location: any header or cookie added makes it a 500.
                let bare = self.added_headers().is_empty()
                    && !self.ops.iter().any(|op| matches!(op, Op::Cookie(_)));
                if !local || !bare || HeaderValue::from_str(path).is_err() {
                    return None;
                }
                lines.push(("location".to_owned(), path.clone()));
                return Some(lines);
            }
        }
        let status = self.expected_status().expect("not a local redirect");
        if !(200..=599).contains(&status) {
            return None;
        }
        // RFC 3875 §6.3.4: headers about the connection are the server's.
        let server_only = |name: &str| {
            matches!(
                name,
                "connection"
                    | "keep-alive"
                    | "transfer-encoding"
                    | "upgrade"
                    | "te"
                    | "trailer"
                    | "status"
                    | "proxy-connection"
            ) || name.starts_with("proxy-")
        };
        if lines.iter().any(|(name, _)| server_only(name)) {
            return None;
        }
        // A `Location` goes out only with a redirect (3xx) or `201 Created`: on a 200,
        // Apache would serve another document and nginx the 200.
        let redirects = (300..=399).contains(&status) || status == 201;
        if !redirects && lines.iter().any(|(name, _)| name == "location") {
            return None;
        }
        Some(lines)
    }

    fn expected_status(&self) -> Option<u16> {
        match &self.terminal {
            Terminal::Builder => Some(self.status.map_or(200, |status| status.as_u16())),
            Terminal::Redirect(status, _) => Some(self.status.unwrap_or(*status).as_u16()),
            Terminal::Local(_) => None,
        }
    }
}

fn redirect(status: StatusCode, location: &str) -> Redirect {
    match status.as_u16() {
        302 => Redirect::found(location),
        307 => Redirect::temporary(location),
        308 => Redirect::permanent(location),
        _ => Redirect::to(location),
    }
}

/// The `Content-Disposition` `.attachment(file_name)` sets, taken from a builder, after
/// checking that it is safe: a quoted plain-ASCII `filename` with no path, quote,
/// backslash or control character, and an optional RFC 8187 `filename*`.
fn content_disposition(file_name: &str) -> String {
    let response = Response::builder().attachment(file_name).body("");
    let value = response
        .headers()
        .get("content-disposition")
        .expect("attachment() sets Content-Disposition")
        .to_str()
        .expect("visible ASCII")
        .to_owned();
    let rest = value
        .strip_prefix("attachment; filename=\"")
        .unwrap_or_else(|| panic!("attachment({file_name:?}) gave {value:?}"));
    let (fallback, extended) = rest
        .split_once('"')
        .unwrap_or_else(|| panic!("attachment({file_name:?}) gave {value:?}"));
    assert!(
        !fallback.is_empty()
            && fallback
                .bytes()
                .all(|b| (b.is_ascii_graphic() || b == b' ') && !b"\"\\/;%".contains(&b)),
        "attachment({file_name:?}) gave an unsafe filename: {value:?}"
    );
    if !extended.is_empty() {
        let encoded = extended
            .strip_prefix("; filename*=UTF-8''")
            .unwrap_or_else(|| panic!("attachment({file_name:?}) gave {value:?}"));
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~%".contains(&b)),
            "attachment({file_name:?}) gave an unsafe filename*: {value:?}"
        );
        assert!(
            !encoded.contains("%2F") && !encoded.contains("%5C"),
            "attachment({file_name:?}) kept a path separator: {value:?}"
        );
    }
    value
}

/// How many of each markup character the redirect page holds around its location.
fn markup(body: &[u8]) -> [usize; 4] {
    [b'<', b'>', b'"', b'\''].map(|c| body.iter().filter(|&&b| b == c).count())
}

fn redirect_page_markup() -> [usize; 4] {
    static MARKUP: OnceLock<[usize; 4]> = OnceLock::new();
    *MARKUP.get_or_init(|| {
        let response = TestRequest::get("/").call(|| Redirect::to("/"));
        markup(response.body())
    })
}

fuzz_target!(|data: &[u8]| {
    let plan = Plan::parse(data);
    let get = TestRequest::get("/").call(|| plan.respond());
    let head = TestRequest::get("/")
        .method(Method::HEAD)
        .call(|| plan.respond());
    let (get, head) = (get.raw(), head.raw());
    let shown = || format!("{plan:?}\nGET: {:?}", String::from_utf8_lossy(get));

    let Some(expected) = plan.expected_headers() else {
        assert_eq!(
            get,
            common::INTERNAL_ERROR,
            "expected the generic 500: {}",
            shown()
        );
        assert_eq!(head, common::internal_error(true), "HEAD: {}", shown());
        return;
    };
    let output = common::parse(get, false);
    common::parse(head, true);
    assert_eq!(
        head,
        output.head,
        "HEAD is not GET's head alone: {}",
        shown()
    );

    if let Terminal::Local(path) = &plan.terminal {
        assert_eq!(
            get,
            format!("Location: {path}\r\n\r\n").as_bytes(),
            "{}",
            shown()
        );
        return;
    }
    let status = plan.expected_status().expect("not a local redirect");
    assert_eq!(output.status, Some(status), "the status: {}", shown());
    let has_body = !matches!(status, 204 | 205 | 304);

    // Exactly the lines set, but for Content-Type, Content-Length and Location, which are
    // written once (the first set; the length always the real one).
    let special = |name: &str| matches!(name, "content-type" | "content-length" | "location");
    let mut wanted: Vec<(String, Vec<u8>)> = expected
        .iter()
        .filter(|(name, _)| !special(name))
        .map(|(name, value)| (name.clone(), value.as_bytes().to_vec()))
        .collect();
    let mut written: Vec<(String, Vec<u8>)> = output
        .headers
        .iter()
        .filter(|(name, _)| !special(name))
        .map(|(name, value)| (name.clone(), value.to_vec()))
        .collect();
    wanted.sort();
    written.sort();
    assert_eq!(written, wanted, "the header lines: {}", shown());
    let first = |name: &str| {
        expected
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_bytes())
    };
    assert_eq!(
        output.one("location"),
        first("location"),
        "Location: {}",
        shown()
    );
    if has_body {
        let content_type = output
            .one("content-type")
            .unwrap_or_else(|| panic!("no Content-Type: {}", shown()));
        if let Some(set) = first("content-type") {
            assert_eq!(content_type, set, "Content-Type: {}", shown());
        }
    } else {
        assert!(output.one("content-type").is_none(), "{}", shown());
    }

    match &plan.terminal {
        Terminal::Builder if has_body => {
            let (kind, bytes) = &plan.body;
            assert_eq!(output.body, bytes.as_slice(), "the body: {}", shown());
            assert_eq!(
                output.one("content-length").is_some(),
                *kind != BodyKind::Unsized,
                "Content-Length: {}",
                shown()
            );
        }
        Terminal::Redirect(..) if has_body => {
            assert_eq!(
                markup(output.body),
                redirect_page_markup(),
                "the location adds markup to the redirect page: {}",
                shown()
            );
        }
        _ => assert!(output.body.is_empty(), "{}", shown()),
    }
});
