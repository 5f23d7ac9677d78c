//! `Set-Cookie` response headers (RFC 6265 §4.1).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;

/// The `SameSite` attribute of a cookie.
///
/// ```
/// let cookie = cgi::SetCookie::new("sid", "abc").same_site(cgi::SameSite::Strict);
/// let response = cgi::test::TestRequest::get("/")
///     .call(move || cgi::Response::builder().cookie(cookie.clone()).body(""));
/// assert_eq!(response.header("set-cookie"), Some("sid=abc; SameSite=Strict"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent only with requests from the same site.
    Strict,
    /// Also sent when following a link from another site (the browsers' default).
    Lax,
    /// Sent with every request; browsers require [`secure`](SetCookie::secure) with it.
    None,
}

/// A cookie to set in the browser: one `Set-Cookie` header, added with
/// [`ResponseBuilder::cookie`](crate::ResponseBuilder::cookie).
///
/// The name must be an HTTP token and the value RFC 6265 cookie-octets (no space, `"`,
/// `,`, `;` or `\`; encode other data first). Anything else makes the written response a
/// generic 500, never a broken header.
///
/// ```
/// use std::time::Duration;
/// use cgi::{Response, SameSite, SetCookie};
///
/// let cookie = SetCookie::new("sid", "3f9a")
///     .path("/")
///     .max_age(Duration::from_secs(3600))
///     .secure(true)
///     .http_only(true)
///     .same_site(SameSite::Lax);
/// let response = Response::builder().cookie(cookie).body("signed in");
/// assert_eq!(
///     response.headers()["set-cookie"],
///     "sid=3f9a; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax"
/// );
/// ```
#[derive(Debug, Clone)]
#[must_use = "a cookie does nothing until added to a response"]
pub struct SetCookie {
    name: String,
    value: String,
    path: Option<String>,
    domain: Option<String>,
    max_age: Option<Duration>,
    expires: Option<SystemTime>,
    secure: bool,
    http_only: bool,
    same_site: Option<SameSite>,
    partitioned: bool,
}

impl SetCookie {
    /// A session cookie `name=value`, with no attributes.
    ///
    /// ```
    /// let cookie = cgi::SetCookie::new("theme", "dark");
    /// let response = cgi::test::TestRequest::get("/")
    ///     .call(move || cgi::Response::builder().cookie(cookie.clone()).body(""));
    /// assert_eq!(response.header("set-cookie"), Some("theme=dark"));
    /// ```
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        SetCookie {
            name: name.into(),
            value: value.into(),
            path: None,
            domain: None,
            max_age: None,
            expires: None,
            secure: false,
            http_only: false,
            same_site: None,
            partitioned: false,
        }
    }

    /// A cookie that deletes `name` in the browser: empty, expired (`Max-Age=0` and an
    /// `Expires` in 1970). Give it the same `path` and `domain` the cookie was set with.
    ///
    /// ```
    /// let response = cgi::Response::builder().cookie(cgi::SetCookie::delete("sid").path("/")).body("signed out");
    /// assert_eq!(
    ///     response.headers()["set-cookie"],
    ///     "sid=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    /// );
    /// ```
    pub fn delete(name: impl Into<String>) -> Self {
        SetCookie::new(name, "")
            .max_age(Duration::ZERO)
            .expires(UNIX_EPOCH)
    }

    /// `Path=`: the cookie is sent only for URLs under this path.
    ///
    /// ```
    /// let cookie = cgi::SetCookie::new("a", "1").path("/cgi-bin/app");
    /// let response = cgi::test::TestRequest::get("/")
    ///     .call(move || cgi::Response::builder().cookie(cookie.clone()).body(""));
    /// assert_eq!(response.header("set-cookie"), Some("a=1; Path=/cgi-bin/app"));
    /// ```
    pub fn path(mut self, path: &str) -> Self {
        self.path = Some(path.to_owned());
        self
    }

    /// `Domain=`: the cookie is also sent to subdomains of this domain.
    ///
    /// ```
    /// let cookie = cgi::SetCookie::new("a", "1").domain("example.com");
    /// let response = cgi::test::TestRequest::get("/")
    ///     .call(move || cgi::Response::builder().cookie(cookie.clone()).body(""));
    /// assert_eq!(response.header("set-cookie"), Some("a=1; Domain=example.com"));
    /// ```
    pub fn domain(mut self, domain: &str) -> Self {
        self.domain = Some(domain.to_owned());
        self
    }

    /// `Max-Age=`: the cookie expires after this long (whole seconds).
    ///
    /// ```
    /// let cookie = cgi::SetCookie::new("a", "1").max_age(std::time::Duration::from_secs(60));
    /// let response = cgi::test::TestRequest::get("/")
    ///     .call(move || cgi::Response::builder().cookie(cookie.clone()).body(""));
    /// assert_eq!(response.header("set-cookie"), Some("a=1; Max-Age=60"));
    /// ```
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// `Expires=`: the cookie expires at this time (a moment before 1970 is written as
    /// 1970-01-01, which deletes the cookie).
    ///
    /// ```
    /// let cookie = cgi::SetCookie::new("a", "1").expires(std::time::SystemTime::UNIX_EPOCH);
    /// let response = cgi::test::TestRequest::get("/")
    ///     .call(move || cgi::Response::builder().cookie(cookie.clone()).body(""));
    /// assert_eq!(response.header("set-cookie"), Some("a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT"));
    /// ```
    pub fn expires(mut self, expires: SystemTime) -> Self {
        self.expires = Some(expires);
        self
    }

    /// `Secure`: sent over HTTPS only.
    ///
    /// ```
    /// let cookie = cgi::SetCookie::new("a", "1").secure(true);
    /// let response = cgi::test::TestRequest::get("/")
    ///     .call(move || cgi::Response::builder().cookie(cookie.clone()).body(""));
    /// assert_eq!(response.header("set-cookie"), Some("a=1; Secure"));
    /// ```
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// `HttpOnly`: hidden from JavaScript.
    ///
    /// ```
    /// let cookie = cgi::SetCookie::new("a", "1").http_only(true);
    /// let response = cgi::test::TestRequest::get("/")
    ///     .call(move || cgi::Response::builder().cookie(cookie.clone()).body(""));
    /// assert_eq!(response.header("set-cookie"), Some("a=1; HttpOnly"));
    /// ```
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// `SameSite=`: whether the cookie goes with cross-site requests.
    ///
    /// ```
    /// let cookie = cgi::SetCookie::new("a", "1").same_site(cgi::SameSite::Strict);
    /// let response = cgi::test::TestRequest::get("/")
    ///     .call(move || cgi::Response::builder().cookie(cookie.clone()).body(""));
    /// assert_eq!(response.header("set-cookie"), Some("a=1; SameSite=Strict"));
    /// ```
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = Some(same_site);
        self
    }

    /// `Partitioned`: stored per top-level site (CHIPS).
    ///
    /// ```
    /// let cookie = cgi::SetCookie::new("a", "1").secure(true).partitioned(true);
    /// let response = cgi::test::TestRequest::get("/")
    ///     .call(move || cgi::Response::builder().cookie(cookie.clone()).body(""));
    /// assert_eq!(response.header("set-cookie"), Some("a=1; Secure; Partitioned"));
    /// ```
    pub fn partitioned(mut self, partitioned: bool) -> Self {
        self.partitioned = partitioned;
        self
    }

    /// The cookie's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn to_header_value(&self) -> Result<HeaderValue, String> {
        if self.name.is_empty() || !self.name.bytes().all(is_token_byte) {
            return Err(format!(
                "invalid cookie name {:?}: it must be an HTTP token",
                self.name
            ));
        }
        if !self.value.bytes().all(is_cookie_octet) {
            return Err(format!(
                "invalid value for cookie `{}`: RFC 6265 allows no space, quote, comma, semicolon, backslash or control character",
                self.name
            ));
        }
        let mut line = format!("{}={}", self.name, self.value);
        let attributes = [
            ("Path", &self.path, is_path_byte as fn(u8) -> bool),
            ("Domain", &self.domain, is_domain_byte),
        ];
        for (attribute, value, allowed) in attributes {
            if let Some(value) = value {
                if value.is_empty() || !value.bytes().all(allowed) {
                    return Err(format!("invalid {attribute} for cookie `{}`", self.name));
                }
                let _ = write!(line, "; {attribute}={value}");
            }
        }
        if let Some(max_age) = self.max_age {
            let _ = write!(line, "; Max-Age={}", max_age.as_secs());
        }
        if let Some(expires) = self.expires {
            line.push_str("; Expires=");
            line.push_str(&http_date(expires));
        }
        if self.secure {
            line.push_str("; Secure");
        }
        if self.http_only {
            line.push_str("; HttpOnly");
        }
        if let Some(same_site) = self.same_site {
            line.push_str(match same_site {
                SameSite::Strict => "; SameSite=Strict",
                SameSite::Lax => "; SameSite=Lax",
                SameSite::None => "; SameSite=None",
            });
        }
        if self.partitioned {
            line.push_str("; Partitioned");
        }
        HeaderValue::from_str(&line).map_err(|_| format!("invalid cookie `{}`", self.name))
    }
}

/// RFC 9110 `tchar`.
pub(crate) fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// RFC 6265 `cookie-octet`.
fn is_cookie_octet(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// A `Path` byte: RFC 6265 allows any visible character but `;`; space, `"` and `,` are
/// refused too, because clients and proxies that join `Set-Cookie` lines with commas
/// would read what follows a comma as another cookie.
fn is_path_byte(byte: u8) -> bool {
    byte.is_ascii_graphic() && !matches!(byte, b';' | b'"' | b',')
}

/// A `Domain` byte: a host name (RFC 6265 §4.1.2.3), optionally with a leading dot.
fn is_domain_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.'
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 IMF-fixdate).
fn http_date(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let days = seconds / 86_400;
    let (hour, minute, second) = (seconds % 86_400 / 3600, seconds % 3600 / 60, seconds % 60);
    let (year, month, day) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {hour:02}:{minute:02}:{second:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize]
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's
/// `civil_from_days`, for non-negative day counts.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_in_order() {
        let cookie = SetCookie::new("sid", "abc")
            .path("/")
            .domain("example.com")
            .max_age(Duration::from_secs(60))
            .expires(UNIX_EPOCH + Duration::from_secs(784_111_777))
            .secure(true)
            .http_only(true)
            .same_site(SameSite::None)
            .partitioned(true);
        assert_eq!(
            cookie.to_header_value().unwrap(),
            "sid=abc; Path=/; Domain=example.com; Max-Age=60; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Secure; HttpOnly; SameSite=None; Partitioned"
        );
    }

    #[test]
    fn dates_are_imf_fixdates() {
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(1_798_761_599)),
            "Thu, 31 Dec 2026 23:59:59 GMT"
        );
        assert_eq!(
            http_date(UNIX_EPOCH - Duration::from_secs(10)),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    #[test]
    fn injection_attempts_are_refused() {
        for (name, value) in [
            ("sid", "a\r\nSet-Cookie: admin=1"),
            ("sid", "a; Domain=evil.example"),
            ("sid", "two words"),
            ("sid", "caf\u{e9}"),
            ("s id", "x"),
            ("", "x"),
            ("a=b", "x"),
        ] {
            assert!(
                SetCookie::new(name, value).to_header_value().is_err(),
                "{name:?}={value:?}"
            );
        }
        assert!(
            SetCookie::new("a", "1")
                .path("/; Secure")
                .to_header_value()
                .is_err()
        );
        assert!(
            SetCookie::new("a", "1")
                .domain("x\nY")
                .to_header_value()
                .is_err()
        );
    }
}
