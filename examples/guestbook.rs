//! The admin-form classic: a guestbook. GET shows the form and the entries; POST validates
//! the form (422 with the message shown back in the form), appends the entry, and answers
//! with a 303 redirect to the page (post/redirect/get), so a reload does not post twice.
//!
//! What it teaches:
//! - `Form<T>` with validation, and the rejection handled by the page (`Result<Form<T>, _>`);
//! - escaping everything that came from a visitor (`cgi::html::escape`);
//! - protection against cross-site request forgery (`cgi::Csrf`);
//! - storage that is safe when the server runs several copies of the script at once: each
//!   entry is one line appended under an exclusive file lock, read under a shared lock.
//!
//! The entries live in the file named by `GUESTBOOK_FILE`, else `cgikit-guestbook.txt` in
//! the temporary directory (`TMPDIR`, else `/tmp`). Set it in the server's configuration
//! (Apache: `SetEnv GUESTBOOK_FILE /var/lib/guestbook.txt`), somewhere the server's user
//! can write. Run as FastCGI or SCGI, the program reads it from its own environment
//! (lighttpd: `bin-environment`; a service: systemd's `Environment=`).
//!
//! Try it: `cargo run --example guestbook -- --serve`, then open http://127.0.0.1:8000/.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use cgi::html::escape;
use cgi::http::Uri;
use cgi::{Csrf, Form, FormRejection, Html, IntoResponse, Method, Redirect, Response, StatusCode};

#[derive(serde::Deserialize)]
struct Entry {
    name: String,
    message: String,
    csrf_token: String,
}

/// One stored entry: `name` and `message` as one urlencoded line, with its time.
struct Stored {
    name: String,
    message: String,
    seconds: u64,
}

#[cgi::main(max_body = 16 * 1024)]
fn guestbook(
    method: Method,
    uri: Uri,
    csrf: Csrf,
    form: Result<Form<Entry>, FormRejection>,
) -> Result<Response, cgi::Error> {
    if method != Method::POST {
        return page(&csrf, StatusCode::OK, "", "", "");
    }
    let Form(entry) = match form {
        Ok(form) => form,
        Err(rejection) => return page(&csrf, rejection.status(), &rejection.to_string(), "", ""),
    };
    csrf.verify(&entry.csrf_token)?;
    let (name, message) = (entry.name.trim(), entry.message.trim());
    let problem = match (name.chars().count(), message.chars().count()) {
        (0, _) => "Please give your name.",
        (81.., _) => "Your name is longer than 80 characters.",
        (_, 0) => "Please write a message.",
        (_, 2001..) => "Your message is longer than 2000 characters.",
        _ => "",
    };
    if !problem.is_empty() {
        return page(
            &csrf,
            StatusCode::UNPROCESSABLE_ENTITY,
            problem,
            name,
            message,
        );
    }
    append(name, message)?;
    Ok(Redirect::to(uri.path()).into_response())
}

fn page(
    csrf: &Csrf,
    status: StatusCode,
    problem: &str,
    name: &str,
    message: &str,
) -> Result<Response, cgi::Error> {
    let mut html = String::from(
        "<!DOCTYPE html>\n<meta charset=utf-8>\n<title>Guestbook</title>\n<h1>Guestbook</h1>\n",
    );
    if !problem.is_empty() {
        html.push_str(&format!(
            "<p class=problem><strong>{}</strong></p>\n",
            escape(problem)
        ));
    }
    html.push_str(&format!(
        "<form method=post>\n{}\n<p><label>Name <input name=name maxlength=80 value=\"{}\"></label>\n\
         <p><label>Message <textarea name=message maxlength=2000>{}</textarea></label>\n\
         <p><button>Sign</button>\n</form>\n",
        csrf.hidden_input(),
        escape(name),
        escape(message),
    ));
    let entries = read_all()?;
    html.push_str(&format!("<h2>{} entries</h2>\n", entries.len()));
    for entry in entries.iter().rev() {
        html.push_str(&format!(
            "<article><h3>{}</h3><p>{}</p><small>{}</small></article>\n",
            escape(&entry.name),
            escape(&entry.message).replace('\n', "<br>"),
            entry.seconds,
        ));
    }
    let mut response = (status, Html(html)).into_response();
    if let Some(cookie) = csrf.cookie() {
        response.add_cookie(cookie);
    }
    Ok(response)
}

fn data_file() -> PathBuf {
    std::env::var_os("GUESTBOOK_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("cgikit-guestbook.txt"))
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
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_file())?;
    file.lock()?;
    // One write of the whole line, in append mode: it lands at the end, whole.
    file.write_all(line.as_bytes())?;
    file.unlock()
}

fn read_all() -> io::Result<Vec<Stored>> {
    let mut file = match File::open(data_file()) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    file.lock_shared()?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
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
