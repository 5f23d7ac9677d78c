//! The admin-form classic: a guestbook. GET shows the form and the entries; POST checks the
//! form and, if something is wrong, shows it again with what the visitor typed and a
//! message beside each field (422); else it stores the entry and answers with a 303
//! redirect to the page (post/redirect/get), so a reload does not post twice.
//!
//! What it teaches:
//! - `Form<Contextual<T>>`: the form comes back filled in, with a message per field;
//! - escaping everything that came from a visitor (`cgi::html::escape`);
//! - protection against cross-site request forgery (`cgi::Csrf`): a form that comes back
//!   without a valid token is shown again, kept, with a fresh token, and nothing stored;
//! - redirecting to the script's own path (`SCRIPT_NAME`), never to a path taken from the
//!   request (`REQUEST_URI` `//evil.example/` would make it an open redirect);
//! - storage that is safe when the server runs several copies of the script at once: each
//!   entry is one line appended under an exclusive file lock, read under a shared lock;
//!   a file that is not a regular file (a FIFO, a device) is refused, never opened.
//!
//! The entries live in the file named by `GUESTBOOK_FILE`. Set it in the server's
//! configuration (Apache: `SetEnv GUESTBOOK_FILE /var/lib/guestbook/entries.txt`), in a
//! directory the server's user can write. Run as FastCGI or SCGI, the program reads it from
//! its own environment (lighttpd: `bin-environment`; systemd: `Environment=`). Without it,
//! the entries go to `entries.txt` in a directory of the script's own in the temporary
//! directory (`cgikit-guestbook-UID`, mode 0700, refused if another user owns it): fine to
//! try it out, not a place to keep anything.
//!
//! Try it: `cargo run --example guestbook -- --serve`, then open http://127.0.0.1:8000/.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use cgi::html::escape;
use cgi::{Contextual, Csrf, Form, Html, IntoResponse, Method, Redirect, Request, Response};
use cgi::{FromRequestParts, StatusCode};

/// What the form sends (besides the CSRF token).
#[derive(serde::Deserialize)]
struct Entry {
    name: String,
    message: String,
}

const MAX_NAME: usize = 80;
const MAX_MESSAGE: usize = 2000;

/// One stored entry.
struct Stored {
    name: String,
    message: String,
    seconds: u64,
}

#[cgi::main(max_body = 16 * 1024)]
fn guestbook(
    method: Method,
    home: Home,
    csrf: Csrf,
    Form(mut form): Form<Contextual<Entry>>,
) -> Result<Response, cgi::Error> {
    if method != Method::POST {
        return page(&csrf, StatusCode::OK, &Contextual::default(), "");
    }
    if let Err(refusal) = csrf.verify(form.input("csrf_token")) {
        // Nothing is stored, but what the visitor typed is not lost: the form comes back
        // with a fresh token.
        eprintln!("guestbook: refused a post: {refusal}");
        let note = "This form had expired. Please check it and sign again.";
        return page(&csrf, StatusCode::FORBIDDEN, &form, note);
    }
    check_lengths(&mut form);
    let Some(entry) = form.value() else {
        return page(&csrf, StatusCode::UNPROCESSABLE_ENTITY, &form, "");
    };
    append(entry.name.trim(), entry.message.trim())?;
    Ok(Redirect::to(&home.0).into_response())
}

/// The checks `Entry`'s types cannot make.
fn check_lengths(form: &mut Contextual<Entry>) {
    for (field, maximum) in [("name", MAX_NAME), ("message", MAX_MESSAGE)] {
        let problem = match form.input(field).trim().chars().count() {
            0 => "is required".to_owned(),
            length if length > maximum => format!("must be at most {maximum} characters"),
            _ => continue,
        };
        form.add_error(field, problem);
    }
}

/// The script's own page, to redirect to: `SCRIPT_NAME`, which the server sets (`/` when
/// the script is the whole site, as under `--serve`). Never from `REQUEST_URI`, which the
/// client chose.
struct Home(String);

impl FromRequestParts for Home {
    type Rejection = std::convert::Infallible;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        let script = request.script_name().unwrap_or("");
        // One leading slash: `//host` would be a link to another site.
        let path = format!("/{}", script.trim_start_matches(['/', '\\']));
        Ok(Home(path))
    }
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;\
padding:0 1rem;color:#222;background:#fafafa}h1{margin-bottom:.25rem}\
form{background:#fff;border:1px solid #ddd;border-radius:8px;padding:1rem 1.25rem}\
label{display:block;font-weight:600;margin:.5rem 0 .25rem}\
input,textarea{width:100%;box-sizing:border-box;font:inherit;padding:.4rem;border:1px solid #bbb;border-radius:4px}\
textarea{min-height:6rem}.invalid{border-color:#b00020;background:#fff6f6}\
.error{color:#b00020;margin:.25rem 0 0}.note{background:#fff3cd;border:1px solid #e0c36a;\
padding:.5rem .75rem;border-radius:6px}\
button{margin-top:.75rem;font:inherit;padding:.4rem 1.2rem;border:0;border-radius:4px;background:#2457c5;color:#fff}\
article{background:#fff;border:1px solid #e4e4e4;border-radius:8px;padding:.75rem 1rem;margin:.75rem 0}\
article h3{margin:0;font-size:1rem}article p{margin:.25rem 0;white-space:pre-wrap}\
time{color:#666;font-size:.875rem}";

fn page(
    csrf: &Csrf,
    status: StatusCode,
    form: &Contextual<Entry>,
    note: &str,
) -> Result<Response, cgi::Error> {
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=en>\n<meta charset=utf-8>\n\
         <meta name=viewport content=\"width=device-width, initial-scale=1\">\n\
         <title>Guestbook</title>\n<style>{STYLE}</style>\n<h1>Guestbook</h1>\n\
         <p>Leave a few words for the next visitor.</p>\n"
    );
    if !note.is_empty() {
        html.push_str(&format!("<p class=note>{}</p>\n", escape(note)));
    }
    html.push_str("<form method=post>\n");
    html.push_str(&csrf.hidden_input());
    html.push('\n');
    for (name, label, maximum) in [
        ("name", "Name", MAX_NAME),
        ("message", "Message", MAX_MESSAGE),
    ] {
        let error = form.error(name);
        let class = if error.is_some() {
            " class=invalid"
        } else {
            ""
        };
        let value = escape(form.input(name));
        html.push_str(&format!("<label for={name}>{label}</label>\n"));
        if name == "message" {
            html.push_str(&format!(
                "<textarea id={name} name={name} maxlength={maximum}{class}>{value}</textarea>\n"
            ));
        } else {
            html.push_str(&format!(
                "<input id={name} name={name} maxlength={maximum} value=\"{value}\"{class}>\n"
            ));
        }
        if let Some(error) = error {
            html.push_str(&format!(
                "<p class=error id={name}-error>{label} {}.</p>\n",
                escape(error)
            ));
        }
    }
    html.push_str("<button>Sign</button>\n</form>\n");
    let entries = read_all()?;
    html.push_str(&format!("<h2>{}</h2>\n", count(entries.len())));
    if entries.is_empty() {
        html.push_str("<p>Nobody has signed yet: be the first.</p>\n");
    }
    for entry in entries.iter().rev() {
        html.push_str(&format!(
            "<article><h3>{}</h3><p>{}</p><time datetime=\"{}\">{}</time></article>\n",
            escape(&entry.name),
            escape(&entry.message),
            iso_8601(entry.seconds),
            human_date(entry.seconds),
        ));
    }
    Ok((status, Html(html)).into_response())
}

/// "No entries", "1 entry", "12 entries".
fn count(entries: usize) -> String {
    match entries {
        0 => "No entries".to_owned(),
        1 => "1 entry".to_owned(),
        n => format!("{n} entries"),
    }
}

/// Where the entries live: `GUESTBOOK_FILE`, or the private default (see the top).
fn data_file() -> io::Result<PathBuf> {
    if let Some(file) = std::env::var_os("GUESTBOOK_FILE") {
        return Ok(PathBuf::from(file));
    }
    // The directory is made 0700 by this user; one that exists already must be a
    // directory (not a link), this user's, and closed to others, or another local user
    // could have planted a file (or a FIFO) in it.
    let me = fs::metadata("/proc/self")?.uid();
    let directory = std::env::temp_dir().join(format!("cgikit-guestbook-{me}"));
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
    Ok(directory.join("entries.txt"))
}

/// An I/O error that names the file, for the server's error log.
fn about(path: &Path, doing: &str, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{doing} {}: {error}", path.display()))
}

/// Refuses anything but a regular file: reading a FIFO would wait for a writer forever.
fn regular(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(metadata) if !metadata.is_file() => Err(about(
            path,
            "refusing to open",
            io::Error::other("not a regular file"),
        )),
        _ => Ok(()),
    }
}

/// Appends one line under an exclusive lock: two scripts running at once never interleave
/// their bytes, and a reader never sees half a line.
fn append(name: &str, message: &str) -> io::Result<()> {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let line = form_urlencoded::Serializer::new(String::new())
        .append_pair("name", name)
        .append_pair("message", message)
        .append_pair("time", &seconds.to_string())
        .finish()
        + "\n";
    let path = data_file()?;
    regular(&path)?;
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|error| about(&path, "cannot append to", error))?;
    file.lock()?;
    // One write of the whole line, in append mode: it lands at the end, whole.
    file.write_all(line.as_bytes())
        .map_err(|error| about(&path, "cannot write to", error))?;
    file.unlock()
}

fn read_all() -> io::Result<Vec<Stored>> {
    let path = data_file()?;
    regular(&path)?;
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(about(&path, "cannot read", error)),
    };
    file.lock_shared()?;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|error| about(&path, "cannot read", error))?;
    file.unlock()?;
    Ok(text
        .lines()
        .map(|line| {
            let mut stored = Stored {
                name: String::new(),
                message: String::new(),
                seconds: 0,
            };
            for (key, value) in form_urlencoded::parse(line.as_bytes()) {
                match &*key {
                    "name" => stored.name = value.into_owned(),
                    "message" => stored.message = value.into_owned(),
                    "time" => stored.seconds = value.parse().unwrap_or(0),
                    _ => {}
                }
            }
            stored
        })
        .collect())
}

/// `2 December 2026, 14:05 UTC`.
fn human_date(seconds: u64) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let (hour, minute) = (seconds % 86_400 / 3600, seconds % 3600 / 60);
    format!(
        "{day} {} {year}, {hour:02}:{minute:02} UTC",
        MONTHS[(month - 1) as usize]
    )
}

/// `2026-12-02T14:05:00Z`, for `<time datetime>`.
fn iso_8601(seconds: u64) -> String {
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let (hour, minute, second) = (seconds % 86_400 / 3600, seconds % 3600 / 60, seconds % 60);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's `civil_from_days`.
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
    (year_of_era + era * 400 + u64::from(month <= 2), month, day)
}
