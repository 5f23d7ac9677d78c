//! Cookies that extractors add to the response: the CSRF token's cookie when the page used
//! the token, a session's cookie when the handler changed the session.
//!
//! An extractor sees the request, never the response the handler will return, and the
//! request is moved into the handler. So an extractor that needs a cookie on the response
//! leaves a [`PendingCookie`] here under its exchange's id, and the core adds what each
//! one decides, once the handler has answered.
//!
//! A script that uses no such extractor pays one atomic increment per request (its id) and
//! one atomic load: no allocation, no lock.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::response::{Response, SetCookie};

/// A cookie whose value is known only once the handler has answered.
pub(crate) trait PendingCookie: Send + Sync {
    /// The cookie to add to the response, if any; `response` is what the handler answered
    /// (a session changed by a handler that then failed is not saved). `Err` makes the
    /// response a generic 500, the reason logged (a session too large for a cookie).
    fn cookie(&self, response: &Response) -> Result<Option<SetCookie>, String>;
}

/// One request's identity while it is answered; requests of a long-lived process run
/// concurrently and each collects only its own cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExchangeId(u64);

impl ExchangeId {
    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ExchangeId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

type Entries = Vec<(ExchangeId, Arc<dyn PendingCookie>)>;

/// Every exchange's pending cookies; a `const` empty `Vec`, so nothing is allocated until
/// an extractor registers one.
static PENDING: Mutex<Entries> = Mutex::new(Vec::new());
/// How many entries `PENDING` holds, read without the lock.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// Leaves `cookie` for the exchange `id` to add to its response.
pub(crate) fn register(id: ExchangeId, cookie: Arc<dyn PendingCookie>) {
    let mut pending = PENDING.lock().unwrap_or_else(PoisonError::into_inner);
    pending.push((id, cookie));
    WAITING.store(pending.len(), Ordering::Release);
}

/// Takes the exchange's pending cookies and adds each one they decide on to `response`,
/// unless the handler set a cookie of that name itself (a sign-out deleting the session
/// cookie wins over the session's own).
pub(crate) fn add_to(id: ExchangeId, response: &mut Response) {
    for pending in take(id) {
        match pending.cookie(response) {
            Ok(Some(cookie)) if !sets_cookie(response, cookie.name()) => {
                response.add_cookie(cookie);
            }
            Ok(_) => {}
            Err(reason) => *response = Response::failed(reason),
        }
    }
}

/// Forgets the exchange's pending cookies (its handler panicked).
pub(crate) fn discard(id: ExchangeId) {
    drop(take(id));
}

fn take(id: ExchangeId) -> Vec<Arc<dyn PendingCookie>> {
    if WAITING.load(Ordering::Acquire) == 0 {
        return Vec::new();
    }
    let mut pending = PENDING.lock().unwrap_or_else(PoisonError::into_inner);
    let mut taken = Vec::new();
    pending.retain(|(owner, cookie)| {
        let mine = *owner == id;
        if mine {
            taken.push(Arc::clone(cookie));
        }
        !mine
    });
    WAITING.store(pending.len(), Ordering::Release);
    taken
}

/// Whether `response` already has a `Set-Cookie` for `name`.
fn sets_cookie(response: &Response, name: &str) -> bool {
    response
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .any(|line| {
            line.as_bytes()
                .split(|&byte| byte == b'=')
                .next()
                .is_some_and(|existing| existing == name.as_bytes())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IntoResponse;

    struct Fixed(&'static str);

    impl PendingCookie for Fixed {
        fn cookie(&self, _: &Response) -> Result<Option<SetCookie>, String> {
            match self.0 {
                "too large" => Err("too large for a cookie".to_owned()),
                name => Ok(Some(SetCookie::new(name, "pending"))),
            }
        }
    }

    #[test]
    fn a_cookie_that_cannot_be_made_fails_the_response() {
        let id = ExchangeId::next();
        register(id, Arc::new(Fixed("too large")));
        let mut response = "page".into_response();
        add_to(id, &mut response);
        assert_eq!(response.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn each_exchange_gets_only_its_own_cookies_once() {
        let (mine, other) = (ExchangeId::next(), ExchangeId::next());
        register(mine, Arc::new(Fixed("a")));
        register(other, Arc::new(Fixed("b")));
        let mut response = "page".into_response();
        add_to(mine, &mut response);
        let lines: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
        assert_eq!(lines, ["a=pending"]);
        // Taken: a second call adds nothing.
        let mut again = "page".into_response();
        add_to(mine, &mut again);
        assert!(again.headers().get("set-cookie").is_none());
        discard(other);
        let mut response = "page".into_response();
        add_to(other, &mut response);
        assert!(response.headers().get("set-cookie").is_none());
    }

    #[test]
    fn the_handlers_own_cookie_of_that_name_wins() {
        let id = ExchangeId::next();
        register(id, Arc::new(Fixed("sid")));
        register(id, Arc::new(Fixed("other")));
        let mut response = "page".into_response();
        response.add_cookie(SetCookie::delete("sid"));
        add_to(id, &mut response);
        let lines: Vec<_> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|line| line.to_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            lines,
            [
                "sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                "other=pending"
            ]
        );
    }
}
