//! Sessions (feature `sessions`) as a web server runs them: the login and settings
//! examples built and run as CGI processes (cleared environment, CGI variables, the body on stdin), with the
//! session secret from a file or a variable; and the attacks the file-based sessions it
//! replaces fell to: listing or planting session files, sessions that never expire, a
//! secret others can read. `cargo test --features sessions --test sessions`.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use support::{Cgi, Outcome, Script, TempDir};

const EXAMPLES: [&str; 2] = ["login", "settings"];
const FORM: &str = "application/x-www-form-urlencoded";
/// A valid CSRF token (32 hex digits): the cookie and the form field carry the same one.
const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const SECRET: &str = "test-secret-test-secret-test-secret-1";
const NEW_SECRET: &str = "new-secret-new-secret-new-secret-new-2";

/// A GET of the login example, with the secret in a variable and the password set.
fn get(path_info: &str) -> Script {
    Script::example("login", &EXAMPLES)
        .timeout(Duration::from_secs(20))
        .cgi_get(path_info, "")
        .var("CGIKIT_SESSION_SECRET", SECRET)
        .var("LOGIN_PASSWORD", "cgikit")
}

/// A POST of these fields, with the CSRF cookie and these other cookies.
fn post(path_info: &str, fields: &[(&str, &str)], cookies: &str) -> Script {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut cookie = format!("cgikit_csrf={TOKEN}");
    if !cookies.is_empty() {
        cookie = format!("{cookie}; {cookies}");
    }
    get(path_info).post(FORM, body).var("HTTP_COOKIE", cookie)
}

fn sign_in() -> (Cgi, Outcome) {
    let outcome = post(
        "/login",
        &[
            ("user", "student"),
            ("password", "cgikit"),
            ("csrf_token", TOKEN),
        ],
        "",
    )
    .own_tmpdir()
    .run();
    (outcome.response(), outcome)
}

/// `NAME=VALUE; ...` → VALUE, for the Set-Cookie line of `name`.
fn cookie_value<'a>(response: &'a Cgi, name: &str) -> Option<&'a str> {
    response
        .header_all("set-cookie")
        .into_iter()
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix('=')
                .map(|rest| rest.split(';').next().unwrap_or(""))
        })
}

fn signed_in_as(page: &Cgi) -> Option<String> {
    let text = page.text();
    let start = text.find("Signed in as <b>")? + "Signed in as <b>".len();
    Some(text[start..text[start..].find("</b>")? + start].to_owned())
}

/// The page, with these cookies.
fn page_with(cookies: &str) -> (Cgi, Outcome) {
    let outcome = get("").var("HTTP_COOKIE", cookies).run();
    (outcome.response(), outcome)
}

#[test]
fn signing_in_sets_a_signed_session_and_a_message_and_writes_no_file() {
    let (response, outcome) = sign_in();
    assert_eq!(response.status, 303, "{}", outcome.dump());
    assert_eq!(response.header("location"), Some("/cgi-bin/login"));
    // Nothing on disk: the script's own TMPDIR is empty (checked by `response()`).
    assert_eq!(outcome.tmpdir_left.as_deref(), Some(&[][..]));
    let line = response
        .header_all("set-cookie")
        .into_iter()
        .find(|line| line.starts_with("cgikit_session="))
        .expect("a session cookie");
    for attribute in ["Path=/", "Max-Age=28800", "HttpOnly", "SameSite=Lax"] {
        assert!(
            line.split("; ").any(|part| part == attribute),
            "{attribute}: {line}"
        );
    }
    assert!(!line.contains("Secure"), "not HTTPS: {line}");
    let session = cookie_value(&response, "cgikit_session").unwrap();
    assert!(session.contains("user=student"), "{session}");
    let flash = cookie_value(&response, "cgikit_flash").expect("a message for the next page");

    // The next page: signed in, and the message shown once (its cookie deleted).
    let (page, outcome) = page_with(&format!(
        "cgikit_csrf={TOKEN}; cgikit_session={session}; cgikit_flash={flash}"
    ));
    assert_eq!(page.status, 200, "{}", outcome.dump());
    assert_eq!(signed_in_as(&page).as_deref(), Some("student"));
    assert!(
        page.text()
            .contains("<p class=success>Welcome, student.</p>"),
        "{}",
        page.text()
    );
    assert_eq!(cookie_value(&page, "cgikit_flash"), Some(""));
    assert_eq!(page.header("cache-control"), Some("no-store"));

    // Signing out deletes the session cookie and leaves a message.
    let outcome = post(
        "/logout",
        &[("csrf_token", TOKEN)],
        &format!("cgikit_session={session}"),
    )
    .run();
    let response = outcome.response();
    assert_eq!(response.status, 303, "{}", outcome.dump());
    assert_eq!(cookie_value(&response, "cgikit_session"), Some(""));
    let deleted = response
        .header_all("set-cookie")
        .into_iter()
        .find(|line| line.starts_with("cgikit_session="))
        .unwrap();
    assert!(
        deleted.contains("Max-Age=0") && deleted.contains("Path=/"),
        "{deleted}"
    );
    assert!(cookie_value(&response, "cgikit_flash").is_some_and(|v| !v.is_empty()));
}

#[test]
fn over_https_the_session_cookie_is_host_only_and_secure() {
    let outcome = post(
        "/login",
        &[
            ("user", "student"),
            ("password", "cgikit"),
            ("csrf_token", TOKEN),
        ],
        "",
    )
    .var("HTTPS", "on")
    .var("HTTP_COOKIE", format!("__Host-cgikit_csrf={TOKEN}"))
    .run();
    let response = outcome.response();
    assert_eq!(response.status, 303, "{}", outcome.dump());
    let line = response
        .header_all("set-cookie")
        .into_iter()
        .find(|line| line.starts_with("__Host-cgikit_session="))
        .expect("a __Host- session cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            line.split("; ").any(|part| part == attribute),
            "{attribute}: {line}"
        );
    }
}

#[test]
fn planted_unsigned_and_foreign_sessions_sign_nobody_in() {
    let (response, _) = sign_in();
    let real = cookie_value(&response, "cgikit_session")
        .unwrap()
        .to_owned();
    let planted = [
        // The old example's file-named ids: nothing on disk means anything here.
        "session=ffffffffffffffffffffffffffffffff".to_owned(),
        "cgikit_session=ffffffffffffffffffffffffffffffff".to_owned(),
        // A session written by hand, unsigned or with the signature of another value.
        "cgikit_session=9999999999.user=root.".to_owned(),
        format!(
            "cgikit_session={}",
            real.replace("user=student", "user=root")
        ),
        format!(
            "cgikit_session={}",
            real.replacen(|c: char| c.is_ascii_digit(), "9", 1)
        ),
    ];
    for cookie in &planted {
        let (page, outcome) = page_with(cookie);
        assert_eq!(page.status, 200, "{}", outcome.dump());
        assert_eq!(signed_in_as(&page), None, "{cookie}");
    }
    // The real cookie, under another secret: nobody.
    let outcome = get("")
        .var("CGIKIT_SESSION_SECRET", NEW_SECRET)
        .var("HTTP_COOKIE", format!("cgikit_session={real}"))
        .run();
    assert_eq!(signed_in_as(&outcome.response()), None);
    // ... and under the right one: the student.
    let (page, _) = page_with(&format!("cgikit_session={real}"));
    assert_eq!(signed_in_as(&page).as_deref(), Some("student"));
}

#[test]
fn sessions_expire_on_the_servers_clock() {
    let outcome = post(
        "/login",
        &[
            ("user", "student"),
            ("password", "cgikit"),
            ("csrf_token", TOKEN),
        ],
        "",
    )
    .var("CGIKIT_SESSION_MAX_AGE", "1")
    .run();
    let response = outcome.response();
    let session = cookie_value(&response, "cgikit_session")
        .unwrap()
        .to_owned();
    let (page, _) = page_with(&format!("cgikit_session={session}"));
    assert_eq!(signed_in_as(&page).as_deref(), Some("student"));
    // A browser that ignores Max-Age and sends it later gets nothing.
    std::thread::sleep(Duration::from_millis(2100));
    let (page, outcome) = page_with(&format!("cgikit_session={session}"));
    assert_eq!(signed_in_as(&page), None, "{}", outcome.dump());
    assert_eq!(cookie_value(&page, "cgikit_session"), Some(""), "deleted");
}

fn secret_file(dir: &Path, content: &str, mode: u32) -> std::path::PathBuf {
    let path = dir.join("session-secret");
    fs::write(&path, content).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn the_secret_comes_from_a_private_file_and_rotates() {
    let dir = TempDir::new("sessions-secret");
    let with_file = |script: Script, file: &Path| {
        script
            .without("CGIKIT_SESSION_SECRET")
            .var("CGIKIT_SESSION_SECRET_FILE", file)
    };
    let file = secret_file(dir.path(), &format!("{SECRET}\n"), 0o640);
    let outcome = with_file(
        post(
            "/login",
            &[
                ("user", "student"),
                ("password", "cgikit"),
                ("csrf_token", TOKEN),
            ],
            "",
        ),
        &file,
    )
    .run();
    let response = outcome.response();
    assert_eq!(response.status, 303, "{}", outcome.dump());
    let old = cookie_value(&response, "cgikit_session")
        .unwrap()
        .to_owned();

    // Rotation: the new secret first, the old one kept. Still signed in, and the cookie
    // is signed again with the new secret.
    secret_file(dir.path(), &format!("{NEW_SECRET}\n{SECRET}\n"), 0o600);
    let outcome = with_file(get(""), &file)
        .var("HTTP_COOKIE", format!("cgikit_session={old}"))
        .run();
    let page = outcome.response();
    assert_eq!(
        signed_in_as(&page).as_deref(),
        Some("student"),
        "{}",
        outcome.dump()
    );
    let renewed = cookie_value(&page, "cgikit_session")
        .expect("signed again")
        .to_owned();
    assert_ne!(renewed, old);
    // The old secret removed: the old cookie is worth nothing, the renewed one works.
    secret_file(dir.path(), &format!("{NEW_SECRET}\n"), 0o600);
    let outcome = with_file(get(""), &file)
        .var("HTTP_COOKIE", format!("cgikit_session={old}"))
        .run();
    assert_eq!(signed_in_as(&outcome.response()), None);
    let outcome = with_file(get(""), &file)
        .var("HTTP_COOKIE", format!("cgikit_session={renewed}"))
        .run();
    assert_eq!(
        signed_in_as(&outcome.response()).as_deref(),
        Some("student")
    );

    // Refused, with a line in the log that says why: a file others can read, a short
    // secret, no secret at all.
    for (content, mode, reason) in [
        (
            format!("{SECRET}\n"),
            0o644,
            "is open to other users (mode 644)",
        ),
        ("secret\n".to_owned(), 0o600, "shorter than 32 bytes"),
    ] {
        secret_file(dir.path(), &content, mode);
        let outcome = with_file(get(""), &file).run();
        let response = outcome.response();
        assert_eq!(response.status, 500, "{}", outcome.dump());
        assert!(!response.text().contains("secret"), "{}", outcome.dump());
        assert!(outcome.stderr.contains(reason), "{}", outcome.dump());
    }
    let outcome = get("").without("CGIKIT_SESSION_SECRET").run();
    assert_eq!(outcome.response().status, 500, "{}", outcome.dump());
    assert!(
        outcome
            .stderr
            .contains("sessions need a secret: set CGIKIT_SESSION_SECRET_FILE"),
        "{}",
        outcome.dump()
    );
}

#[test]
fn wrong_passwords_forged_forms_and_no_password_sign_nobody_in() {
    let outcome = post(
        "/login",
        &[
            ("user", "student"),
            ("password", "guess"),
            ("csrf_token", TOKEN),
        ],
        "",
    )
    .run();
    let response = outcome.response();
    assert_eq!(response.status, 401, "{}", outcome.dump());
    assert!(
        response.text().contains("Wrong name or password."),
        "{}",
        outcome.dump()
    );
    assert!(
        response.text().contains("name=user value=\"student\""),
        "{}",
        outcome.dump()
    );
    assert_eq!(cookie_value(&response, "cgikit_session"), None);

    // The right password without the CSRF cookie: refused before it is checked.
    let outcome = get("/login")
        .post(
            FORM,
            "user=student&password=cgikit&csrf_token=0123456789abcdef0123456789abcdef",
        )
        .run();
    let response = outcome.response();
    assert_eq!(response.status, 403, "{}", outcome.dump());
    assert_eq!(cookie_value(&response, "cgikit_session"), None);

    // Deployed without LOGIN_PASSWORD: no default password, nobody signs in.
    let outcome = post(
        "/login",
        &[
            ("user", "student"),
            ("password", "cgikit"),
            ("csrf_token", TOKEN),
        ],
        "",
    )
    .without("LOGIN_PASSWORD")
    .run();
    let response = outcome.response();
    assert_eq!(response.status, 503, "{}", outcome.dump());
    assert_eq!(cookie_value(&response, "cgikit_session"), None);
    assert!(
        outcome.stderr.contains("LOGIN_PASSWORD is not set"),
        "{}",
        outcome.dump()
    );
}

#[test]
fn remote_user_is_trusted_only_when_configured() {
    for untrusted in [None, Some("0"), Some("yes")] {
        let mut script = get("").var("REMOTE_USER", "mallory");
        if let Some(value) = untrusted {
            script = script.var("LOGIN_TRUST_REMOTE_USER", value);
        }
        let outcome = script.run();
        assert_eq!(signed_in_as(&outcome.response()), None, "{untrusted:?}");
    }
    let outcome = get("")
        .var("REMOTE_USER", "mallory")
        .var("LOGIN_TRUST_REMOTE_USER", "1")
        .run();
    assert_eq!(
        signed_in_as(&outcome.response()).as_deref(),
        Some("mallory")
    );
}

// ---------------------------------------------------------------------------------------
// The settings example: Form<Contextual<T>>, Flash, a file saved whole
// ---------------------------------------------------------------------------------------

fn settings_request(file: &Path) -> Script {
    Script::example("settings", &EXAMPLES)
        .timeout(Duration::from_secs(20))
        .cgi_get("", "")
        .var("CGIKIT_SESSION_SECRET", SECRET)
        .var("SETTINGS_FILE", file)
}

fn settings_post(file: &Path, fields: &[(&str, &str)]) -> Outcome {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .append_pair("csrf_token", TOKEN)
        .finish();
    settings_request(file)
        .post(FORM, body)
        .var("HTTP_COOKIE", format!("cgikit_csrf={TOKEN}"))
        .run()
}

#[test]
fn settings_keep_the_input_with_a_message_per_field() {
    let dir = TempDir::new("settings-errors");
    let file = dir.path().join("settings.txt");
    let outcome = settings_post(
        &file,
        &[
            ("title", " "),
            ("items_per_page", "abc"),
            ("contact", "nobody"),
            ("theme", "purple"),
        ],
    );
    let response = outcome.response();
    assert_eq!(response.status, 422, "{}", outcome.dump());
    let page = response.text();
    for message in [
        "<p class=error id=title-error>Site title is required.</p>",
        "<p class=error id=items_per_page-error>Items per page must be a whole number.</p>",
        "<p class=error id=contact-error>Contact email must be an email address.</p>",
        "<p class=error id=theme-error>Theme is not one of the choices.</p>",
    ] {
        assert!(page.contains(message), "{message}\n{page}");
    }
    assert!(
        page.contains("name=items_per_page inputmode=numeric value=\"abc\" class=invalid"),
        "{page}"
    );
    assert!(page.contains("value=\"nobody\""), "{page}");
    assert!(!file.exists(), "nothing is saved");
    // A blank number is required; one out of range gets the script's own message.
    for (value, message) in [
        ("", "is required"),
        ("0", "must be from 1 to 500"),
        ("70000", "must be at most 65535"),
    ] {
        let outcome = settings_post(
            &file,
            &[
                ("title", "T"),
                ("items_per_page", value),
                ("contact", "a@b"),
                ("theme", "dark"),
            ],
        );
        assert_eq!(outcome.response().status, 422, "{}", outcome.dump());
        assert!(
            outcome
                .response()
                .text()
                .contains(&format!("Items per page {message}.")),
            "{value}: {}",
            outcome.dump()
        );
    }
}

#[test]
fn settings_saved_then_shown_with_a_message_once() {
    let dir = TempDir::new("settings-saved");
    let file = dir.path().join("settings.txt");
    // First visit: the defaults.
    let outcome = settings_request(&file).run();
    let page = outcome.response();
    assert_eq!(page.status, 200, "{}", outcome.dump());
    assert!(
        page.text().contains("value=\"My site\""),
        "{}",
        outcome.dump()
    );

    let outcome = settings_post(
        &file,
        &[
            ("title", "Club <news>"),
            ("items_per_page", "50"),
            ("contact", "ada@example.com"),
            ("theme", "dark"),
            ("public", "on"),
        ],
    );
    let response = outcome.response();
    assert_eq!(response.status, 303, "{}", outcome.dump());
    assert_eq!(response.header("location"), Some("/cgi-bin/settings"));
    let flash = cookie_value(&response, "cgikit_flash")
        .expect("a message")
        .to_owned();
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        "title=Club+%3Cnews%3E&items_per_page=50&contact=ada%40example.com&theme=dark&public=on\n"
    );
    assert!(
        !dir.path().join("settings.new").exists(),
        "the temporary file is renamed"
    );

    let outcome = settings_request(&file)
        .var("HTTP_COOKIE", format!("cgikit_flash={flash}"))
        .run();
    let page = outcome.response();
    let text = page.text();
    assert!(
        text.contains("<p class=success>Settings saved.</p>"),
        "{text}"
    );
    assert!(text.contains("value=\"Club &lt;news&gt;\""), "{text}");
    assert!(text.contains("<option selected>dark</option>"), "{text}");
    assert!(text.contains("type=checkbox checked>"), "{text}");
    assert_eq!(cookie_value(&page, "cgikit_flash"), Some(""), "shown once");

    // A forged save changes nothing.
    let outcome = settings_request(&file)
        .post(FORM, "title=Evil&items_per_page=1&contact=e@e&theme=dark")
        .run();
    assert_eq!(outcome.response().status, 403, "{}", outcome.dump());
    assert!(fs::read_to_string(&file).unwrap().starts_with("title=Club"));
}
