//! `Flash`: a message for the next page, across a post/redirect/get.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::{Sent, keys, signed};
use crate::error::Error;
use crate::extract::{Cookies, FromRequestParts};
use crate::pending_cookies::{self, PendingCookie};
use crate::request::Request;
use crate::response::{Response, SameSite, SetCookie};

/// How long a message waits for the page that shows it.
const LIFETIME: u64 = 300;

/// A one-time message for the next page: set it before redirecting after a `POST`
/// ("Settings saved."), and the page the browser lands on [takes](Flash::take) it and shows
/// it once. Feature `sessions`: the message travels in a cookie signed with the session
/// secret (see [`Session`](crate::Session)), so no other site or script can plant one.
///
/// The cookie is `cgikit_flash` (`__Host-cgikit_flash` over HTTPS), `HttpOnly`,
/// `SameSite=Lax`, for 5 minutes; cgikit sets it, and deletes it once a page took the
/// message. A page that does not take it leaves it for the next one. The text is the
/// script's own, but escape it all the same when showing it.
///
/// ```
/// use cgi::{Flash, Html, IntoResponse, Method, Redirect, Response};
///
/// fn settings(method: Method, flash: Flash) -> Response {
///     if method == Method::POST {
///         // ... save ...
///         flash.success("Settings saved.");
///         return Redirect::to("/settings").into_response();
///     }
///     let note = flash.take().map(|message| {
///         format!("<p class={}>{}</p>", message.kind, cgi::html::escape(&message.text))
///     });
///     Html(format!("{}<form method=post>...</form>", note.unwrap_or_default())).into_response()
/// }
///
/// use cgi::test::TestRequest;
/// let secret = "a-test-secret-of-at-least-32-bytes";
/// let saved = TestRequest::post("/").var("CGIKIT_SESSION_SECRET", secret).call(settings);
/// let message = saved.cookie("cgikit_flash").unwrap();
/// let page = TestRequest::get("/settings")
///     .var("CGIKIT_SESSION_SECRET", secret)
///     .cookie("cgikit_flash", message)
///     .call(settings);
/// assert!(page.text().starts_with("<p class=success>Settings saved.</p>"));
/// assert_eq!(page.cookie("cgikit_flash"), Some("")); // shown once: deleted
/// ```
#[derive(Debug, Clone)]
pub struct Flash {
    shared: Arc<Shared>,
}

/// A message [`Flash`] carried: its kind (`success`, `error`, or one of yours, handy as a
/// CSS class) and its text.
///
/// ```
/// let message = cgi::FlashMessage { kind: "error".into(), text: "Not saved.".into() };
/// assert_eq!(format!("{}: {}", message.kind, message.text), "error: Not saved.");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashMessage {
    /// `success`, `error`, or what was given to [`Flash::set`].
    pub kind: String,
    /// The message.
    pub text: String,
}

#[derive(Debug)]
struct Shared {
    keys: keys::Keys,
    cookie_name: &'static str,
    secure: bool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    incoming: Option<FlashMessage>,
    taken: bool,
    outgoing: Option<FlashMessage>,
    sent: Sent,
}

impl Flash {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The message the previous page left, once: the response deletes it.
    ///
    /// ```
    /// # let secret = "a-test-secret-of-at-least-32-bytes";
    /// let response = cgi::test::TestRequest::get("/").var("CGIKIT_SESSION_SECRET", secret)
    ///     .call(|flash: cgi::Flash| format!("{:?}", flash.take()));
    /// assert_eq!(response.text(), "None");
    /// ```
    pub fn take(&self) -> Option<FlashMessage> {
        let mut state = self.state();
        state.taken = true;
        state.incoming.take()
    }

    /// Leaves a message of this kind for the next page (replacing one left before).
    ///
    /// ```
    /// # let secret = "a-test-secret-of-at-least-32-bytes";
    /// let response = cgi::test::TestRequest::post("/").var("CGIKIT_SESSION_SECRET", secret)
    ///     .call(|flash: cgi::Flash| flash.set("warning", "Disk almost full."));
    /// assert!(response.cookie("cgikit_flash").unwrap().contains("kind=warning"));
    /// ```
    pub fn set(&self, kind: impl Into<String>, text: impl Into<String>) {
        self.state().outgoing = Some(FlashMessage {
            kind: kind.into(),
            text: text.into(),
        });
    }

    /// Leaves a `success` message for the next page.
    ///
    /// ```
    /// # let secret = "a-test-secret-of-at-least-32-bytes";
    /// let response = cgi::test::TestRequest::post("/").var("CGIKIT_SESSION_SECRET", secret)
    ///     .call(|flash: cgi::Flash| flash.success("Saved."));
    /// assert!(response.cookie("cgikit_flash").unwrap().contains("kind=success&text=Saved."));
    /// ```
    pub fn success(&self, text: impl Into<String>) {
        self.set("success", text);
    }

    /// Leaves an `error` message for the next page.
    ///
    /// ```
    /// # let secret = "a-test-secret-of-at-least-32-bytes";
    /// let response = cgi::test::TestRequest::post("/").var("CGIKIT_SESSION_SECRET", secret)
    ///     .call(|flash: cgi::Flash| flash.error("Not saved."));
    /// assert!(response.cookie("cgikit_flash").unwrap().contains("kind=error"));
    /// ```
    pub fn error(&self, text: impl Into<String>) {
        self.set("error", text);
    }
}

impl FromRequestParts for Flash {
    type Rejection = Error;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        let keys = keys::load(request).map_err(Error::setup)?;
        let secure = request.is_https();
        let cookie_name = if secure {
            "__Host-cgikit_flash"
        } else {
            "cgikit_flash"
        };
        let cookies = Cookies::from_request_parts(request).unwrap_or_default();
        let (incoming, sent) = match cookies.get(cookie_name) {
            None => (None, Sent::Nothing),
            Some(value) => match signed::verify(&keys, "flash", value, signed::now()) {
                None => (None, Sent::Invalid),
                Some(verified) => (
                    Some(decode(verified.payload)),
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
            state: Mutex::new(State {
                incoming,
                taken: false,
                outgoing: None,
                sent,
            }),
        });
        pending_cookies::register(request.exchange(), shared.clone());
        Ok(Flash { shared })
    }
}

impl PendingCookie for Shared {
    fn cookie(&self, response: &Response) -> Result<Option<SetCookie>, String> {
        if response.status().is_server_error() {
            return Ok(None);
        }
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(message) = &state.outgoing {
            let payload = form_urlencoded::Serializer::new(String::new())
                .append_pair("kind", &message.kind)
                .append_pair("text", &message.text)
                .finish();
            let value = signed::sign(&self.keys, "flash", signed::now() + LIFETIME, &payload);
            if value.len() > super::LARGEST_VALUE {
                return Err(format!(
                    "the flash message is too large for a cookie ({} bytes)",
                    value.len()
                ));
            }
            return Ok(Some(
                SetCookie::new(self.cookie_name, value)
                    .path("/")
                    .max_age(Duration::from_secs(LIFETIME))
                    .secure(self.secure)
                    .http_only(true)
                    .same_site(SameSite::Lax),
            ));
        }
        let shown = state.taken && matches!(state.sent, Sent::Valid { .. });
        Ok((shown || state.sent == Sent::Invalid).then(|| {
            SetCookie::delete(self.cookie_name)
                .path("/")
                .secure(self.secure)
        }))
    }
}

fn decode(payload: &str) -> FlashMessage {
    let mut message = FlashMessage {
        kind: String::new(),
        text: String::new(),
    };
    for (name, value) in form_urlencoded::parse(payload.as_bytes()) {
        match &*name {
            "kind" => message.kind = value.into_owned(),
            "text" => message.text = value.into_owned(),
            _ => {}
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test::TestRequest;

    const SECRET: &str = "a-test-secret-of-at-least-32-bytes";

    #[test]
    fn a_message_crosses_one_redirect_and_is_shown_once() {
        let post = TestRequest::post("/")
            .var("CGIKIT_SESSION_SECRET", SECRET)
            .call(|flash: Flash| flash.error("Name & <b>mail</b> are required."));
        let line = post.header("set-cookie").unwrap();
        assert!(
            line.ends_with("; Path=/; Max-Age=300; HttpOnly; SameSite=Lax"),
            "{line}"
        );
        let cookie = post.cookie("cgikit_flash").unwrap();
        let show = |cookie: &str| {
            TestRequest::get("/")
                .var("CGIKIT_SESSION_SECRET", SECRET)
                .cookie("cgikit_flash", cookie)
                .call(|flash: Flash| format!("{:?}", flash.take()))
        };
        let page = show(cookie);
        assert_eq!(
            page.text(),
            r#"Some(FlashMessage { kind: "error", text: "Name & <b>mail</b> are required." })"#
        );
        assert_eq!(page.cookie("cgikit_flash"), Some(""));
        // A page that does not take it leaves it alone.
        let untouched = TestRequest::get("/")
            .var("CGIKIT_SESSION_SECRET", SECRET)
            .cookie("cgikit_flash", cookie)
            .call(|_: Flash| "no messages here");
        assert_eq!(untouched.header("set-cookie"), None);
        // A planted, unsigned message is not shown, and is deleted.
        let planted = show("kind=error&text=Call+555-0100+now");
        assert_eq!(planted.text(), "None");
        assert_eq!(planted.cookie("cgikit_flash"), Some(""));
    }
}
