//! Signing in with a cookie session, and signing out.
//!
//! What it teaches:
//! - a session: a random id in a cookie (`HttpOnly`, `SameSite=Lax`, and `Secure` over
//!   HTTPS), the user's name in a file on the server named by that id;
//! - signing out deletes both the file and the cookie (`SetCookie::delete`);
//! - the form is protected against cross-site request forgery (`cgi::Csrf`);
//! - `REMOTE_USER` is trusted only when the server did the authentication: nginx's stock
//!   `fastcgi_params` and Python's http.server copy it from the client's own
//!   `Authorization` header, unchecked. So this script believes it only when the server's
//!   configuration says so, with `LOGIN_TRUST_REMOTE_USER=1` (for instance Apache with
//!   `AuthType Basic` + `Require valid-user` + `SetEnv LOGIN_TRUST_REMOTE_USER 1`).
//!
//! The demonstration account is `student` / `cgikit`; set `LOGIN_PASSWORD` to change the
//! password. Sessions live in `LOGIN_SESSIONS`, else `cgikit-login-sessions` in the
//! temporary directory.
//!
//! Try it: `cargo run --example login -- --serve`, then open http://127.0.0.1:8000/.

use std::fs;
use std::io::{self, Read};
use std::path::PathBuf;

use cgi::html::escape;
use cgi::{
    Cookies, Csrf, Form, FromRequestParts, Html, IntoResponse, Method, PathInfo, Redirect, Request,
    Response, SameSite, SetCookie, StatusCode,
};

const SESSION_COOKIE: &str = "session";

/// Both forms (sign in, sign out) post this; signing out sends only the token.
#[derive(serde::Deserialize)]
struct Submitted {
    user: Option<String>,
    password: Option<String>,
    csrf_token: String,
}

/// Where this script lives (`SCRIPT_NAME`, empty when it is the whole site, as under
/// `--serve`) and whether the request came over HTTPS.
struct Site {
    base: String,
    secure: bool,
}

impl Site {
    /// The script's page, to redirect to.
    fn home(&self) -> &str {
        if self.base.is_empty() {
            "/"
        } else {
            &self.base
        }
    }
}

impl FromRequestParts for Site {
    type Rejection = std::convert::Infallible;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        let base = request.script_name().unwrap_or("").to_owned();
        Ok(Site {
            base,
            secure: request.is_https(),
        })
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
fn login(
    method: Method,
    path: PathInfo,
    site: Site,
    cookies: Cookies,
    csrf: Csrf,
    server_user: ServerUser,
    form: Option<Form<Submitted>>,
) -> Result<Response, cgi::Error> {
    let session = cookies
        .get(SESSION_COOKIE)
        .filter(|id| is_session_id(id))
        .map(str::to_owned);
    match (method, path.0.as_str(), form) {
        (Method::POST, "/login", Some(Form(submitted))) => {
            csrf.verify(&submitted.csrf_token)?;
            let password = std::env::var("LOGIN_PASSWORD").unwrap_or_else(|_| "cgikit".into());
            let user = submitted.user.unwrap_or_default();
            if user != "student" || submitted.password.as_deref() != Some(password.as_str()) {
                let problem = "Wrong name or password.";
                return page(&site, &csrf, None, StatusCode::UNAUTHORIZED, problem);
            }
            let id = new_session_id()?;
            fs::create_dir_all(sessions())?;
            fs::write(sessions().join(&id), &user)?;
            let mut response = Redirect::to(site.home()).into_response();
            response.add_cookie(
                SetCookie::new(SESSION_COOKIE, id)
                    .path("/")
                    .http_only(true)
                    .same_site(SameSite::Lax)
                    .secure(site.secure),
            );
            Ok(response)
        }
        (Method::POST, "/logout", Some(Form(submitted))) => {
            csrf.verify(&submitted.csrf_token)?;
            if let Some(id) = &session {
                let _ = fs::remove_file(sessions().join(id));
            }
            let mut response = Redirect::to(site.home()).into_response();
            response.add_cookie(SetCookie::delete(SESSION_COOKIE).path("/"));
            Ok(response)
        }
        _ => {
            let from_session =
                || session.and_then(|id| fs::read_to_string(sessions().join(id)).ok());
            let user = server_user.0.or_else(from_session);
            page(&site, &csrf, user.as_deref(), StatusCode::OK, "")
        }
    }
}

fn page(
    site: &Site,
    csrf: &Csrf,
    user: Option<&str>,
    status: StatusCode,
    problem: &str,
) -> Result<Response, cgi::Error> {
    let base = escape(&site.base).into_owned();
    let mut html = String::from("<!DOCTYPE html>\n<title>Sign in</title>\n");
    if !problem.is_empty() {
        html.push_str(&format!("<p><strong>{}</strong></p>\n", escape(problem)));
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
             <p><label>Name <input name=user value=student></label>\n\
             <p><label>Password <input name=password type=password></label>\n\
             <p><button>Sign in</button>\n</form>\n",
            csrf.hidden_input(),
        )),
    }
    let mut response = (status, Html(html)).into_response();
    if let Some(cookie) = csrf.cookie() {
        response.add_cookie(cookie);
    }
    Ok(response)
}

fn sessions() -> PathBuf {
    std::env::var_os("LOGIN_SESSIONS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("cgikit-login-sessions"))
}

/// 128 random bits as hex: unguessable, and safe as a file name.
fn new_session_id() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

fn is_session_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|byte| byte.is_ascii_hexdigit())
}
