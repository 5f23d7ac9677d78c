//! Signing in and out with a session (`cgi::Session`, feature `sessions`).
//!
//! What it teaches:
//! - a session kept in a cookie signed with the server's secret: nothing on the server's
//!   disk to list, plant or forget to expire; the cookie expires, on the server's clock
//!   too (see `cgi::Session` for making, keeping and rotating the secret);
//! - a message across the redirect after signing in or out (`cgi::Flash`);
//! - the forms protected against cross-site request forgery (`cgi::Csrf`), and the name
//!   typed kept when the password was wrong (`Form<Contextual<T>>`);
//! - the password compared in constant time, and only one way to sign in: no default
//!   password outside `--serve`;
//! - `REMOTE_USER` is trusted only when the server did the authentication: nginx's stock
//!   `fastcgi_params` and Python's http.server copy it from the client's own
//!   `Authorization` header, unchecked. So this script believes it only when the server's
//!   configuration says so, with `LOGIN_TRUST_REMOTE_USER=1` (for instance Apache with
//!   `AuthType Basic` + `Require valid-user` + `SetEnv LOGIN_TRUST_REMOTE_USER 1`).
//!
//! The account is `student`, with the password in `LOGIN_PASSWORD` (a real site keeps a
//! password hash, argon2 or scrypt, and limits attempts). Under `--serve` only, without
//! `LOGIN_PASSWORD`, the password is `cgikit`, and the server makes up a session secret.
//!
//! Try it: `cargo run --example login --features sessions -- --serve`, then open
//! http://127.0.0.1:8000/.

use cgi::html::escape;
use cgi::{
    Contextual, Csrf, Flash, Form, FromRequestParts, Html, IntoResponse, Method, PathInfo,
    Redirect, Request, Response, Session, StatusCode,
};

const USER: &str = "student";

/// What the sign-in form sends (the sign-out form sends only its CSRF token).
#[derive(serde::Deserialize)]
#[allow(dead_code)] // the fields are read as typed, through `Contextual::input`
struct Credentials {
    user: String,
    password: String,
}

/// Where this script lives, to link and redirect to: `SCRIPT_NAME`, set by the server
/// (empty when it is the whole site, as under `--serve`); and the password it accepts.
struct Site {
    base: String,
    password: Option<String>,
}

impl Site {
    /// The script's page, to redirect to.
    fn home(&self) -> String {
        format!("/{}", self.base.trim_start_matches(['/', '\\']))
    }
}

impl FromRequestParts for Site {
    type Rejection = std::convert::Infallible;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        let base = request.script_name().unwrap_or("").to_owned();
        let under_serve = request.server_software() == Some("cgikit-dev");
        let password = std::env::var("LOGIN_PASSWORD")
            .ok()
            .filter(|password| !password.is_empty())
            .or_else(|| under_serve.then(|| "cgikit".to_owned()));
        Ok(Site { base, password })
    }
}

/// A user the web server authenticated, if its configuration says it does.
struct ServerUser(Option<String>);

/// A custom extractor: `REMOTE_USER`, believed only when `LOGIN_TRUST_REMOTE_USER=1`.
impl FromRequestParts for ServerUser {
    type Rejection = std::convert::Infallible;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        let trusted = std::env::var_os("LOGIN_TRUST_REMOTE_USER").is_some_and(|value| value == "1");
        let user = request
            .var("REMOTE_USER")
            .map(|user| String::from_utf8_lossy(user).into_owned());
        Ok(ServerUser(if trusted { user } else { None }))
    }
}

#[cgi::main(max_body = 4096)]
#[allow(clippy::too_many_arguments)] // one per thing the page needs, each an extractor
fn login(
    method: Method,
    path: PathInfo,
    site: Site,
    csrf: Csrf,
    session: Session,
    flash: Flash,
    server_user: ServerUser,
    Form(form): Form<Contextual<Credentials>>,
) -> Result<Response, cgi::Error> {
    let page = |status, problem: &str, typed: &Contextual<Credentials>| {
        let user = server_user.0.clone().or_else(|| session.get("user"));
        let message = flash.take();
        render(
            &site,
            &csrf,
            user.as_deref(),
            status,
            problem,
            message,
            typed,
        )
    };
    if method != Method::POST {
        return Ok(page(StatusCode::OK, "", &Contextual::default()));
    }
    if csrf.verify(form.input("csrf_token")).is_err() {
        let problem = "This form had expired. Please try again.";
        return Ok(page(StatusCode::FORBIDDEN, problem, &form));
    }
    match path.0.as_str() {
        "/login" => {
            let Some(expected) = &site.password else {
                eprintln!("login: LOGIN_PASSWORD is not set: nobody can sign in");
                let problem = "Signing in is not set up on this server.";
                return Ok(page(StatusCode::SERVICE_UNAVAILABLE, problem, &form));
            };
            let right = form.input("user") == USER
                && constant_time_eq(form.input("password").as_bytes(), expected.as_bytes());
            if !right {
                return Ok(page(
                    StatusCode::UNAUTHORIZED,
                    "Wrong name or password.",
                    &form,
                ));
            }
            session.clear();
            session.insert("user", USER);
            flash.success(format!("Welcome, {USER}."));
            Ok(Redirect::to(&site.home()).into_response())
        }
        "/logout" => {
            session.clear();
            flash.success("You are signed out.");
            Ok(Redirect::to(&site.home()).into_response())
        }
        _ => Ok(StatusCode::NOT_FOUND.into_response()),
    }
}

fn render(
    site: &Site,
    csrf: &Csrf,
    user: Option<&str>,
    status: StatusCode,
    problem: &str,
    message: Option<cgi::FlashMessage>,
    typed: &Contextual<Credentials>,
) -> Response {
    let base = escape(&site.base).into_owned();
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=en>\n<meta charset=utf-8>\n<title>Sign in</title>\n\
         <style>body{font:16px/1.5 system-ui,sans-serif;max-width:30rem;margin:2rem auto}\
         .success{color:#1e6b2e}.problem{color:#b00020}</style>\n",
    );
    if let Some(message) = message {
        html.push_str(&format!(
            "<p class={}>{}</p>\n",
            escape(&message.kind),
            escape(&message.text)
        ));
    }
    if !problem.is_empty() {
        html.push_str(&format!("<p class=problem>{}</p>\n", escape(problem)));
    }
    match user {
        Some(user) => html.push_str(&format!(
            "<p>Signed in as <b>{}</b>.</p>\n\
             <form method=post action=\"{base}/logout\">{}<button>Sign out</button></form>\n",
            escape(user),
            csrf.hidden_input(),
        )),
        None => html.push_str(&format!(
            "<form method=post action=\"{base}/login\">{}\n\
             <p><label>Name <input name=user value=\"{}\" autocomplete=username></label>\n\
             <p><label>Password <input name=password type=password autocomplete=current-password></label>\n\
             <p><button>Sign in</button>\n</form>\n",
            csrf.hidden_input(),
            escape(typed.input("user")),
        )),
    }
    let mut response = (status, Html(html)).into_response();
    // A page that shows who is signed in is nobody else's to keep.
    response.headers_mut().insert(
        "cache-control",
        cgi::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// Compares without returning early, so the time taken says nothing about the password.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
