//! A sign-up list kept in SQLite: the storage one-off admin forms really use. GET shows the
//! form and who signed up; POST checks the form (422 with the input kept and a message per
//! field, or for an email already on the list), stores the sign-up, and redirects
//! (post/redirect/get).
//!
//! What it teaches: the settings SQLite needs when a web server runs several copies of a
//! CGI script at once, each with its own connection:
//! - `journal_mode=WAL`: readers never wait for a writer, and a writer not for readers;
//! - a busy timeout: a writer that finds the database locked waits (up to 5 s) instead of
//!   failing at once with "database is locked";
//! - writes in `BEGIN IMMEDIATE` transactions: the write lock is taken at the start, so two
//!   transactions that read then write cannot deadlock and fail;
//! - `synchronous=NORMAL`: with WAL, a crash of the script or of the server loses nothing
//!   committed (a power cut may lose the last commits, never the database);
//! - a `UNIQUE` constraint does the duplicate check, not a read before the write.
//!
//! The database is the file named by `SIGNUP_DB` (Apache: `SetEnv SIGNUP_DB
//! /var/lib/signup/signup.sqlite`). Its directory must be writable by the server's user:
//! SQLite keeps `-wal` and `-shm` files beside it. Without it, `signup.sqlite` in a directory
//! of the script's own in the temporary directory (mode 0700): for trying it out only.
//!
//! Try it: `cargo run --manifest-path examples/sqlite_signup/Cargo.toml -- --serve`.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::PathBuf;
use std::time::Duration;

use cgi::html::escape;
use cgi::{Contextual, Csrf, Form, Html, IntoResponse, Method, Redirect, Request, Response};
use cgi::{FromRequestParts, StatusCode};
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

/// What the form sends.
#[derive(serde::Deserialize)]
struct Signup {
    name: String,
    email: String,
    #[serde(default)]
    guests: u8,
}

#[cgi::main(max_body = 8192)]
fn signup(
    method: Method,
    home: Home,
    csrf: Csrf,
    Form(mut form): Form<Contextual<Signup>>,
) -> Result<Response, cgi::Error> {
    let mut db = open()?;
    if method != Method::POST {
        return page(&db, &csrf, StatusCode::OK, &Contextual::default());
    }
    csrf.verify(form.input("csrf_token"))?;
    check(&mut form);
    let Some(signup) = form.value() else {
        return page(&db, &csrf, StatusCode::UNPROCESSABLE_ENTITY, &form);
    };
    let transaction = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let inserted = transaction.execute(
        "INSERT INTO signups (name, email, guests, created) VALUES (?1, ?2, ?3, unixepoch())",
        (
            signup.name.trim(),
            signup.email.trim().to_lowercase(),
            signup.guests,
        ),
    );
    match inserted {
        Ok(_) => transaction.commit()?,
        Err(rusqlite::Error::SqliteFailure(error, _))
            if error.code == ErrorCode::ConstraintViolation =>
        {
            drop(transaction);
            form.add_error("email", "is already on the list");
            return page(&db, &csrf, StatusCode::UNPROCESSABLE_ENTITY, &form);
        }
        Err(error) => return Err(error.into()),
    }
    Ok(Redirect::to(&home.0).into_response())
}

/// The checks the types cannot make.
fn check(form: &mut Contextual<Signup>) {
    let name = form.input("name").trim().chars().count();
    if name == 0 {
        form.add_error("name", "is required");
    } else if name > 80 {
        form.add_error("name", "must be at most 80 characters");
    }
    let email = form.input("email").trim();
    if !(3..=254).contains(&email.len()) || !email.contains('@') {
        form.add_error("email", "must be an email address");
    }
    if form
        .input("guests")
        .parse::<u8>()
        .is_ok_and(|guests| guests > 5)
    {
        form.add_error("guests", "must be at most 5");
    }
}

/// Opens the database with the settings concurrent CGI processes need, and the table.
fn open() -> Result<Connection, cgi::Error> {
    let path = database()?;
    let db = Connection::open(&path)?;
    // First: every statement after it waits for a lock instead of failing. (rusqlite's
    // default is the same 5 s; said here because without it, 200 concurrent posts fail.)
    db.busy_timeout(Duration::from_secs(5))?;
    // WAL is remembered in the file; changing it needs a moment alone, so only if needed.
    let mode: String = db.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        db.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        })?;
    }
    db.execute_batch(
        "PRAGMA synchronous = NORMAL;
         CREATE TABLE IF NOT EXISTS signups (
             id INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             email TEXT NOT NULL UNIQUE,
             guests INTEGER NOT NULL DEFAULT 0,
             created INTEGER NOT NULL
         );",
    )?;
    Ok(db)
}

/// `SIGNUP_DB`, or `signup.sqlite` in a 0700 directory of this user's.
fn database() -> io::Result<PathBuf> {
    if let Some(file) = std::env::var_os("SIGNUP_DB") {
        return Ok(PathBuf::from(file));
    }
    let me = fs::metadata("/proc/self")?.uid();
    let directory = std::env::temp_dir().join(format!("cgikit-signup-{me}"));
    match fs::DirBuilder::new().mode(0o700).create(&directory) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(error),
    }
    let metadata = fs::symlink_metadata(&directory)?;
    if !metadata.is_dir() || metadata.uid() != me || metadata.mode() & 0o077 != 0 {
        return Err(io::Error::other(format!(
            "refusing to use {}: not a directory of this user's, closed to others (0700)",
            directory.display()
        )));
    }
    Ok(directory.join("signup.sqlite"))
}

/// The script's own path (`SCRIPT_NAME`), to redirect to.
struct Home(String);

impl FromRequestParts for Home {
    type Rejection = std::convert::Infallible;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        let script = request.script_name().unwrap_or("");
        Ok(Home(format!("/{}", script.trim_start_matches(['/', '\\']))))
    }
}

fn page(
    db: &Connection,
    csrf: &Csrf,
    status: StatusCode,
    form: &Contextual<Signup>,
) -> Result<Response, cgi::Error> {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=en>\n<meta charset=utf-8>\n<title>Sign up</title>\n\
         <style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}\
         label{display:block;font-weight:600;margin-top:.5rem}input{width:100%;font:inherit}\
         .error{color:#b00020;margin:.2rem 0}</style>\n<h1>Sign up</h1>\n<form method=post>\n",
    );
    html.push_str(&csrf.hidden_input());
    for (name, label) in [("name", "Name"), ("email", "Email"), ("guests", "Guests")] {
        html.push_str(&format!(
            "\n<label for={name}>{label}</label>\n<input id={name} name={name} value=\"{}\">",
            escape(form.input(name))
        ));
        if let Some(error) = form.error(name) {
            html.push_str(&format!(
                "\n<p class=error id={name}-error>{label} {}.</p>",
                escape(error)
            ));
        }
    }
    html.push_str("\n<p><button>Sign up</button>\n</form>\n");
    let count: i64 = db.query_row("SELECT count(*) FROM signups", [], |row| row.get(0))?;
    html.push_str(&match count {
        0 => "<h2>Nobody has signed up yet</h2>\n".to_owned(),
        1 => "<h2>1 person has signed up</h2>\n".to_owned(),
        n => format!("<h2>{n} people have signed up</h2>\n"),
    });
    let mut names = db.prepare("SELECT name FROM signups ORDER BY id DESC LIMIT 50")?;
    html.push_str("<ul>\n");
    for name in names.query_map([], |row| row.get::<_, String>(0))? {
        html.push_str(&format!("<li>{}</li>\n", escape(&name?)));
    }
    html.push_str("</ul>\n");
    Ok((status, Html(html)).into_response())
}
