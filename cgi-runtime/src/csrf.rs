//! `Csrf`: protection for forms against cross-site request forgery.

use std::convert::Infallible;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::Read;

use http::StatusCode;

use crate::error::Error;
use crate::extract::FromRequestParts;
use crate::request::Request;
use crate::response::{SameSite, SetCookie};

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
/// Over HTTPS the cookie is named `__Host-cgikit_csrf`, which browsers accept only from
/// this host, `Secure`, for `/`: a sibling subdomain cannot plant one. Over plain HTTP
/// nothing can stop a man in the middle; serve forms that matter over HTTPS.
///
/// Put [`hidden_input`](Csrf::hidden_input) in the form, add [`cookie`](Csrf::cookie) to
/// the page's response (it is `Some` the first time), and call
/// [`verify`](Csrf::verify) with the submitted field before acting on a POST.
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
///     let mut page = Html(format!(
///         "<form method=post>{}<button name=choice value=tea>Tea</button></form>",
///         csrf.hidden_input()
///     ))
///     .into_response();
///     if let Some(cookie) = csrf.cookie() {
///         page.add_cookie(cookie);
///     }
///     Ok(page)
/// }
///
/// // A forged POST, without the cookie: refused.
/// let forged = cgi::test::TestRequest::post("/").form(&[("choice", "tea"), ("csrf_token", "guess")]).call(poll);
/// assert_eq!(forged.status(), cgi::StatusCode::FORBIDDEN);
/// // The page sets the cookie; a POST carrying both copies is accepted.
/// let page = cgi::test::TestRequest::get("/").call(poll);
/// let cookie = page.header("set-cookie").unwrap();
/// let token = cookie.trim_start_matches("cgikit_csrf=").split(';').next().unwrap();
/// let real = cgi::test::TestRequest::post("/")
///     .cookie("cgikit_csrf", token)
///     .form(&[("choice", "tea"), ("csrf_token", token)])
///     .call(poll);
/// assert_eq!(real.status(), cgi::StatusCode::SEE_OTHER);
/// ```
#[derive(Debug, Clone)]
pub struct Csrf {
    token: String,
    /// Whether the token is new, so the browser has no cookie for it yet.
    is_new: bool,
    secure: bool,
}

impl Csrf {
    /// The token, for a form field named as you like (or use
    /// [`hidden_input`](Csrf::hidden_input)).
    ///
    /// ```
    /// # let response = cgi::test::TestRequest::get("/").call(|csrf: cgi::Csrf| csrf.token().len().to_string());
    /// # assert_eq!(response.text(), "32");
    /// ```
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `<input type="hidden" name="csrf_token" value="...">`, to put inside the `<form>`.
    ///
    /// ```
    /// # let response = cgi::test::TestRequest::get("/").call(|csrf: cgi::Csrf| csrf.hidden_input());
    /// # assert!(response.text().starts_with("<input type=\"hidden\" name=\"csrf_token\" value=\""));
    /// ```
    pub fn hidden_input(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
            self.token
        )
    }

    /// The cookie to set, the first time (when the browser sent none): `HttpOnly`,
    /// `SameSite=Strict`, `Path=/`, and `Secure` over HTTPS.
    ///
    /// ```
    /// # let response = cgi::test::TestRequest::get("/").call(|csrf: cgi::Csrf| csrf.cookie().is_some().to_string());
    /// # assert_eq!(response.text(), "true");
    /// ```
    pub fn cookie(&self) -> Option<SetCookie> {
        self.is_new.then(|| {
            SetCookie::new(
                if self.secure { SECURE_COOKIE } else { COOKIE },
                self.token.clone(),
            )
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure)
        })
    }

    /// Accepts the submission only if the browser sent the cookie and `submitted` equals
    /// it; otherwise a `403 Forbidden` [`Error`].
    ///
    /// ```
    /// # let response = cgi::test::TestRequest::get("/").cookie("cgikit_csrf", "0123456789abcdef0123456789abcdef")
    /// #     .call(|csrf: cgi::Csrf| format!("{} {}", csrf.verify("0123456789abcdef0123456789abcdef").is_ok(), csrf.verify("x").is_ok()));
    /// # assert_eq!(response.text(), "true false");
    /// ```
    ///
    /// # Errors
    ///
    /// `403 Forbidden` when the cookie is missing or the tokens differ.
    pub fn verify(&self, submitted: &str) -> Result<(), Error> {
        if !self.is_new && constant_time_eq(self.token.as_bytes(), submitted.as_bytes()) {
            Ok(())
        } else {
            Err(Error::new(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from this site; reload the page and try again.",
            ))
        }
    }
}

impl FromRequestParts for Csrf {
    type Rejection = Infallible;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        let cookies = crate::Cookies::from_request_parts(request)?;
        let secure = request.is_https();
        let existing = cookies
            .get(if secure { SECURE_COOKIE } else { COOKIE })
            .filter(|token| token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()));
        Ok(match existing {
            Some(token) => Csrf {
                token: token.to_owned(),
                is_new: false,
                secure,
            },
            None => Csrf {
                token: random_token(),
                is_new: true,
                secure,
            },
        })
    }
}

/// 128 random bits as hex, from the OS (`/dev/urandom`), or else from std's per-process
/// random hasher keys.
fn random_token() -> String {
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
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
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
            .call(|csrf: Csrf| {
                let mut response = crate::IntoResponse::into_response("form");
                if let Some(cookie) = csrf.cookie() {
                    response.add_cookie(cookie);
                }
                response
            });
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
}
