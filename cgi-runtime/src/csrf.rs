//! `Csrf`: protection for forms against cross-site request forgery.

use std::convert::Infallible;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::StatusCode;

use crate::error::Error;
use crate::extract::FromRequestParts;
use crate::pending_cookies::{self, PendingCookie};
use crate::request::Request;
use crate::response::{Response, SameSite, SetCookie};

/// The cookie that carries the token over plain HTTP.
const COOKIE: &str = "cgikit_csrf";
/// Over HTTPS: the `__Host-` prefix makes browsers refuse the cookie unless it was set
/// `Secure`, for `/`, by this very host, so a sibling subdomain or a man in the middle on
/// plain HTTP cannot plant a token of its choosing ("cookie tossing").
const SECURE_COOKIE: &str = "__Host-cgikit_csrf";

/// Protects a form against cross-site request forgery with a double-submit token: a random
/// token lives in a `SameSite=Strict`, `HttpOnly` cookie and in a hidden field of the
/// form; a POST is accepted only when both are present and equal. Another site can make a
/// browser send the POST, but it can neither read the cookie nor send it cross-site.
///
/// Put [`hidden_input`](Csrf::hidden_input) in the form and call [`verify`](Csrf::verify)
/// with the submitted field before acting on a POST. That is all: when the browser has no
/// token cookie yet and the page used the token (through `hidden_input` or
/// [`token`](Csrf::token)), cgikit adds the cookie to whatever the handler answers.
///
/// The token is 32 lowercase hexadecimal digits (128 random bits from `/dev/urandom`), the
/// same in the cookie and in the field. A cookie that is not 32 hexadecimal digits is not
/// a token: the page replaces it, and a POST carrying it is refused with a `403` that says
/// so. In tests, [`TestRequest::csrf`](crate::test::TestRequest::csrf) sends a valid pair.
///
/// Over HTTPS the cookie is named `__Host-cgikit_csrf`, which browsers accept only from
/// this host, `Secure`, for `/`: a sibling subdomain cannot plant one. Over plain HTTP
/// nothing can stop a man in the middle; serve forms that matter over HTTPS.
///
/// ```
/// use cgi::{Csrf, Form, Html, Method, Redirect, Response, IntoResponse};
///
/// #[derive(serde::Deserialize)]
/// struct Vote { choice: String, csrf_token: String }
///
/// fn poll(method: Method, csrf: Csrf, form: Option<Form<Vote>>) -> Result<Response, cgi::Error> {
///     if let (Method::POST, Some(Form(vote))) = (method, form) {
///         csrf.verify(&vote.csrf_token)?; // 403 unless the form came from our page
///         // ... count vote.choice ...
///         # let _ = vote.choice;
///         return Ok(Redirect::to("/poll").into_response());
///     }
///     Ok(Html(format!(
///         "<form method=post>{}<button name=choice value=tea>Tea</button></form>",
///         csrf.hidden_input()
///     ))
///     .into_response())
/// }
///
/// // A forged POST, without the cookie: refused.
/// let forged = cgi::test::TestRequest::post("/").form(&[("choice", "tea"), ("csrf_token", "guess")]).call(poll);
/// assert_eq!(forged.status(), cgi::StatusCode::FORBIDDEN);
/// // The page used the token, so its response sets the cookie.
/// let page = cgi::test::TestRequest::get("/").call(poll);
/// let token = page.cookie("cgikit_csrf").unwrap();
/// assert!(page.text().contains(token));
/// // A POST carrying both copies is accepted; `csrf()` sends a valid pair in tests.
/// let real = cgi::test::TestRequest::post("/")
///     .cookie("cgikit_csrf", token)
///     .form(&[("choice", "tea"), ("csrf_token", token)])
///     .call(poll);
/// assert_eq!(real.status(), cgi::StatusCode::SEE_OTHER);
/// let real = cgi::test::TestRequest::post("/").form(&[("choice", "tea")]).csrf().call(poll);
/// assert_eq!(real.status(), cgi::StatusCode::SEE_OTHER);
/// ```
#[derive(Debug, Clone)]
pub struct Csrf {
    token: String,
    cookie: CookieState,
    /// For a new token: the cookie cgikit adds to the response once the page used it.
    pending: Option<Arc<NewCookie>>,
}

/// What the browser sent in the token cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CookieState {
    /// A token: the form's field must equal it.
    Valid,
    Missing,
    /// Not 32 hexadecimal digits.
    Malformed,
}

/// The cookie of a new token, set on the response if the page used the token.
#[derive(Debug)]
struct NewCookie {
    name: &'static str,
    token: String,
    secure: bool,
    used: AtomicBool,
}

impl PendingCookie for NewCookie {
    fn cookie(&self, _response: &Response) -> Result<Option<SetCookie>, String> {
        Ok(self.used.load(Ordering::Relaxed).then(|| {
            SetCookie::new(self.name, self.token.clone())
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(self.secure)
        }))
    }
}

impl Csrf {
    /// The token, for a form field named as you like (or use
    /// [`hidden_input`](Csrf::hidden_input)): 32 hexadecimal digits. Using it makes cgikit
    /// set the token's cookie on the response, if the browser has none yet.
    ///
    /// ```
    /// let response = cgi::test::TestRequest::get("/").call(|csrf: cgi::Csrf| csrf.token().to_owned());
    /// assert_eq!(response.text().len(), 32);
    /// assert!(response.text().bytes().all(|b| b.is_ascii_hexdigit()));
    /// assert_eq!(response.cookie("cgikit_csrf"), Some(response.text()));
    /// ```
    pub fn token(&self) -> &str {
        if let Some(pending) = &self.pending {
            pending.used.store(true, Ordering::Relaxed);
        }
        &self.token
    }

    /// `<input type="hidden" name="csrf_token" value="...">`, to put inside the `<form>`.
    /// Like [`token`](Csrf::token), it makes the response set the token's cookie.
    ///
    /// ```
    /// let response = cgi::test::TestRequest::get("/").call(|csrf: cgi::Csrf| csrf.hidden_input());
    /// assert!(response.text().starts_with("<input type=\"hidden\" name=\"csrf_token\" value=\""));
    /// assert!(response.cookie("cgikit_csrf").is_some());
    /// ```
    pub fn hidden_input(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
            self.token()
        )
    }

    /// The cookie of a new token (when the browser sent none): `HttpOnly`,
    /// `SameSite=Strict`, `Path=/`, and `Secure` over HTTPS. cgikit adds it by itself
    /// when the page used the token; this is for a response made some other way.
    ///
    /// ```
    /// # let response = cgi::test::TestRequest::get("/").call(|csrf: cgi::Csrf| csrf.cookie().is_some().to_string());
    /// # assert_eq!(response.text(), "true");
    /// ```
    pub fn cookie(&self) -> Option<SetCookie> {
        let pending = self.pending.as_ref()?;
        pending.used.store(true, Ordering::Relaxed);
        pending.cookie(&Response::builder().body("")).ok().flatten()
    }

    /// Accepts the submission only if the browser sent the token cookie and `submitted`
    /// equals it; otherwise a `403 Forbidden` [`Error`] whose message says which was wrong.
    ///
    /// ```
    /// # let response = cgi::test::TestRequest::get("/").cookie("cgikit_csrf", "0123456789abcdef0123456789abcdef")
    /// #     .call(|csrf: cgi::Csrf| format!("{} {}", csrf.verify("0123456789abcdef0123456789abcdef").is_ok(), csrf.verify("x").is_ok()));
    /// # assert_eq!(response.text(), "true false");
    /// let response = cgi::test::TestRequest::post("/")
    ///     .cookie("cgikit_csrf", "abc")
    ///     .call(|csrf: cgi::Csrf| csrf.verify("abc"));
    /// assert_eq!(response.status(), cgi::StatusCode::FORBIDDEN);
    /// assert!(response.text().contains("32 hexadecimal digits"));
    /// ```
    ///
    /// # Errors
    ///
    /// `403 Forbidden` when the cookie is missing or malformed, or the tokens differ.
    pub fn verify(&self, submitted: &str) -> Result<(), Error> {
        let problem = match self.cookie {
            CookieState::Valid if constant_time_eq(self.token.as_bytes(), submitted.as_bytes()) => {
                return Ok(());
            }
            CookieState::Valid if submitted.is_empty() => {
                "The form came without its CSRF token (the field `csrf_token`)"
            }
            CookieState::Valid => {
                "The form's CSRF token (the field `csrf_token`) does not match the token cookie: the page is out of date or the form did not come from this site"
            }
            CookieState::Missing => {
                "The form came without the CSRF token cookie: it has expired, cookies are blocked, or the form did not come from this site"
            }
            CookieState::Malformed => {
                "The CSRF token cookie is not a token from this site (32 hexadecimal digits)"
            }
        };
        Err(Error::new(
            StatusCode::FORBIDDEN,
            format!("{problem}. Reload the page and try again."),
        ))
    }
}

impl FromRequestParts for Csrf {
    type Rejection = Infallible;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        let cookies = crate::Cookies::from_request_parts(request)?;
        let secure = request.is_https();
        let name = if secure { SECURE_COOKIE } else { COOKIE };
        let sent = cookies.get(name);
        if let Some(token) = sent.filter(|token| is_token(token)) {
            return Ok(Csrf {
                token: token.to_owned(),
                cookie: CookieState::Valid,
                pending: None,
            });
        }
        let token = random_token();
        let pending = Arc::new(NewCookie {
            name,
            token: token.clone(),
            secure,
            used: AtomicBool::new(false),
        });
        pending_cookies::register(request.exchange(), pending.clone());
        Ok(Csrf {
            token,
            cookie: if sent.is_some() {
                CookieState::Malformed
            } else {
                CookieState::Missing
            },
            pending: Some(pending),
        })
    }
}

/// 32 hexadecimal digits, as [`random_token`] makes them (either case is accepted).
fn is_token(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// 128 random bits as hex, from the OS (`/dev/urandom`), or else from std's per-process
/// random hasher keys.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 16];
    let from_os = std::fs::File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut bytes))
        .is_ok();
    if !from_os {
        for (index, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut hasher = RandomState::new().build_hasher();
            hasher.write_usize(index);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Compares without returning early, so the time taken says nothing about the token.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .fold(0u8, |difference, (x, y)| difference | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn https_uses_a_host_only_cookie() {
        let page = crate::test::TestRequest::get("/")
            .var("HTTPS", "on")
            .call(|csrf: Csrf| csrf.hidden_input());
        let cookie = page.header("set-cookie").unwrap();
        assert!(cookie.starts_with("__Host-cgikit_csrf="), "{cookie}");
        assert!(
            cookie.contains("; Path=/")
                && cookie.contains("; Secure")
                && !cookie.contains("Domain"),
            "{cookie}"
        );
        // A plain-HTTP cookie does not count over HTTPS.
        let token = "0123456789abcdef0123456789abcdef";
        let verdict = |https: &str, name: &str| {
            crate::test::TestRequest::get("/")
                .var("HTTPS", https)
                .cookie(name, token)
                .call(move |csrf: Csrf| csrf.verify(token).is_ok().to_string())
                .text()
                .to_owned()
        };
        assert_eq!(verdict("on", "cgikit_csrf"), "false");
        assert_eq!(verdict("on", "__Host-cgikit_csrf"), "true");
        assert_eq!(verdict("", "cgikit_csrf"), "true");
    }

    #[test]
    fn comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn the_cookie_is_set_only_when_the_page_used_a_new_token() {
        let used = crate::test::TestRequest::get("/").call(|csrf: Csrf| csrf.token().to_owned());
        let cookie = used.header("set-cookie").unwrap();
        assert_eq!(
            cookie,
            format!(
                "cgikit_csrf={}; Path=/; HttpOnly; SameSite=Strict",
                used.text()
            )
        );
        let unused = crate::test::TestRequest::get("/").call(|_: Csrf| "no form here");
        assert_eq!(unused.header("set-cookie"), None);
        // The browser has the cookie: nothing to set, the page shows that token.
        let token = "0123456789abcdef0123456789abcdef";
        let known = crate::test::TestRequest::get("/")
            .cookie("cgikit_csrf", token)
            .call(|csrf: Csrf| csrf.hidden_input());
        assert_eq!(known.header("set-cookie"), None);
        assert!(known.text().contains(token));
        // A cookie that is not a token is replaced.
        let replaced = crate::test::TestRequest::get("/")
            .cookie("cgikit_csrf", "abc")
            .call(|csrf: Csrf| csrf.token().to_owned());
        assert_eq!(replaced.cookie("cgikit_csrf"), Some(replaced.text()));
        assert_ne!(replaced.text(), "abc");
        // The handler's own call to `cookie()` makes one Set-Cookie, not two.
        let manual = crate::test::TestRequest::get("/").call(|csrf: Csrf| {
            let mut response = crate::IntoResponse::into_response(csrf.hidden_input());
            response.add_cookie(csrf.cookie().unwrap());
            response
        });
        assert_eq!(manual.headers().get_all("set-cookie").iter().count(), 1);
    }

    #[test]
    fn refusals_say_what_was_wrong() {
        let token = "0123456789abcdef0123456789abcdef";
        let refusal = |request: crate::test::TestRequest, submitted: &'static str| {
            let response = request.call(move |csrf: Csrf| csrf.verify(submitted));
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            response.text().to_owned()
        };
        let post = crate::test::TestRequest::post("/");
        assert!(refusal(post.clone(), token).contains("without the CSRF token cookie"));
        assert!(
            refusal(post.clone().cookie("cgikit_csrf", "abc"), "abc")
                .contains("not a token from this site (32 hexadecimal digits)")
        );
        assert!(
            refusal(post.clone().cookie("cgikit_csrf", token), "")
                .contains("without its CSRF token (the field `csrf_token`)")
        );
        assert!(
            refusal(
                post.cookie("cgikit_csrf", token),
                "ffffffffffffffffffffffffffffffff"
            )
            .contains("does not match the token cookie")
        );
    }
}
