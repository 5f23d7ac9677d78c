//! `Session` and `Flash`: what a site remembers about a browser between requests, in a
//! cookie the browser keeps and cannot forge (feature `sessions`).

mod flash;
mod keys;
mod signed;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::error::Error;
use crate::extract::{Cookies, FromRequestParts};
use crate::pending_cookies::{self, PendingCookie};
use crate::request::Request;
use crate::response::{Response, SameSite, SetCookie};

pub use flash::{Flash, FlashMessage};

/// How long a session lasts without a visit, unless `CGIKIT_SESSION_MAX_AGE` says
/// otherwise (in seconds).
const DEFAULT_LIFETIME: u64 = 8 * 3600;
/// Browsers keep cookies of up to 4096 bytes, name and attributes included.
const LARGEST_VALUE: usize = 3800;

/// A session: a few `name = value` strings the site remembers about this browser (who
/// signed in, a choice made on an earlier page), kept in a cookie signed with the
/// server's secret, so the browser can carry it but not forge or alter it. Feature
/// `sessions`.
///
/// Change it with [`insert`](Session::insert), [`remove`](Session::remove) and
/// [`clear`](Session::clear) (signing out); cgikit adds the cookie to whatever the handler
/// answers (not to a `5xx`: a handler that failed saves nothing). The cookie is
/// `cgikit_session` (`__Host-cgikit_session` over HTTPS, `Secure`), `HttpOnly`,
/// `SameSite=Lax`, `Path=/`; it expires after 8 hours without a visit
/// (`CGIKIT_SESSION_MAX_AGE`, in seconds, changes that), checked on the server too, and
/// is renewed when a visit comes after half of that.
///
/// # The secret
///
/// Make one with `head -c 32 /dev/urandom | base64`, and keep it in a file that only the
/// server's user can read, outside the document root:
///
/// ```sh
/// sudo install -d -m 0750 -o root -g www-data /etc/cgikit
/// head -c 32 /dev/urandom | base64 | sudo install -m 0640 -o root -g www-data /dev/stdin /etc/cgikit/session-secret
/// ```
///
/// and name the file in `CGIKIT_SESSION_SECRET_FILE` (Apache: `SetEnv
/// CGIKIT_SESSION_SECRET_FILE /etc/cgikit/session-secret`; nginx: `fastcgi_param`;
/// lighttpd: `setenv.add-environment`; a FastCGI service: systemd's `Environment=`).
/// A file that other users can read or write is refused. `CGIKIT_SESSION_SECRET` may hold
/// the secret itself instead, but a variable shows in more places (`/proc`, the server's
/// configuration) than a file. Without either, a handler that takes a `Session` answers a
/// generic `500` and the server's error log says how to make one. `--serve` gives its
/// scripts a random secret of its own when it has neither.
///
/// **Rotating it**: put a new secret on the file's first line and keep the old one on the
/// next. The first line signs; every line verifies, and a cookie signed with an old one is
/// signed again with the new one at the next visit. After the session lifetime (8 hours),
/// remove the old line. To sign everybody out at once, replace the file's content.
///
/// # What it protects, and what not
///
/// The browser sees the values (signed, not encrypted): keep passwords and secrets out.
/// A cookie copied from the browser stays valid until it expires, even after the user
/// signs out elsewhere; keep the lifetime short for sessions that matter, and rotate the
/// secret to end them all. A forged, altered, expired or otherwise signed cookie reads as
/// an empty session (and is deleted).
///
/// ```
/// use cgi::{Session, Redirect, IntoResponse, Response};
///
/// fn visit(session: Session) -> String {
///     let visits: u32 = session.get("visits").and_then(|n| n.parse().ok()).unwrap_or(0) + 1;
///     session.insert("visits", visits.to_string());
///     format!("visit {visits}")
/// }
///
/// use cgi::test::TestRequest;
/// let secret = "a-test-secret-of-at-least-32-bytes";
/// let first = TestRequest::get("/").var("CGIKIT_SESSION_SECRET", secret).call(visit);
/// assert_eq!(first.text(), "visit 1");
/// let cookie = first.cookie("cgikit_session").unwrap();
/// let second = TestRequest::get("/")
///     .var("CGIKIT_SESSION_SECRET", secret)
///     .cookie("cgikit_session", cookie)
///     .call(visit);
/// assert_eq!(second.text(), "visit 2");
///
/// // A cookie altered in the browser is an empty session.
/// let forged = cookie.replace("visits=1", "visits=99");
/// let third = TestRequest::get("/")
///     .var("CGIKIT_SESSION_SECRET", secret)
///     .cookie("cgikit_session", &forged)
///     .call(visit);
/// assert_eq!(third.text(), "visit 1");
///
/// // Without a secret: a generic 500, and the log says why.
/// let unset = TestRequest::get("/").call(visit);
/// assert_eq!(unset.status(), cgi::StatusCode::INTERNAL_SERVER_ERROR);
/// assert!(unset.log().contains("sessions need a secret"));
/// ```
#[derive(Debug, Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

/// The session as the handler and the core both see it.
#[derive(Debug)]
struct Shared {
    keys: keys::Keys,
    cookie_name: &'static str,
    secure: bool,
    lifetime: u64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    pairs: Vec<(String, String)>,
    changed: bool,
    sent: Sent,
}

/// What the browser sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Nothing,
    /// A cookie that did not verify (forged, expired, another secret's): to delete.
    Invalid,
    Valid {
        expires: u64,
        by_old_key: bool,
    },
}

impl Session {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The value stored under `name`.
    ///
    /// ```
    /// # let secret = "a-test-secret-of-at-least-32-bytes";
    /// let response = cgi::test::TestRequest::get("/").var("CGIKIT_SESSION_SECRET", secret)
    ///     .call(|session: cgi::Session| format!("{:?}", session.get("user")));
    /// assert_eq!(response.text(), "None");
    /// ```
    pub fn get(&self, name: &str) -> Option<String> {
        self.state()
            .pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }

    /// Stores `value` under `name`, replacing what was there.
    ///
    /// ```
    /// # let secret = "a-test-secret-of-at-least-32-bytes";
    /// let response = cgi::test::TestRequest::get("/").var("CGIKIT_SESSION_SECRET", secret)
    ///     .call(|session: cgi::Session| { session.insert("user", "ada"); session.get("user").unwrap() });
    /// assert_eq!(response.text(), "ada");
    /// assert!(response.cookie("cgikit_session").unwrap().contains("user=ada"));
    /// ```
    pub fn insert(&self, name: impl Into<String>, value: impl Into<String>) {
        let (name, value) = (name.into(), value.into());
        let mut state = self.state();
        state.changed = true;
        match state.pairs.iter_mut().find(|(key, _)| *key == name) {
            Some(pair) => pair.1 = value,
            None => state.pairs.push((name, value)),
        }
    }

    /// Removes what is stored under `name`, and returns it.
    ///
    /// ```
    /// # let secret = "a-test-secret-of-at-least-32-bytes";
    /// let response = cgi::test::TestRequest::get("/").var("CGIKIT_SESSION_SECRET", secret)
    ///     .call(|session: cgi::Session| { session.insert("a", "1"); format!("{:?} {:?}", session.remove("a"), session.get("a")) });
    /// assert_eq!(response.text(), "Some(\"1\") None");
    /// ```
    pub fn remove(&self, name: &str) -> Option<String> {
        let mut state = self.state();
        let index = state.pairs.iter().position(|(key, _)| key == name)?;
        state.changed = true;
        Some(state.pairs.remove(index).1)
    }

    /// Empties the session (signing out): the response deletes the cookie.
    ///
    /// ```
    /// # let secret = "a-test-secret-of-at-least-32-bytes";
    /// let signed_in = cgi::test::TestRequest::get("/").var("CGIKIT_SESSION_SECRET", secret)
    ///     .call(|session: cgi::Session| session.insert("user", "ada"));
    /// let cookie = signed_in.cookie("cgikit_session").unwrap();
    /// let signed_out = cgi::test::TestRequest::post("/").var("CGIKIT_SESSION_SECRET", secret)
    ///     .cookie("cgikit_session", cookie)
    ///     .call(|session: cgi::Session| session.clear());
    /// assert_eq!(signed_out.cookie("cgikit_session"), Some(""));
    /// ```
    pub fn clear(&self) {
        let mut state = self.state();
        state.changed = true;
        state.pairs.clear();
    }

    /// Whether nothing is stored.
    ///
    /// ```
    /// # let secret = "a-test-secret-of-at-least-32-bytes";
    /// let response = cgi::test::TestRequest::get("/").var("CGIKIT_SESSION_SECRET", secret)
    ///     .call(|session: cgi::Session| session.is_empty().to_string());
    /// assert_eq!(response.text(), "true");
    /// ```
    pub fn is_empty(&self) -> bool {
        self.state().pairs.is_empty()
    }
}

impl FromRequestParts for Session {
    type Rejection = Error;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        let keys = keys::load(request).map_err(Error::setup)?;
        let lifetime = lifetime(request).map_err(Error::setup)?;
        let secure = request.is_https();
        let cookie_name = if secure {
            "__Host-cgikit_session"
        } else {
            "cgikit_session"
        };
        let cookies = Cookies::from_request_parts(request).unwrap_or_default();
        let (pairs, sent) = match cookies.get(cookie_name) {
            None => (Vec::new(), Sent::Nothing),
            Some(value) => match signed::verify(&keys, "session", value, signed::now()) {
                None => (Vec::new(), Sent::Invalid),
                Some(verified) => (
                    decode(verified.payload),
                    Sent::Valid {
                        expires: verified.expires,
                        by_old_key: verified.by_old_key,
                    },
                ),
            },
        };
        let shared = Arc::new(Shared {
            keys,
            cookie_name,
            secure,
            lifetime,
            state: Mutex::new(State {
                pairs,
                changed: false,
                sent,
            }),
        });
        pending_cookies::register(request.exchange(), shared.clone());
        Ok(Session { shared })
    }
}

impl PendingCookie for Shared {
    fn cookie(&self, response: &Response) -> Result<Option<SetCookie>, String> {
        if response.status().is_server_error() {
            return Ok(None);
        }
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.pairs.is_empty() {
            // Nothing to keep: delete a cookie the browser has, valid or not.
            return Ok((state.sent != Sent::Nothing).then(|| {
                SetCookie::delete(self.cookie_name)
                    .path("/")
                    .secure(self.secure)
            }));
        }
        let now = signed::now();
        let renew = match state.sent {
            Sent::Valid {
                expires,
                by_old_key,
            } => by_old_key || expires.saturating_sub(now) < self.lifetime / 2,
            Sent::Nothing | Sent::Invalid => true,
        };
        if !state.changed && !renew {
            return Ok(None);
        }
        let value = signed::sign(
            &self.keys,
            "session",
            now + self.lifetime,
            &encode(&state.pairs),
        );
        if value.len() > LARGEST_VALUE {
            return Err(format!(
                "the session is too large for a cookie ({} bytes; browsers keep about 4096): keep less in it",
                value.len()
            ));
        }
        Ok(Some(
            SetCookie::new(self.cookie_name, value)
                .path("/")
                .max_age(Duration::from_secs(self.lifetime))
                .secure(self.secure)
                .http_only(true)
                .same_site(SameSite::Lax),
        ))
    }
}

/// The session lifetime in seconds: `CGIKIT_SESSION_MAX_AGE`, else 8 hours.
fn lifetime(request: &Request) -> Result<u64, String> {
    let setting = request
        .var("CGIKIT_SESSION_MAX_AGE")
        .map(|value| String::from_utf8_lossy(value).into_owned())
        .or_else(|| std::env::var("CGIKIT_SESSION_MAX_AGE").ok())
        .filter(|value| !value.is_empty());
    match setting {
        None => Ok(DEFAULT_LIFETIME),
        Some(text) => match text.trim().parse::<u64>() {
            Ok(seconds) if seconds > 0 => Ok(seconds),
            _ => Err(format!(
                "CGIKIT_SESSION_MAX_AGE is `{text}`, not a number of seconds above 0"
            )),
        },
    }
}

/// `name=value&...`, urlencoded: every byte of it is allowed in a cookie.
fn encode(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn decode(payload: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(payload.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test::TestRequest;

    const SECRET: &str = "a-test-secret-of-at-least-32-bytes";

    fn with_secret(request: TestRequest) -> TestRequest {
        request.var("CGIKIT_SESSION_SECRET", SECRET)
    }

    #[test]
    fn the_cookie_is_signed_http_only_lax_and_expires() {
        let response = with_secret(TestRequest::get("/"))
            .call(|session: Session| session.insert("user", "ada & co"));
        let line = response.header("set-cookie").unwrap();
        assert!(line.starts_with("cgikit_session="), "{line}");
        assert!(
            line.ends_with("; Path=/; Max-Age=28800; HttpOnly; SameSite=Lax"),
            "{line}"
        );
        let value = response.cookie("cgikit_session").unwrap();
        let (expires, _) = value.split_once('.').unwrap();
        let expires: u64 = expires.parse().unwrap();
        assert!(expires.abs_diff(signed::now() + 28800) < 5, "{value}");
        // Over HTTPS: the host-only, Secure name.
        let response = with_secret(TestRequest::get("/").var("HTTPS", "on"))
            .call(|session: Session| session.insert("user", "ada"));
        let line = response.header("set-cookie").unwrap();
        assert!(line.starts_with("__Host-cgikit_session="), "{line}");
        assert!(
            line.contains("; Path=/;") && line.contains("; Secure"),
            "{line}"
        );
    }

    #[test]
    fn an_unchanged_fresh_session_sets_nothing_and_an_old_one_is_renewed() {
        let keys = keys::Keys::parse(SECRET, "test").unwrap();
        let now = signed::now();
        let fresh = signed::sign(&keys, "session", now + 28800, "user=ada");
        let response = with_secret(TestRequest::get("/").cookie("cgikit_session", &fresh))
            .call(|session: Session| session.get("user").unwrap_or_default());
        assert_eq!(response.text(), "ada");
        assert_eq!(response.header("set-cookie"), None);
        // Less than half the lifetime left: signed again, for a whole lifetime.
        let aging = signed::sign(&keys, "session", now + 100, "user=ada");
        let response = with_secret(TestRequest::get("/").cookie("cgikit_session", &aging))
            .call(|session: Session| session.get("user").unwrap_or_default());
        assert_eq!(response.text(), "ada");
        let renewed = response.cookie("cgikit_session").unwrap();
        assert_ne!(renewed, aging);
        assert!(renewed.contains(".user=ada."), "{renewed}");
    }

    #[test]
    fn expired_forged_and_foreign_cookies_are_empty_sessions_and_deleted() {
        let keys = keys::Keys::parse(SECRET, "test").unwrap();
        let expired = signed::sign(&keys, "session", signed::now() - 1, "user=ada");
        let other = keys::Keys::parse("another-secret-another-secret-another", "test").unwrap();
        let foreign = signed::sign(&other, "session", signed::now() + 100, "user=ada");
        let flash = signed::sign(&keys, "flash", signed::now() + 100, "user=ada");
        for cookie in [
            expired,
            foreign,
            flash,
            "root".to_owned(),
            "1.user=root.x".to_owned(),
        ] {
            let response = with_secret(TestRequest::get("/").cookie("cgikit_session", &cookie))
                .call(|session: Session| format!("{:?}", session.get("user")));
            assert_eq!(response.text(), "None", "{cookie}");
            assert_eq!(response.cookie("cgikit_session"), Some(""), "{cookie}");
        }
    }

    #[test]
    fn a_failed_handler_saves_nothing_and_a_huge_session_is_a_500() {
        let response = with_secret(TestRequest::get("/")).call(|session: Session| {
            session.insert("user", "ada");
            crate::StatusCode::INTERNAL_SERVER_ERROR
        });
        assert_eq!(response.header("set-cookie"), None);
        let response = with_secret(TestRequest::get("/"))
            .call(|session: Session| session.insert("blob", "x".repeat(5000)));
        assert_eq!(response.status(), crate::StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            response.log().contains("too large for a cookie"),
            "{}",
            response.log()
        );
    }

    #[test]
    fn the_lifetime_can_be_set_and_a_bad_one_is_refused() {
        let response = with_secret(TestRequest::get("/").var("CGIKIT_SESSION_MAX_AGE", "600"))
            .call(|session: Session| session.insert("a", "1"));
        assert!(
            response
                .header("set-cookie")
                .unwrap()
                .contains("; Max-Age=600;")
        );
        let response = with_secret(TestRequest::get("/").var("CGIKIT_SESSION_MAX_AGE", "soon"))
            .call(|session: Session| session.insert("a", "1"));
        assert_eq!(response.status(), crate::StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            response.log().contains("CGIKIT_SESSION_MAX_AGE"),
            "{}",
            response.log()
        );
    }
}
