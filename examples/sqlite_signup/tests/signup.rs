//! The sign-up list as a web server runs it: the built binary as a CGI process per request
//! (cleared environment, CGI variables, the body on stdin), many at once on one database.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// A directory of this test's own, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("sqlite-signup-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).unwrap();
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Status line, headers and body of one CGI run.
struct Answer {
    status: u16,
    head: String,
    body: String,
    log: String,
}

/// Runs the script once as CGI: a GET, or a POST of `fields` (with a valid CSRF pair).
fn cgi(db: &Path, fields: Option<&[(&str, &str)]>) -> Answer {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sqlite-signup"));
    command
        .env_clear()
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("SCRIPT_NAME", "/cgi-bin/signup")
        .env("SIGNUP_DB", db)
        .env("HTTP_COOKIE", format!("cgikit_csrf={TOKEN}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let body = match fields {
        None => {
            command.env("REQUEST_METHOD", "GET");
            String::new()
        }
        Some(fields) => {
            let mut body = format!("csrf_token={TOKEN}");
            for (name, value) in fields {
                body.push('&');
                body.push_str(name);
                body.push('=');
                body.push_str(&value.replace('@', "%40").replace(' ', "+"));
            }
            command
                .env("REQUEST_METHOD", "POST")
                .env("CONTENT_TYPE", "application/x-www-form-urlencoded")
                .env("CONTENT_LENGTH", body.len().to_string());
            body
        }
    };
    let mut child = command.spawn().expect("the example runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a CGI head");
    let status = head
        .strip_prefix("Status: ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .expect("a Status line first");
    Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
        log: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn two_hundred_concurrent_signups_are_all_kept() {
    const THREADS: usize = 20;
    const EACH: usize = 10;
    let scratch = Scratch::new("concurrent");
    let db = Arc::new(scratch.0.join("signup.sqlite"));
    let workers: Vec<_> = (0..THREADS)
        .map(|thread_index| {
            let db = Arc::clone(&db);
            thread::spawn(move || {
                (0..EACH)
                    .map(|index| {
                        let email = format!("person-{thread_index}-{index}@example.com");
                        let name = format!("Person {thread_index} {index}");
                        let answer = cgi(&db, Some(&[("name", &name), ("email", &email)]));
                        assert_eq!(
                            answer.status, 303,
                            "{}\n{}\n{}",
                            answer.head, answer.body, answer.log
                        );
                        assert!(
                            answer.head.contains("\r\nLocation: /cgi-bin/signup"),
                            "{}",
                            answer.head
                        );
                        email
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut sent = HashSet::new();
    for worker in workers {
        sent.extend(worker.join().expect("a worker"));
    }
    assert_eq!(sent.len(), THREADS * EACH);

    // Every one is in the database, once.
    let page = cgi(&db, None);
    assert_eq!(page.status, 200, "{}", page.log);
    assert!(
        page.body.contains("<h2>200 people have signed up</h2>"),
        "{}",
        page.body
    );
    let db = rusqlite::Connection::open(&*db).unwrap();
    let mut emails = db.prepare("SELECT email FROM signups").unwrap();
    let stored: Vec<String> = emails
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(stored.len(), 200);
    assert_eq!(stored.into_iter().collect::<HashSet<_>>(), sent);
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_wrong_form_comes_back_with_the_input_and_a_message_per_field() {
    let scratch = Scratch::new("errors");
    let db = scratch.0.join("signup.sqlite");
    let answer = cgi(
        &db,
        Some(&[("name", ""), ("email", "nobody"), ("guests", "lots")]),
    );
    assert_eq!(answer.status, 422, "{}", answer.log);
    for message in [
        "<p class=error id=name-error>Name is required.</p>",
        "<p class=error id=email-error>Email must be an email address.</p>",
        "<p class=error id=guests-error>Guests must be a whole number.</p>",
    ] {
        assert!(answer.body.contains(message), "{message}\n{}", answer.body);
    }
    assert!(answer.body.contains("value=\"lots\""), "{}", answer.body);
    assert!(
        answer.body.contains("Nobody has signed up yet"),
        "{}",
        answer.body
    );

    // The same email twice (in another case): the second is refused, kept, explained.
    let first = cgi(
        &db,
        Some(&[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("guests", "1"),
        ]),
    );
    assert_eq!(first.status, 303, "{}", first.log);
    let again = cgi(
        &db,
        Some(&[("name", "Ada <again>"), ("email", "ADA@example.com")]),
    );
    assert_eq!(again.status, 422, "{}", again.log);
    assert!(
        again
            .body
            .contains("<p class=error id=email-error>Email is already on the list.</p>"),
        "{}",
        again.body
    );
    assert!(
        again.body.contains("value=\"Ada &lt;again&gt;\""),
        "{}",
        again.body
    );
    assert!(
        again.body.contains("<h2>1 person has signed up</h2>"),
        "{}",
        again.body
    );
}

#[test]
fn a_forged_post_stores_nothing() {
    let scratch = Scratch::new("forged");
    let db = scratch.0.join("signup.sqlite");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sqlite-signup"))
        .env_clear()
        .env("REQUEST_METHOD", "POST")
        .env("SIGNUP_DB", &db)
        .env("CONTENT_TYPE", "application/x-www-form-urlencoded")
        .env("CONTENT_LENGTH", "29")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"name=Eve&email=eve%40evil.com")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("Status: 403"));
    let page = cgi(&db, None);
    assert!(
        page.body.contains("Nobody has signed up yet"),
        "{}",
        page.body
    );
}
