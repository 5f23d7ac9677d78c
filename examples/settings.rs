//! A settings page: the one-off admin form. GET shows the stored settings in a form; POST
//! checks every field, shows the form again with what was typed and a message beside
//! each field that is wrong (422), or saves and redirects with a "Settings saved."
//! message (post/redirect/get).
//!
//! What it teaches:
//! - `Form<Contextual<T>>`: typed fields (a number, a checkbox, a choice) whose errors are
//!   shown to people ("Items per page must be a whole number") with their input kept;
//!   checks of your own with `add_error`;
//! - `Contextual::from_inputs` to show what is stored;
//! - `Flash` (feature `sessions`) for the message after the redirect, `Csrf` for the form;
//! - saving a file whole or not at all: written beside it, then renamed over it, under a
//!   lock, so two admins saving at once never leave half a file.
//!
//! The settings live in the file named by `SETTINGS_FILE` (Apache: `SetEnv SETTINGS_FILE
//! /var/lib/myapp/settings.txt`). Without it, `settings.txt` in a directory of the
//! script's own in the temporary directory (mode 0700): for trying it out only.
//!
//! Try it: `cargo run --example settings --features sessions -- --serve`, then open
//! http://127.0.0.1:8000/.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use cgi::html::escape;
use cgi::{
    Contextual, Csrf, Flash, Form, Html, IntoResponse, Method, Redirect, Request, Response,
    StatusCode,
};

#[derive(serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // the choices the form accepts; the page reads them as text
enum Theme {
    Light,
    Dark,
}

/// What the form sends; `Contextual` checks each field against its type.
#[derive(serde::Deserialize)]
#[allow(dead_code)] // stored as typed; the types are the checks
struct Settings {
    title: String,
    items_per_page: u16,
    contact: String,
    theme: Theme,
    /// A checkbox: absent when unticked.
    #[serde(default)]
    public: bool,
}

/// The fields, in the form's order: name, label, kind.
const FIELDS: [(&str, &str, Kind); 5] = [
    ("title", "Site title", Kind::Text),
    ("items_per_page", "Items per page", Kind::Number),
    ("contact", "Contact email", Kind::Email),
    ("theme", "Theme", Kind::Choice(&["light", "dark"])),
    ("public", "Visible to everyone", Kind::Checkbox),
];

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Number,
    Email,
    Choice(&'static [&'static str]),
    Checkbox,
}

#[cgi::main(max_body = 8192)]
fn settings(
    method: Method,
    request_home: Home,
    csrf: Csrf,
    flash: Flash,
    Form(mut form): Form<Contextual<Settings>>,
) -> Result<Response, cgi::Error> {
    if method != Method::POST {
        let stored = Contextual::from_inputs(load()?);
        return Ok(page(&csrf, &flash, StatusCode::OK, &stored));
    }
    csrf.verify(form.input("csrf_token"))?;
    let title = form.input("title").trim().chars().count();
    if title == 0 {
        form.add_error("title", "is required");
    } else if title > 60 {
        form.add_error("title", "must be at most 60 characters");
    }
    if !form.input("contact").contains('@') {
        form.add_error("contact", "must be an email address");
    }
    if form
        .input("items_per_page")
        .parse::<u16>()
        .is_ok_and(|n| n == 0 || n > 500)
    {
        form.add_error("items_per_page", "must be from 1 to 500");
    }
    if !form.is_valid() {
        return Ok(page(&csrf, &flash, StatusCode::UNPROCESSABLE_ENTITY, &form));
    }
    save(&form)?;
    flash.success("Settings saved.");
    Ok(Redirect::to(&request_home.0).into_response())
}

/// The script's own path (`SCRIPT_NAME`), to redirect to.
struct Home(String);

impl cgi::FromRequestParts for Home {
    type Rejection = std::convert::Infallible;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        let script = request.script_name().unwrap_or("");
        Ok(Home(format!("/{}", script.trim_start_matches(['/', '\\']))))
    }
}

fn page(csrf: &Csrf, flash: &Flash, status: StatusCode, form: &Contextual<Settings>) -> Response {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=en>\n<meta charset=utf-8>\n<title>Settings</title>\n\
         <style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem}\
         label{display:block;font-weight:600;margin-top:.75rem}input:not([type=checkbox]),select{width:100%;\
         font:inherit;padding:.3rem}.error{color:#b00020;margin:.2rem 0}.invalid{border:2px solid #b00020}\
         .success{background:#e6f4ea;padding:.5rem .75rem;border-radius:6px}</style>\n<h1>Settings</h1>\n",
    );
    if let Some(message) = flash.take() {
        html.push_str(&format!(
            "<p class={}>{}</p>\n",
            escape(&message.kind),
            escape(&message.text)
        ));
    }
    html.push_str("<form method=post>\n");
    html.push_str(&csrf.hidden_input());
    for (name, label, kind) in FIELDS {
        let value = escape(form.input(name)).into_owned();
        let invalid = if form.error(name).is_some() {
            " class=invalid"
        } else {
            ""
        };
        html.push_str(&format!("\n<label for={name}>{label}</label>\n"));
        html.push_str(&match kind {
            Kind::Text => format!("<input id={name} name={name} value=\"{value}\"{invalid}>"),
            Kind::Number => format!(
                "<input id={name} name={name} inputmode=numeric value=\"{value}\"{invalid}>"
            ),
            Kind::Email => {
                format!("<input id={name} name={name} type=email value=\"{value}\"{invalid}>")
            }
            Kind::Choice(choices) => {
                let options: String = choices
                    .iter()
                    .map(|choice| {
                        let selected = if form.input(name) == *choice {
                            " selected"
                        } else {
                            ""
                        };
                        format!("<option{selected}>{choice}</option>")
                    })
                    .collect();
                format!("<select id={name} name={name}{invalid}>{options}</select>")
            }
            Kind::Checkbox => {
                let checked = if form.input(name).is_empty() {
                    ""
                } else {
                    " checked"
                };
                format!("<input id={name} name={name} type=checkbox{checked}>")
            }
        });
        if let Some(error) = form.error(name) {
            html.push_str(&format!(
                "\n<p class=error id={name}-error>{label} {}.</p>",
                escape(error)
            ));
        }
    }
    html.push_str("\n<p><button>Save</button>\n</form>\n");
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(
        "cache-control",
        cgi::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// The stored settings as form inputs; the defaults when nothing is stored yet.
fn load() -> io::Result<Vec<(String, String)>> {
    let path = data_file()?;
    match fs::read_to_string(&path) {
        Ok(text) => Ok(form_urlencoded::parse(text.trim_end().as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok([
            ("title", "My site"),
            ("items_per_page", "20"),
            ("contact", "webmaster@example.com"),
            ("theme", "light"),
        ]
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()),
        Err(error) => Err(about(&path, "cannot read", error)),
    }
}

/// Writes the settings whole: into a new file beside the real one, flushed to disk, then
/// renamed over it. Under a lock, so two saves at once do not share the temporary file.
fn save(form: &Contextual<Settings>) -> io::Result<()> {
    let mut line = form_urlencoded::Serializer::new(String::new());
    for (name, _, _) in FIELDS {
        let value = form.input(name);
        if !value.is_empty() {
            line.append_pair(name, value.trim());
        }
    }
    let line = line.finish() + "\n";
    let path = data_file()?;
    let lock_path = path.with_extension("lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|error| about(&lock_path, "cannot open", error))?;
    lock.lock()?;
    let temporary = path.with_extension("new");
    let mut file =
        File::create(&temporary).map_err(|error| about(&temporary, "cannot write", error))?;
    file.write_all(line.as_bytes())?;
    file.sync_all()?;
    fs::rename(&temporary, &path).map_err(|error| about(&path, "cannot replace", error))?;
    lock.unlock()
}

/// `SETTINGS_FILE`, or `settings.txt` in a 0700 directory of this user's.
fn data_file() -> io::Result<PathBuf> {
    if let Some(file) = std::env::var_os("SETTINGS_FILE") {
        return Ok(PathBuf::from(file));
    }
    let me = fs::metadata("/proc/self")?.uid();
    let directory = std::env::temp_dir().join(format!("cgikit-settings-{me}"));
    match fs::DirBuilder::new().mode(0o700).create(&directory) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(about(&directory, "cannot create", error)),
    }
    let metadata = fs::symlink_metadata(&directory)?;
    if !metadata.is_dir() || metadata.uid() != me || metadata.mode() & 0o077 != 0 {
        return Err(about(
            &directory,
            "refusing to use",
            io::Error::other("not a directory of this user's, closed to others (0700)"),
        ));
    }
    Ok(directory.join("settings.txt"))
}

/// An I/O error that names the file, for the server's error log.
fn about(path: &Path, doing: &str, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{doing} {}: {error}", path.display()))
}
