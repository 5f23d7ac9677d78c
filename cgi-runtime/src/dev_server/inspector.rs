//! The inspector: pages under [`PREFIX`] on the development server that show, for each
//! recent request, what the script received (its CGI variables and standard input) and
//! what it did (its standard error, the raw head of its response, how long it took): the
//! protocol, visible in the browser.
//!
//! Memory stays bounded whatever the traffic: the last [`KEPT_EXCHANGES`] requests, the
//! first [`KEPT_STDIN`] bytes of each body, [`KEPT_STDERR_LINES`] lines of standard error
//! of [`KEPT_LINE`] bytes each, [`KEPT_HEAD`] bytes of each response head, and variables of
//! [`KEPT_VALUE`] bytes each. Everything shown is HTML-escaped; the pages need no script.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::html::escape;

/// Where the inspector lives; requests under it never reach the script.
pub(crate) const PREFIX: &str = "/_cgi/";
/// How many requests the inspector remembers.
pub(crate) const KEPT_EXCHANGES: usize = 50;
/// How much of each request body it keeps.
pub(crate) const KEPT_STDIN: usize = 8 * 1024;
/// How many lines of a script's standard error it keeps per run.
pub(crate) const KEPT_STDERR_LINES: usize = 200;
/// How much of each of those lines.
pub(crate) const KEPT_LINE: usize = 2 * 1024;
/// How much of each response head.
pub(crate) const KEPT_HEAD: usize = 8 * 1024;
/// How much of each variable's value.
pub(crate) const KEPT_VALUE: usize = 4 * 1024;

/// Whether `target` is the inspector's, not the script's: [`PREFIX`], anything under it,
/// and the prefix without its slash.
pub(crate) fn is_inspector_path(target: &str) -> bool {
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    path.starts_with(PREFIX) || path == PREFIX.trim_end_matches('/')
}

/// One request, as the inspector shows it.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub(crate) id: u64,
    pub(crate) started: SystemTime,
    pub(crate) method: String,
    pub(crate) target: String,
    /// The status the client got.
    pub(crate) status: u16,
    pub(crate) elapsed: Duration,
    /// Why the development server answered itself (a malformed script response, a header
    /// name it refused...), if it did.
    pub(crate) problem: Option<String>,
    /// One per run of the script: a local redirect runs it again.
    pub(crate) runs: Vec<Run>,
}

impl Exchange {
    pub(crate) fn new(id: u64, method: &str, target: &str) -> Self {
        Exchange {
            id,
            started: SystemTime::now(),
            method: method.to_owned(),
            target: target.to_owned(),
            status: 0,
            elapsed: Duration::ZERO,
            problem: None,
            runs: Vec::new(),
        }
    }
}

/// One run of the script.
#[derive(Debug)]
pub(crate) struct Run {
    /// The child's environment, sorted, values cut at [`KEPT_VALUE`] bytes.
    pub(crate) variables: Vec<(String, String)>,
    pub(crate) stdin: Capture,
    pub(crate) stderr: Arc<StderrLines>,
    /// The head of the script's response, as written (cut at [`KEPT_HEAD`] bytes).
    pub(crate) head: String,
    /// The bytes after the head.
    pub(crate) body_length: usize,
    /// How the child ended (`exit status: 0`, `signal: 9`...).
    pub(crate) exit: String,
    pub(crate) elapsed: Duration,
}

impl Run {
    /// `variables` as the child got them, sorted and cut for keeping.
    pub(crate) fn variables(
        vars: &[(std::ffi::OsString, std::ffi::OsString)],
    ) -> Vec<(String, String)> {
        let mut variables: Vec<(String, String)> = vars
            .iter()
            .map(|(name, value)| {
                let mut value = value.to_string_lossy().into_owned();
                cut(&mut value, KEPT_VALUE);
                (name.to_string_lossy().into_owned(), value)
            })
            .collect();
        variables.sort();
        variables
    }

    /// The head of `raw`, the script's whole output: up to its blank line, or what there
    /// is when it has none.
    pub(crate) fn head(raw: &[u8]) -> (String, usize) {
        let (head, body_length) = match crate::host::cgi_output::split_head(raw) {
            Some((head, body)) => (head, body.len()),
            None => (raw, 0),
        };
        let mut text = String::from_utf8_lossy(&head[..head.len().min(KEPT_HEAD)]).into_owned();
        if head.len() > KEPT_HEAD {
            text.push_str("\n[...]");
        }
        (text, body_length)
    }
}

/// The first bytes of a stream, and how long it was.
#[derive(Debug, Default)]
pub(crate) struct Capture {
    pub(crate) kept: Vec<u8>,
    pub(crate) total: u64,
    /// Why the stream ended early, if it did.
    pub(crate) error: Option<String>,
}

impl Capture {
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let room = KEPT_STDIN.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.total += bytes.len() as u64;
    }
}

/// A script's standard error, by line, filled by the thread that reads it, possibly after
/// the response is out (a grandchild may hold the pipe open).
#[derive(Debug, Default)]
pub(crate) struct StderrLines {
    state: Mutex<StderrState>,
    ended: Condvar,
}

#[derive(Debug, Default)]
struct StderrState {
    lines: Vec<String>,
    /// Lines that came after [`KEPT_STDERR_LINES`].
    dropped: usize,
    /// The end of the output, not yet ended by a line feed.
    partial: Vec<u8>,
    ended: bool,
}

impl StderrLines {
    /// Adds what the script wrote.
    pub(crate) fn push(&self, bytes: &[u8]) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        for piece in bytes.split_inclusive(|&byte| byte == b'\n') {
            let room = KEPT_LINE.saturating_sub(state.partial.len());
            let text = piece.strip_suffix(b"\n").unwrap_or(piece);
            state
                .partial
                .extend_from_slice(&text[..text.len().min(room)]);
            if piece.ends_with(b"\n") {
                state.end_line();
            }
        }
    }

    /// The script closed its standard error.
    pub(crate) fn end(&self) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if !state.partial.is_empty() {
            state.end_line();
        }
        state.ended = true;
        self.ended.notify_all();
    }

    /// Waits at most `limit` for [`end`](Self::end): once the child has exited its last
    /// lines are a read away.
    pub(crate) fn wait_end(&self, limit: Duration) {
        let state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let _ = self
            .ended
            .wait_timeout_while(state, limit, |state| !state.ended);
    }

    pub(crate) fn snapshot(&self) -> (Vec<String>, usize) {
        let state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let mut lines = state.lines.clone();
        if !state.partial.is_empty() {
            lines.push(String::from_utf8_lossy(&state.partial).into_owned());
        }
        (lines, state.dropped)
    }
}

impl StderrState {
    fn end_line(&mut self) {
        let line = String::from_utf8_lossy(&self.partial).into_owned();
        self.partial.clear();
        if self.lines.len() < KEPT_STDERR_LINES {
            self.lines.push(line);
        } else {
            self.dropped += 1;
        }
    }
}

/// The recent requests, newest last.
#[derive(Debug, Default)]
pub(crate) struct Inspector {
    last_id: AtomicU64,
    exchanges: Mutex<VecDeque<Exchange>>,
}

impl Inspector {
    /// A number for a new request, from 1.
    pub(crate) fn next_id(&self) -> u64 {
        self.last_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Keeps `exchange`, forgetting the oldest beyond [`KEPT_EXCHANGES`].
    pub(crate) fn keep(&self, exchange: Exchange) {
        let mut exchanges = self
            .exchanges
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if exchanges.len() == KEPT_EXCHANGES {
            exchanges.pop_front();
        }
        exchanges.push_back(exchange);
    }

    /// The page for `target` (under [`PREFIX`]): the list, one request, or a 404.
    pub(crate) fn page(&self, target: &str) -> (u16, String) {
        let path = target.split_once('?').map_or(target, |(path, _)| path);
        let rest = path.strip_prefix(PREFIX).unwrap_or("");
        let exchanges = self
            .exchanges
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if rest.is_empty() {
            return (200, list_page(&exchanges));
        }
        let found = rest
            .parse::<u64>()
            .ok()
            .and_then(|id| exchanges.iter().find(|exchange| exchange.id == id));
        match found {
            Some(exchange) => (200, exchange_page(exchange)),
            None => (404, not_found_page(rest)),
        }
    }
}

/// The link to one request's page.
pub(crate) fn link(id: u64) -> String {
    format!("{PREFIX}{id}")
}

const STYLE: &str = "body{font:15px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:70em;padding:0 1em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;vertical-align:top;padding:.2em .6em;border-bottom:1px solid #eee}\
th{white-space:nowrap}td{word-break:break-all}\
pre{background:#f6f6f6;border:1px solid #ddd;padding:.6em;white-space:pre-wrap;word-break:break-all}\
.s2{color:#1a7f37}.s3{color:#0550ae}.s4{color:#9a6700}.s5{color:#cf222e}.note{color:#666}\
.problem{background:#fff0f0;border:1px solid #f3b;padding:.6em}";

fn page(title: &str, content: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=en>\n<meta charset=utf-8>\n<title>{}</title>\n\
         <style>{STYLE}</style>\n{content}",
        escape(title)
    )
}

fn list_page(exchanges: &VecDeque<Exchange>) -> String {
    let mut html = String::from(
        "<h1>CGI inspector</h1>\n<p class=note>The development server ran the script as a \
         CGI program for each request below (newest first; the last 50 are kept). Pick one to \
         see the variables and input the script received, what it wrote to standard error, \
         and the head of its response. Paths under /_cgi/ are this page's and never reach \
         the script (under a real web server they do). <a href=\"/\">Back to the \
         script</a>.</p>\n",
    );
    if exchanges.is_empty() {
        html.push_str("<p>No request yet: open <a href=\"/\">the script</a>.</p>\n");
        return page("CGI inspector", &html);
    }
    html.push_str(
        "<table>\n<tr><th>#</th><th>time (UTC)</th><th>request</th><th>status</th>\
         <th>runs</th><th>time taken</th></tr>\n",
    );
    for exchange in exchanges.iter().rev() {
        let _ = writeln!(
            html,
            "<tr><td><a href=\"{link}\">{id}</a></td><td>{time}</td>\
             <td><a href=\"{link}\">{method} {target}</a></td>\
             <td class=s{class}>{status}</td><td>{runs}</td><td>{ms} ms</td></tr>",
            link = link(exchange.id),
            id = exchange.id,
            time = time_of_day(exchange.started),
            method = escape(&exchange.method),
            target = escape(&exchange.target),
            class = exchange.status / 100,
            status = exchange.status,
            runs = exchange.runs.len(),
            ms = exchange.elapsed.as_millis(),
        );
    }
    html.push_str("</table>\n");
    page("CGI inspector", &html)
}

fn exchange_page(exchange: &Exchange) -> String {
    let mut html = String::new();
    let _ = writeln!(
        html,
        "<p class=note><a href=\"{PREFIX}\">All requests</a></p>\n\
         <h1>#{id} {method} {target} &rarr; <span class=s{class}>{status}</span></h1>\n\
         <p>At {time} UTC, answered in {ms} ms.</p>",
        id = exchange.id,
        method = escape(&exchange.method),
        target = escape(&exchange.target),
        class = exchange.status / 100,
        status = exchange.status,
        time = time_of_day(exchange.started),
        ms = exchange.elapsed.as_millis(),
    );
    if let Some(problem) = &exchange.problem {
        let _ = writeln!(
            html,
            "<p class=problem>The development server answered {} itself: {}</p>",
            exchange.status,
            escape(problem)
        );
    }
    if exchange.runs.is_empty() {
        html.push_str("<p>The script did not run.</p>\n");
    }
    let count = exchange.runs.len();
    for (index, run) in exchange.runs.iter().enumerate() {
        if count > 1 {
            let why = if index == 0 {
                "the request as the client sent it"
            } else {
                "a GET of the path of the script's local redirect (RFC 3875 §6.2.2)"
            };
            let _ = writeln!(html, "<h2>Run {} of {count}: {why}</h2>", index + 1);
        }
        run_sections(&mut html, run);
    }
    page(&format!("#{} {}", exchange.id, exchange.target), &html)
}

fn run_sections(html: &mut String, run: &Run) {
    let _ = writeln!(
        html,
        "<h2>CGI variables (the script's whole environment)</h2>\n<table>"
    );
    for (name, value) in &run.variables {
        let _ = writeln!(
            html,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(name),
            escape(value)
        );
    }
    html.push_str("</table>\n");

    let stdin = &run.stdin;
    let shown = if stdin.total > stdin.kept.len() as u64 {
        format!(", the first {} shown", stdin.kept.len())
    } else {
        String::new()
    };
    let _ = writeln!(
        html,
        "<h2>Standard input ({} bytes{shown})</h2>",
        stdin.total
    );
    if stdin.total > 0 {
        let _ = writeln!(
            html,
            "<pre class=stdin>{}</pre>",
            escape(&String::from_utf8_lossy(&stdin.kept))
        );
    }
    if let Some(error) = &stdin.error {
        let _ = writeln!(
            html,
            "<p class=problem>Reading the body from the client failed: {}</p>",
            escape(error)
        );
    }

    let (lines, dropped) = run.stderr.snapshot();
    let _ = writeln!(
        html,
        "<h2>Standard error ({} lines; the server's error log)</h2>",
        lines.len() + dropped
    );
    if !lines.is_empty() {
        html.push_str("<pre class=stderr>");
        for line in &lines {
            let _ = writeln!(html, "{}", escape(line));
        }
        if dropped > 0 {
            let _ = writeln!(html, "[{dropped} more lines not kept]");
        }
        html.push_str("</pre>\n");
    }

    let _ = writeln!(
        html,
        "<h2>Response head, as the script wrote it</h2>\n<pre class=head>{}</pre>\n\
         <p>Then {} bytes of body. The script ended ({}) after {} ms.</p>",
        escape(&run.head),
        run.body_length,
        escape(&run.exit),
        run.elapsed.as_millis()
    );
}

fn not_found_page(rest: &str) -> String {
    page(
        "Not in the inspector",
        &format!(
            "<h1>No request {} here</h1>\n<p>The inspector keeps the last {KEPT_EXCHANGES} \
             requests. <a href=\"{PREFIX}\">All requests</a>.</p>\n",
            escape(rest)
        ),
    )
}

/// `HH:MM:SS` of `time`, in UTC.
fn time_of_day(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let of_day = seconds % 86_400;
    format!(
        "{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// Cuts `text` to at most `limit` bytes, at a character boundary, marking the cut.
fn cut(text: &mut String, limit: usize) {
    if text.len() <= limit {
        return;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str("[...]");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(id: u64) -> Exchange {
        let mut exchange = Exchange::new(id, "GET", &format!("/?n={id}"));
        exchange.status = 200;
        exchange
    }

    #[test]
    fn only_the_inspector_paths_are_taken_from_the_script() {
        for path in ["/_cgi/", "/_cgi", "/_cgi/7", "/_cgi/?x=1", "/_cgi?x"] {
            assert!(is_inspector_path(path), "{path}");
        }
        for path in ["/", "/_cgikit", "/x/_cgi/", "/_CGI/", "/?/_cgi/"] {
            assert!(!is_inspector_path(path), "{path}");
        }
    }

    #[test]
    fn keeps_the_last_requests_only() {
        let inspector = Inspector::default();
        for _ in 0..KEPT_EXCHANGES + 10 {
            let id = inspector.next_id();
            inspector.keep(exchange(id));
        }
        let (status, list) = inspector.page("/_cgi/");
        assert_eq!(status, 200);
        assert_eq!(list.matches("<tr><td><a href=").count(), KEPT_EXCHANGES);
        assert!(list.contains("href=\"/_cgi/60\""), "{list}");
        assert!(list.contains("href=\"/_cgi/11\""), "{list}");
        assert!(!list.contains("href=\"/_cgi/10\""), "{list}");
        // Newest first.
        assert!(list.find("/_cgi/60").unwrap() < list.find("/_cgi/59").unwrap());
        assert_eq!(inspector.page("/_cgi/10").0, 404);
        assert_eq!(inspector.page("/_cgi/11").0, 200);
        assert_eq!(inspector.page("/_cgi/nope").0, 404);
    }

    #[test]
    fn everything_shown_is_escaped() {
        let inspector = Inspector::default();
        let mut exchange = Exchange::new(1, "GET", "/?q=<script>alert(1)</script>");
        exchange.status = 502;
        exchange.problem = Some("<b>bad</b>".into());
        let stderr = Arc::new(StderrLines::default());
        stderr.push(b"greet: <i>oops</i>\n");
        let mut stdin = Capture::default();
        stdin.push(b"a=<x>&b='y'");
        exchange.runs.push(Run {
            variables: vec![("HTTP_X_TEST".into(), "<img src=x onerror=alert(1)>".into())],
            stdin,
            stderr,
            head: "X-Test: <svg>".into(),
            body_length: 0,
            exit: "exit status: 0".into(),
            elapsed: Duration::from_millis(3),
        });
        inspector.keep(exchange);
        for target in ["/_cgi/", "/_cgi/1", "/_cgi/<x>"] {
            let (_, html) = inspector.page(target);
            for raw in ["<script>", "<b>", "<i>", "<img", "<svg>", "<x>", "'y'"] {
                assert!(!html.contains(raw), "{target}: {raw} in {html}");
            }
        }
        let (_, html) = inspector.page("/_cgi/1");
        for escaped in [
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "&lt;b&gt;bad&lt;/b&gt;",
            "greet: &lt;i&gt;oops&lt;/i&gt;",
            "&lt;img src=x onerror=alert(1)&gt;",
            "a=&lt;x&gt;&amp;b=&#39;y&#39;",
            "X-Test: &lt;svg&gt;",
        ] {
            assert!(html.contains(escaped), "{escaped} missing from {html}");
        }
    }

    #[test]
    fn captures_are_bounded() {
        let mut stdin = Capture::default();
        for _ in 0..100 {
            stdin.push(&[b'a'; 1000]);
        }
        assert_eq!(stdin.kept.len(), KEPT_STDIN);
        assert_eq!(stdin.total, 100_000);

        let stderr = StderrLines::default();
        // A line written in two pieces is one line; an overlong one is cut.
        stderr.push(b"first ");
        stderr.push(b"line\n");
        stderr.push(&vec![b'x'; KEPT_LINE * 3]);
        stderr.push(b"\n");
        for index in 0..KEPT_STDERR_LINES {
            stderr.push(format!("line {index}\n").as_bytes());
        }
        stderr.push(b"no line feed at the end");
        stderr.end();
        let (lines, dropped) = stderr.snapshot();
        assert_eq!(lines.len(), KEPT_STDERR_LINES);
        assert_eq!(lines[0], "first line");
        assert_eq!(lines[1].len(), KEPT_LINE);
        assert_eq!(dropped, 3);

        let mut value = "é".repeat(KEPT_VALUE);
        cut(&mut value, KEPT_VALUE);
        assert!(value.len() <= KEPT_VALUE + 5 && value.ends_with("[...]"));

        let mut raw = b"Status: 200 OK\r\nX-Long: ".to_vec();
        raw.extend(vec![b'v'; KEPT_HEAD * 2]);
        raw.extend_from_slice(b"\r\n\r\nbody");
        let (head, body_length) = Run::head(&raw);
        assert!(
            head.len() <= KEPT_HEAD + 6 && head.ends_with("[...]"),
            "{}",
            head.len()
        );
        assert_eq!(body_length, 4);
        assert_eq!(
            Run::head(b"Status: 204 No Content\r\n\r\n"),
            ("Status: 204 No Content\r\n".to_owned(), 0)
        );
    }

    #[test]
    fn a_page_per_request_with_every_run() {
        let inspector = Inspector::default();
        let mut exchange = exchange(1);
        for location in ["Location: /landed\r\n", "Status: 200 OK\r\n"] {
            exchange.runs.push(Run {
                variables: vec![("REQUEST_METHOD".into(), "GET".into())],
                stdin: Capture::default(),
                stderr: Arc::default(),
                head: location.into(),
                body_length: 0,
                exit: "exit status: 0".into(),
                elapsed: Duration::from_millis(1),
            });
        }
        inspector.keep(exchange);
        let (status, html) = inspector.page("/_cgi/1");
        assert_eq!(status, 200);
        assert!(
            html.contains("Run 1 of 2") && html.contains("Run 2 of 2"),
            "{html}"
        );
        assert!(html.contains("local redirect"), "{html}");
        assert!(
            html.contains("<tr><th>REQUEST_METHOD</th><td>GET</td></tr>"),
            "{html}"
        );
        assert!(html.contains("Standard input (0 bytes)"), "{html}");
    }

    #[test]
    fn times_of_day() {
        assert_eq!(time_of_day(UNIX_EPOCH), "00:00:00");
        assert_eq!(
            time_of_day(UNIX_EPOCH + Duration::from_secs(86_400 * 3 + 3600 * 13 + 60 * 7 + 9)),
            "13:07:09"
        );
    }
}
