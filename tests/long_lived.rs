//! Long-lived modes: the built examples run as FastCGI and SCGI servers (`--fastcgi ADDR`,
//! `--scgi ADDR`, or a listening socket handed over on fd 0), each a real process on
//! loopback or on a unix socket in a temporary directory, talked to by the strict clients
//! of `tests/support/gateway_client.rs`.
//!
//! What is checked is the contract of issue 7: the same answers as CGI, bodies and their
//! limits, FCGI_KEEP_CONN, the management records and the rejections (roles, multiplexing,
//! aborts), panics and disconnects that leave the process serving, flat memory over 10^4
//! requests, no temporary files or request state left behind, and a graceful stop on
//! SIGTERM. Each server writes one start line to stderr, from which its address is read.
//!
//! Needs Linux (`/proc/<pid>/status` for memory figures) and `kill`. Every socket read and
//! write has a time limit, and every server is killed and reaped when its test ends.

mod support;

#[path = "support/gateway_client.rs"]
mod gateway_client;

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use gateway_client::{
    ABORT_REQUEST, AUTHORIZER, BEGIN_REQUEST, CANT_MPX_CONN, END_REQUEST, EndRequest, FILTER,
    PARAMS, REQUEST_COMPLETE, RESPONDER, Reply, Request, STDIN, Stream, UNKNOWN_ROLE, UNKNOWN_TYPE,
    decode_pairs, encode_pairs, record_bytes, scgi_exchange, scgi_request_bytes,
};
use support::{Cgi, GENERIC_500, Rules, Script, TempDir, parse_cgi};

/// The examples this file runs.
const EXAMPLES: [&str; 5] = ["hello", "greet", "env", "upload", "fixture_long_lived"];

/// The fixture: see `testing/fixtures/long_lived.rs`.
const FIXTURE: &str = "fixture_long_lived";

/// Every socket read and write; a server that does not answer by then fails the test.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a server may take to write its start line, or to exit once asked.
const START_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// A server process
// ---------------------------------------------------------------------------------------

/// A running example in a long-lived mode; killed and reaped on drop, whatever happened.
struct Server {
    name: String,
    child: Child,
    /// `127.0.0.1:PORT` or `unix:/path`, as the start line gave it.
    address: String,
    /// Every stderr line so far, filled by `stderr_reader`.
    stderr: Arc<Mutex<Vec<String>>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts `name` with `args` and an environment of only `env`, and waits for the start
    /// line `<name>: serving <protocol> on <address> with <N> workers`.
    fn start(name: &str, args: &[&str], env: &[(&str, &str)], protocol: &str) -> Server {
        let mut command = Command::new(support::example(name, &EXAMPLES));
        command
            .args(args)
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::null());
        let mut server = Server::spawn(name, command);
        let line = server.wait_for_line(|line| line.contains(" serving "));
        let lines = server.stderr_lines();
        assert_eq!(
            lines.first(),
            Some(&line),
            "the start line is not the first line:\n{}",
            server.stderr()
        );
        let prefix = format!("{name}: serving {protocol} on ");
        let (address, workers) = line
            .strip_prefix(&prefix)
            .and_then(|rest| rest.rsplit_once(" with "))
            .unwrap_or_else(|| panic!("start line {line:?}, expected {prefix:?}…"));
        let workers = workers
            .strip_suffix(" workers")
            .and_then(|count| count.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("start line {line:?}: no `with <N> workers`"));
        assert!(workers >= 1, "{line:?}");
        if !address.starts_with("unix:") {
            assert!(
                !address.ends_with(":0"),
                "the start line shows port 0, not the real one: {line:?}"
            );
        }
        server.address = address.to_owned();
        server
    }

    /// `name --fastcgi 127.0.0.1:0`, with an empty environment.
    fn fastcgi(name: &str) -> Server {
        Server::start(name, &["--fastcgi", "127.0.0.1:0"], &[], "FastCGI")
    }

    /// `name --scgi 127.0.0.1:0`, with an empty environment.
    fn scgi(name: &str) -> Server {
        Server::start(name, &["--scgi", "127.0.0.1:0"], &[], "SCGI")
    }

    /// Spawns `command` with stderr piped to a reader thread; no start line awaited.
    fn spawn(name: &str, mut command: Command) -> Server {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {name}: {error}"));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let pipe = child.stderr.take().expect("piped stderr");
        let lines = Arc::clone(&stderr);
        let stderr_reader = thread::spawn(move || {
            for line in BufReader::new(pipe).split(b'\n') {
                let Ok(line) = line else { break };
                let line = String::from_utf8_lossy(&line).into_owned();
                lines.lock().expect("the stderr lines").push(line);
            }
        });
        Server {
            name: name.to_owned(),
            child,
            address: String::new(),
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().expect("the stderr lines").clone()
    }

    /// Everything the process wrote to stderr so far, for messages.
    fn stderr(&self) -> String {
        self.stderr_lines().join("\n")
    }

    /// The first stderr line that matches, within [`START_TIMEOUT`].
    fn wait_for_line(&mut self, matches: impl Fn(&str) -> bool) -> String {
        let lines = self.wait_for_stderr("the expected line", |lines| {
            lines.iter().any(|line| matches(line))
        });
        lines
            .into_iter()
            .find(|line| matches(line))
            .expect("a matching line")
    }

    /// The stderr lines once `done` holds for them, within [`START_TIMEOUT`]: a log line
    /// may reach the reader thread after the answer it goes with reached the client.
    fn wait_for_stderr(&mut self, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let started = Instant::now();
        loop {
            let lines = self.stderr_lines();
            if done(&lines) {
                return lines;
            }
            if let Some(status) = self.child.try_wait().expect("polling the server") {
                // What the reader thread still had to collect.
                thread::sleep(Duration::from_millis(50));
                panic!(
                    "{} exited ({status}) before {what}:\n{}",
                    self.name,
                    self.stderr()
                );
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "{} wrote no {what} within {START_TIMEOUT:?}:\n{}",
                self.name,
                self.stderr()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("polling the server").is_none()
    }

    /// Sends SIGTERM.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM {} failed", self.pid());
    }

    /// Waits for the process to exit, within [`START_TIMEOUT`], then for the rest of its
    /// stderr.
    fn wait_for_exit(&mut self) -> ExitStatus {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("polling the server") {
                break status;
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "{} did not exit within {START_TIMEOUT:?}:\n{}",
                self.name,
                self.stderr()
            );
            thread::sleep(Duration::from_millis(5));
        };
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        status
    }

    fn connect(&self) -> Stream {
        Stream::connect(&self.address, IO_TIMEOUT)
            .unwrap_or_else(|error| panic!("connecting to {}: {error}", self.address))
    }

    /// One FastCGI request on a new connection.
    fn fastcgi_request(&self, request: &Request) -> Reply {
        self.connect()
            .request(request)
            .unwrap_or_else(|error| panic!("FastCGI request failed: {error}\n{}", self.stderr()))
    }

    /// One SCGI request on a new connection: the raw answer.
    fn scgi_request(&self, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        scgi_exchange(
            &self.address,
            &scgi_request_bytes(headers, body),
            IO_TIMEOUT,
        )
        .unwrap_or_else(|error| panic!("SCGI request failed: {error}\n{}", self.stderr()))
    }

    /// The resident set size, from /proc.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/<pid>/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmRSS line")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Requests and answers
// ---------------------------------------------------------------------------------------

/// The meta-variables a server sends for `GET /cgi-bin/<name>?<query>`.
fn get_variables(name: &str, query: &str) -> Vec<(&'static str, String)> {
    let script_name = format!("/cgi-bin/{name}");
    let request_uri = if query.is_empty() {
        script_name.clone()
    } else {
        format!("{script_name}?{query}")
    };
    vec![
        ("GATEWAY_INTERFACE", "CGI/1.1".to_owned()),
        ("REQUEST_METHOD", "GET".to_owned()),
        ("SERVER_PROTOCOL", "HTTP/1.1".to_owned()),
        ("SERVER_SOFTWARE", "long-lived-test".to_owned()),
        ("SERVER_NAME", "localhost".to_owned()),
        ("SERVER_PORT", "80".to_owned()),
        ("REMOTE_ADDR", "127.0.0.1".to_owned()),
        ("HTTP_HOST", "localhost".to_owned()),
        ("SCRIPT_NAME", script_name),
        ("REQUEST_URI", request_uri),
        ("QUERY_STRING", query.to_owned()),
    ]
}

/// The variables of a POST of `body_length` bytes of `content_type`.
fn post_variables(
    name: &str,
    query: &str,
    content_type: &str,
    body_length: usize,
) -> Vec<(&'static str, String)> {
    let mut variables = get_variables(name, query);
    variables[1].1 = "POST".to_owned();
    variables.push(("CONTENT_TYPE", content_type.to_owned()));
    variables.push(("CONTENT_LENGTH", body_length.to_string()));
    variables
}

/// A FastCGI request with these meta-variables.
fn fastcgi_with(variables: &[(&'static str, String)]) -> Request {
    variables
        .iter()
        .fold(Request::new(), |request, (name, value)| {
            request.param(name, value)
        })
}

/// A FastCGI GET of `/cgi-bin/<name>?<query>`.
fn fastcgi_get(name: &str, query: &str) -> Request {
    fastcgi_with(&get_variables(name, query))
}

/// A FastCGI POST of `body`.
fn fastcgi_post(name: &str, query: &str, content_type: &str, body: &[u8]) -> Request {
    fastcgi_with(&post_variables(name, query, content_type, body.len())).stdin(body)
}

/// The same request as a CGI run, as a web server runs the script.
fn cgi_run(name: &str, variables: &[(&'static str, String)], body: &[u8]) -> Script {
    variables
        .iter()
        .fold(Script::example(name, &EXAMPLES), |script, (name, value)| {
            script.var(name, value)
        })
        .timeout(START_TIMEOUT)
        .body(body)
}

/// A complete FastCGI reply's CGI response, strictly parsed: REQUEST_COMPLETE, the STDOUT
/// stream ended by its empty record, nothing on FCGI_STDERR (log lines go to the process's
/// stderr), and the strict CGI form.
fn answered(reply: &Reply, server: &Server) -> Cgi {
    assert!(
        reply.stderr.is_empty(),
        "FCGI_STDERR: {}",
        reply.stderr.escape_ascii()
    );
    assert_eq!(
        reply.end.protocol_status,
        REQUEST_COMPLETE,
        "{reply:?}\n{}",
        server.stderr()
    );
    assert!(
        reply.stdout_closed,
        "STDOUT not ended by an empty record: {reply:?}"
    );
    parse_cgi(&reply.stdout, Rules::default()).unwrap_or_else(|error| {
        panic!(
            "invalid CGI response: {error}\n{}\n{}",
            reply.stdout.escape_ascii(),
            server.stderr()
        )
    })
}

/// The fixture's answer: its `name value` lines.
struct Probe {
    pid: u32,
    requests: u64,
    body: usize,
    /// `name: value` per request header, sorted.
    headers: Vec<String>,
}

fn probe(response: &Cgi) -> Probe {
    assert_eq!(response.status, 200, "{response:?}");
    let mut probe = Probe {
        pid: 0,
        requests: 0,
        body: 0,
        headers: Vec::new(),
    };
    for line in response.text().lines() {
        let (name, value) = line.split_once(' ').expect("`name value` lines");
        match name {
            "pid" => probe.pid = value.parse().expect("a pid"),
            "requests" => probe.requests = value.parse().expect("a count"),
            "body" => probe.body = value.parse().expect("a length"),
            "header" => probe.headers.push(value.to_owned()),
            other => panic!("unexpected line {other:?} in {response:?}"),
        }
    }
    probe
}

/// Whether a read ended because the peer closed: EOF, or a reset.
fn closed_by_peer(result: &io::Result<usize>) -> bool {
    match result {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => matches!(
            error.kind(),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
        ),
    }
}

fn timed_out(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

// ---------------------------------------------------------------------------------------
// Answers, bodies, connections
// ---------------------------------------------------------------------------------------

#[test]
fn a_fastcgi_get_answers_exactly_what_cgi_answers() {
    for (name, query) in [
        ("hello", ""),
        ("greet", "name=Ada%20%3Cb%3E"),
        ("greet", ""),
    ] {
        let server = Server::fastcgi(name);
        let variables = get_variables(name, query);
        let reply = server.fastcgi_request(&fastcgi_with(&variables));
        answered(&reply, &server);
        let cgi = cgi_run(name, &variables, b"").run();
        assert_eq!(cgi.code, Some(0), "{}", cgi.dump());
        assert_eq!(
            reply.stdout.escape_ascii().to_string(),
            cgi.stdout.escape_ascii().to_string(),
            "{name}?{query}: FastCGI and CGI differ\n{}",
            server.stderr()
        );
    }
}

#[test]
fn a_post_body_arrives_through_stdin_and_one_over_the_limit_is_a_413() {
    let mut server = Server::fastcgi(FIXTURE);
    let mut connection = server.connect();
    let form = "application/x-www-form-urlencoded";
    // Records of 3 bytes: the body arrives in pieces, as a server may send it.
    let body = b"text=hello&more=world";
    let reply = connection
        .request(
            &fastcgi_post(FIXTURE, "", form, body)
                .keep_conn(true)
                .record_size(3),
        )
        .expect("the POST");
    let first = probe(&answered(&reply, &server));
    assert_eq!(first.body, body.len());

    let too_large = vec![b'x'; 5000];
    let reply = connection
        .request(&fastcgi_post(FIXTURE, "", form, &too_large).keep_conn(true))
        .expect("the POST over the limit");
    let response = answered(&reply, &server);
    assert_eq!(response.status, 413, "{response:?}");
    assert!(response.text().contains("4096"), "{response:?}");

    // The same connection, then a new one: the process still serves.
    let reply = connection
        .request(&fastcgi_post(FIXTURE, "", form, b"a=1").keep_conn(true))
        .expect("a POST after the 413");
    let after = probe(&answered(&reply, &server));
    assert_eq!((after.pid, after.body), (first.pid, 3));
    let reply = server.fastcgi_request(&fastcgi_get(FIXTURE, ""));
    assert_eq!(probe(&answered(&reply, &server)).pid, server.pid());
    server.wait_for_stderr("log line for the 413", |lines| {
        lines.iter().any(|line| line.contains("413"))
    });
}

#[test]
fn keep_conn_serves_requests_on_one_connection_and_without_it_the_app_closes() {
    let server = Server::fastcgi(FIXTURE);
    let mut connection = server.connect();
    let mut counts = Vec::new();
    for id in [1, 2, 1] {
        let reply = connection
            .request(&fastcgi_get(FIXTURE, "").id(id).keep_conn(true))
            .unwrap_or_else(|error| panic!("request {id}: {error}\n{}", server.stderr()));
        let answer = probe(&answered(&reply, &server));
        assert_eq!(answer.pid, server.pid());
        counts.push(answer.requests);
    }
    // A process-global counter: one process answered all three, in order.
    assert_eq!(counts, [counts[0], counts[0] + 1, counts[0] + 2]);
    connection
        .set_timeout(Duration::from_millis(300))
        .expect("a shorter timeout");
    let mut byte = [0u8; 1];
    match connection.read(&mut byte) {
        Err(error) if timed_out(&error) => {}
        other => panic!("the kept connection did not stay open and quiet: {other:?}"),
    }

    let mut connection = server.connect();
    let reply = connection
        .request(&fastcgi_get(FIXTURE, ""))
        .expect("a request without KEEP_CONN");
    answered(&reply, &server);
    let after = connection.read(&mut byte);
    assert!(
        closed_by_peer(&after),
        "the app did not close the connection after END_REQUEST: {after:?}"
    );
}

#[test]
fn an_idle_kept_connection_gives_its_worker_to_a_waiting_one() {
    // A web server may keep more connections open than there are workers (Apache's
    // `enablereuse=on`, nginx's `keepalive`): with one worker, the second connection
    // would wait forever behind the idle first one.
    let server = Server::start(
        FIXTURE,
        &["--fastcgi", "127.0.0.1:0", "--workers", "1"],
        &[],
        "FastCGI",
    );
    let mut kept = server.connect();
    let reply = kept
        .request(&fastcgi_get(FIXTURE, "").keep_conn(true))
        .expect("the first request");
    answered(&reply, &server);

    let started = Instant::now();
    let mut waiting = server.connect();
    waiting
        .set_timeout(Duration::from_secs(5))
        .expect("a timeout");
    let reply = waiting
        .request(&fastcgi_get(FIXTURE, ""))
        .unwrap_or_else(|error| panic!("the waiting connection was not served: {error}"));
    answered(&reply, &server);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "served only after {:?}",
        started.elapsed()
    );
    let mut byte = [0u8; 1];
    let after = kept.read(&mut byte);
    assert!(
        closed_by_peer(&after),
        "the idle kept connection was not closed: {after:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------------------

#[test]
fn a_slow_request_holds_up_only_its_own_worker() {
    // How long a fast request takes while a 1.5 s one runs, with `workers` workers.
    let fast_beside_slow = |workers: &str| -> Duration {
        let server = Server::start(
            FIXTURE,
            &["--fastcgi", "127.0.0.1:0", "--workers", workers],
            &[],
            "FastCGI",
        );
        thread::scope(|scope| {
            let slow =
                scope.spawn(|| server.fastcgi_request(&fastcgi_get(FIXTURE, "sleep_ms=1500")));
            thread::sleep(Duration::from_millis(150));
            let started = Instant::now();
            let reply = server.fastcgi_request(&fastcgi_get(FIXTURE, ""));
            let took = started.elapsed();
            answered(&reply, &server);
            answered(&slow.join().expect("the slow client"), &server);
            took
        })
    };
    let with_two = fast_beside_slow("2");
    assert!(
        with_two < Duration::from_millis(900),
        "with 2 workers the fast request waited {with_two:?} behind the slow one"
    );
    // The contrast that shows the measure means something: one worker serves in turn.
    let with_one = fast_beside_slow("1");
    assert!(
        with_one >= Duration::from_millis(1000),
        "with 1 worker the fast request took only {with_one:?}"
    );
}

#[test]
fn a_panic_answers_500_while_parallel_requests_on_the_same_process_succeed() {
    let mut server = Server::fastcgi(FIXTURE);
    let queries = [
        "sleep_ms=600",
        "sleep_ms=600",
        "sleep_ms=300",
        "panic=1",
        "",
        "",
        "",
    ];
    let replies: Vec<(&str, Reply)> = thread::scope(|scope| {
        let handles: Vec<_> = queries
            .iter()
            .enumerate()
            .map(|(index, query)| {
                let server = &server;
                scope.spawn(move || {
                    // The panic and the fast ones while the slow ones are running.
                    if !query.starts_with("sleep") {
                        thread::sleep(Duration::from_millis(100 + 20 * index as u64));
                    }
                    (*query, server.fastcgi_request(&fastcgi_get(FIXTURE, query)))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a client thread"))
            .collect()
    });
    for (query, reply) in &replies {
        assert!(
            !reply.stdout.escape_ascii().to_string().contains("marker"),
            "the panic message reached a client: {reply:?}"
        );
        if *query == "panic=1" {
            assert_eq!(reply.end.protocol_status, REQUEST_COMPLETE, "{reply:?}");
            assert_eq!(
                reply.stdout.escape_ascii().to_string(),
                GENERIC_500.escape_ascii().to_string(),
                "the panic's answer"
            );
        } else {
            let answer = probe(&answered(reply, &server));
            assert_eq!(answer.pid, server.pid(), "{query}");
        }
    }

    // On a kept connection too, the request after a panic is served.
    let mut connection = server.connect();
    let reply = connection
        .request(&fastcgi_get(FIXTURE, "panic=1").keep_conn(true))
        .expect("a panic on a kept connection");
    assert_eq!(reply.stdout, GENERIC_500);
    let reply = connection
        .request(&fastcgi_get(FIXTURE, "").keep_conn(true))
        .expect("the request after the panic, same connection");
    assert_eq!(probe(&answered(&reply, &server)).pid, server.pid());

    assert!(server.is_running(), "{}", server.stderr());
    let markers = |lines: &[String]| {
        lines
            .iter()
            .filter(|line| line.contains("long-lived-panic-marker"))
            .count()
    };
    let lines = server.wait_for_stderr("line for each panic", |lines| markers(lines) >= 2);
    let stderr = lines.join("\n");
    assert_eq!(markers(&lines), 2, "each panic logged once:\n{stderr}");
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with(&format!("{FIXTURE}: panicked at "))),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------
// Management records, rejections, aborts, disconnects
// ---------------------------------------------------------------------------------------

#[test]
fn get_values_unknown_types_other_roles_and_a_second_request_id_are_answered() {
    let server = Server::start(
        FIXTURE,
        &["--fastcgi", "127.0.0.1:0", "--workers", "3"],
        &[],
        "FastCGI",
    );
    assert!(
        server.stderr().ends_with(" with 3 workers"),
        "{}",
        server.stderr()
    );
    let mut connection = server.connect();
    let mut values = connection
        .get_values(&["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"])
        .expect("GET_VALUES_RESULT");
    values.sort();
    let values: Vec<(String, String)> = values
        .into_iter()
        .map(|(name, value)| {
            (
                String::from_utf8(name).expect("a name"),
                String::from_utf8(value).expect("a value"),
            )
        })
        .collect();
    let expected = [
        ("FCGI_MAX_CONNS", "3"),
        ("FCGI_MAX_REQS", "3"),
        ("FCGI_MPXS_CONNS", "0"),
    ]
    .map(|(name, value)| (name.to_owned(), value.to_owned()));
    assert_eq!(values, expected);

    // A management record of a type the specification does not define.
    connection
        .send_record(42, 0, b"whatever")
        .expect("an unknown record");
    let record = connection
        .read_record()
        .expect("an answer")
        .expect("no EOF");
    assert_eq!(
        (record.kind, record.request_id, record.content),
        (UNKNOWN_TYPE, 0, vec![42, 0, 0, 0, 0, 0, 0, 0])
    );
    // The connection still works after both.
    let reply = connection
        .request(&fastcgi_get(FIXTURE, ""))
        .expect("a request after the management records");
    answered(&reply, &server);

    for role in [AUTHORIZER, FILTER] {
        let mut connection = server.connect();
        let request = fastcgi_get(FIXTURE, "").role(role).keep_conn(true);
        let begin = request.begin_body();
        connection
            .send_record(BEGIN_REQUEST, 1, &begin)
            .expect("BEGIN_REQUEST");
        let reply = connection.read_reply(1).expect("an END_REQUEST");
        assert_eq!(
            (reply.end.protocol_status, reply.stdout.len()),
            (UNKNOWN_ROLE, 0),
            "role {role}: {reply:?}"
        );
        // The application ignores the rest of a rejected request's records.
        connection
            .send_request(&request.role(RESPONDER).id(7))
            .expect("the next request");
        let reply = connection.read_reply(7).expect("the next request's reply");
        answered(&reply, &server);
    }

    // Request 1 is active (its body half sent) when BEGIN_REQUEST for 2 arrives.
    let mut connection = server.connect();
    let body = b"0123456789";
    let request = fastcgi_post(FIXTURE, "", "text/plain", body).keep_conn(true);
    let pairs = encode_pairs(&request.params);
    connection
        .send_record(BEGIN_REQUEST, 1, &request.begin_body())
        .expect("BEGIN_REQUEST 1");
    connection.send_record(PARAMS, 1, &pairs).expect("PARAMS");
    connection.send_record(PARAMS, 1, b"").expect("PARAMS end");
    connection.send_record(STDIN, 1, &body[..4]).expect("STDIN");
    let second = fastcgi_get(FIXTURE, "").id(2).keep_conn(true);
    connection
        .send_record(BEGIN_REQUEST, 2, &second.begin_body())
        .expect("BEGIN_REQUEST 2");
    connection.send_record(STDIN, 1, &body[4..]).expect("STDIN");
    connection.send_record(STDIN, 1, b"").expect("STDIN end");
    // The refusal may come at once or after request 1's answer: both are read.
    let mut replies = connection
        .read_replies(&[1, 2])
        .expect("replies to 1 and 2");
    let refused = replies.pop().expect("the reply to 2");
    assert_eq!(
        (refused.end.protocol_status, refused.stdout.len()),
        (CANT_MPX_CONN, 0),
        "{refused:?}"
    );
    let reply = replies.pop().expect("the reply to 1");
    assert_eq!(probe(&answered(&reply, &server)).body, body.len());
}

#[test]
fn an_aborted_request_ends_and_the_connection_serves_the_next() {
    let mut server = Server::fastcgi(FIXTURE);
    let mut connection = server.connect();

    let body = b"0123456789";
    let request = fastcgi_post(FIXTURE, "", "text/plain", body).keep_conn(true);
    let pairs = encode_pairs(&request.params);

    // Aborted while its meta-variables are arriving.
    connection
        .send_record(BEGIN_REQUEST, 5, &request.begin_body())
        .expect("BEGIN_REQUEST");
    connection
        .send_record(PARAMS, 5, &pairs[..pairs.len() / 2])
        .expect("half the PARAMS");
    connection
        .send_record(ABORT_REQUEST, 5, b"")
        .expect("ABORT_REQUEST");
    let reply = connection
        .read_reply(5)
        .expect("END_REQUEST after the abort");
    assert_eq!(reply.end.protocol_status, REQUEST_COMPLETE, "{reply:?}");

    // Aborted while its body is arriving.
    connection
        .send_record(BEGIN_REQUEST, 1, &request.begin_body())
        .expect("BEGIN_REQUEST");
    connection.send_record(PARAMS, 1, &pairs).expect("PARAMS");
    connection.send_record(PARAMS, 1, b"").expect("PARAMS end");
    connection.send_record(STDIN, 1, &body[..4]).expect("STDIN");
    connection
        .send_record(ABORT_REQUEST, 1, b"")
        .expect("ABORT_REQUEST");
    let reply = connection
        .read_reply(1)
        .expect("END_REQUEST after the abort");
    assert_eq!(reply.end.protocol_status, REQUEST_COMPLETE, "{reply:?}");
    let reply = connection
        .request(&fastcgi_get(FIXTURE, "").id(2).keep_conn(true))
        .expect("the request after the abort");
    answered(&reply, &server);

    // Aborted while its handler runs: it may still answer, but it ends.
    connection
        .send_request(&fastcgi_get(FIXTURE, "sleep_ms=300").id(3).keep_conn(true))
        .expect("a slow request");
    thread::sleep(Duration::from_millis(50));
    connection
        .send_record(ABORT_REQUEST, 3, b"")
        .expect("ABORT_REQUEST");
    let reply = connection
        .read_reply(3)
        .expect("END_REQUEST after the abort");
    assert_eq!(reply.end.protocol_status, REQUEST_COMPLETE, "{reply:?}");
    let reply = connection
        .request(&fastcgi_get(FIXTURE, "").id(4).keep_conn(true))
        .expect("the request after the second abort");
    answered(&reply, &server);

    // Clients that leave mid-body and mid-answer.
    let mut leaving = server.connect();
    let mut bytes = request.to_bytes();
    bytes.truncate(bytes.len() - 20);
    leaving.write_all(&bytes).expect("part of a request");
    drop(leaving);
    let mut leaving = server.connect();
    leaving
        .send_request(&fastcgi_get(FIXTURE, "sleep_ms=200"))
        .expect("a slow request");
    drop(leaving);
    thread::sleep(Duration::from_millis(400));

    let reply = server.fastcgi_request(&fastcgi_get(FIXTURE, ""));
    assert_eq!(probe(&answered(&reply, &server)).pid, server.pid());
    assert!(server.is_running(), "{}", server.stderr());
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

// ---------------------------------------------------------------------------------------
// Memory and temporary files
// ---------------------------------------------------------------------------------------

#[test]
fn memory_stays_flat_over_ten_thousand_requests() {
    let server = Server::fastcgi(FIXTURE);
    let body = vec![b'b'; 100];
    let request = fastcgi_post(FIXTURE, "a=1&b=2", "text/plain", &body)
        .param("HTTP_COOKIE", "sid=0123456789abcdef; theme=dark")
        .keep_conn(true);
    let fresh = fastcgi_get(FIXTURE, "c=3");
    let mut kept = server.connect();
    let mut run = |kept_requests: usize, new_connections: usize| {
        for index in 0..kept_requests {
            let reply = kept.request(&request).expect("a kept-connection request");
            if index % 1000 == 0 {
                assert_eq!(probe(&answered(&reply, &server)).body, body.len());
            } else {
                assert!(reply.stdout.starts_with(b"Status: 200 OK\r\n"), "{reply:?}");
            }
        }
        for _ in 0..new_connections {
            let reply = server.fastcgi_request(&fresh);
            assert!(reply.stdout.starts_with(b"Status: 200 OK\r\n"), "{reply:?}");
        }
    };
    let started = Instant::now();
    run(1000, 1000);
    let warm = server.rss_kib();
    run(10_000, 3000);
    let after = server.rss_kib();
    eprintln!(
        "VmRSS after warm-up (1000 kept + 1000 new connections): {warm} KiB; \
         after 10000 kept + 3000 more: {after} KiB; growth {} KiB; {:?} in all",
        after.saturating_sub(warm),
        started.elapsed()
    );
    assert!(
        after.saturating_sub(warm) < 4 * 1024,
        "VmRSS grew from {warm} KiB to {after} KiB"
    );
}

/// A multipart body with one text field and one file of `size` bytes.
fn multipart_body(size: usize) -> (String, Vec<u8>, Vec<u8>) {
    let boundary = "----long-lived-boundary-7d3f";
    let file: Vec<u8> = (0..size).map(|index| (index % 251) as u8).collect();
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi there\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"data.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (
        format!("multipart/form-data; boundary={boundary}"),
        body,
        file,
    )
}

#[test]
fn uploads_answer_as_cgi_does_and_leave_no_temporary_files() {
    use sha2::{Digest, Sha256};

    let tmpdir = TempDir::new("upload-tmpdir");
    let tmpdir_path = tmpdir.path().to_str().expect("a UTF-8 temporary path");
    let server = Server::start(
        "upload",
        &["--fastcgi", "127.0.0.1:0"],
        &[("TMPDIR", tmpdir_path)],
        "FastCGI",
    );
    let mut connection = server.connect();
    for size in [10, 300 * 1024, 2 * 1024 * 1024] {
        let (content_type, body, file) = multipart_body(size);
        let variables = post_variables("upload", "", &content_type, body.len());
        let reply = connection
            .request(&fastcgi_with(&variables).stdin(body.clone()).keep_conn(true))
            .unwrap_or_else(|error| panic!("uploading {size} bytes: {error}"));
        let response = answered(&reply, &server);
        assert_eq!(response.status, 200, "{response:?}");
        let digest: String = Sha256::digest(&file)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let row = format!("<td>data.bin</td><td>{size}</td><td><code>{digest}</code></td>");
        assert!(response.text().contains(&row), "{size}: {response:?}");

        let cgi = cgi_run("upload", &variables, &body).own_tmpdir().run();
        let cgi_response = cgi.response();
        assert_eq!(response.body, cgi_response.body, "{size}: FastCGI vs CGI");
        assert_eq!(
            tmpdir.entries(),
            Vec::<String>::new(),
            "temporary files left after {size} bytes"
        );
    }
}

// ---------------------------------------------------------------------------------------
// A listening socket on fd 0
// ---------------------------------------------------------------------------------------

#[test]
fn a_listening_socket_on_stdin_is_served_as_fastcgi() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
    let address = listener.local_addr().expect("its address").to_string();
    let mut command = Command::new(support::example(FIXTURE, &EXAMPLES));
    command
        .env_clear()
        .stdin(Stdio::from(OwnedFd::from(listener)));
    let mut server = Server::spawn(FIXTURE, command);
    let line = server.wait_for_line(|line| line.contains(" serving "));
    assert_eq!(
        line,
        format!("{FIXTURE}: serving FastCGI on {address} with 16 workers")
    );
    server.address = address;
    let mut connection = server.connect();
    for id in 1..=2 {
        let reply = connection
            .request(&fastcgi_get(FIXTURE, "").id(id).keep_conn(true))
            .unwrap_or_else(|error| {
                panic!(
                    "FastCGI on the inherited socket: {error}\n{}",
                    server.stderr()
                )
            });
        assert_eq!(probe(&answered(&reply, &server)).pid, server.pid());
    }
    assert!(server.is_running(), "{}", server.stderr());
}

// ---------------------------------------------------------------------------------------
// SCGI
// ---------------------------------------------------------------------------------------

#[test]
fn scgi_answers_gets_and_posts_and_survives_malformed_requests() {
    let mut server = Server::scgi(FIXTURE);
    let as_headers = |variables: &[(&'static str, String)]| -> Vec<(String, String)> {
        variables
            .iter()
            .filter(|(name, _)| *name != "CONTENT_LENGTH")
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect()
    };
    let send = |variables: &[(&'static str, String)], body: &[u8]| -> Vec<u8> {
        let headers = as_headers(variables);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        server.scgi_request(&headers, body)
    };
    let parse = |raw: &[u8]| {
        parse_cgi(raw, Rules::default())
            .unwrap_or_else(|error| panic!("invalid SCGI answer: {error}\n{}", raw.escape_ascii()))
    };

    let get = send(&get_variables(FIXTURE, ""), b"");
    let first = probe(&parse(&get));
    assert_eq!((first.pid, first.body), (server.pid(), 0));
    let body = b"text=hello";
    let post = send(
        &post_variables(FIXTURE, "", "application/x-www-form-urlencoded", body.len()),
        body,
    );
    let second = probe(&parse(&post));
    assert_eq!(
        (second.pid, second.requests, second.body),
        (first.pid, first.requests + 1, body.len())
    );

    let malformed: [&[u8]; 6] = [
        b"abc:CONTENT_LENGTH\x000\x00SCGI\x001\x00,",
        b"24:CONTENT_LENGTH\x000\x00SCGI\x001\x00;",
        b"5:ab",
        b"99999999999999999999:",
        b"11:SCGI\x001\x00A\x00b\x00,",
        b"\x00\x01\x02\x03",
    ];
    for bytes in malformed {
        let shown = bytes.escape_ascii().to_string();
        let mut connection = server.connect();
        connection.write_all(bytes).expect("a malformed request");
        // EOF after it: a request cut short must end too.
        let _ = connection.shutdown_write();
        let mut answer = Vec::new();
        let result = connection.read_to_end(&mut answer);
        if let Err(error) = &result {
            assert!(
                !timed_out(error),
                "{shown}: no answer and no close within {IO_TIMEOUT:?}"
            );
        }
        if !answer.is_empty() {
            let response = parse(&answer);
            assert!(
                (400..500).contains(&response.status),
                "{shown}: {response:?}"
            );
        }
    }
    let hello = probe(&parse(&send(&get_variables(FIXTURE, ""), b"")));
    assert_eq!(hello.pid, server.pid());
    assert!(server.is_running(), "{}", server.stderr());
}

#[test]
fn a_slow_scgi_client_is_waited_for() {
    // Apache's mod_proxy_scgi and nginx with `scgi_request_buffering off` pass a body on
    // as it arrives: pauses longer than the sockets' polling interval are normal.
    let server = Server::scgi(FIXTURE);
    let body = b"text=slowly";
    let variables = post_variables(FIXTURE, "", "application/x-www-form-urlencoded", body.len());
    let headers: Vec<(&str, &str)> = variables
        .iter()
        .filter(|(name, _)| *name != "CONTENT_LENGTH")
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let request = scgi_request_bytes(&headers, body);
    let (head, tail) = request.split_at(request.len() - 5);
    let mut connection = std::net::TcpStream::connect(&server.address).expect("connect");
    connection
        .set_read_timeout(Some(IO_TIMEOUT))
        .expect("a timeout");
    thread::sleep(Duration::from_millis(600));
    connection
        .write_all(head)
        .expect("the headers and half the body");
    thread::sleep(Duration::from_millis(600));
    connection.write_all(tail).expect("the rest of the body");
    let mut answer = Vec::new();
    connection.read_to_end(&mut answer).expect("the answer");
    let response = parse_cgi(&answer, Rules::default())
        .unwrap_or_else(|error| panic!("{error}\n{}\n{}", answer.escape_ascii(), server.stderr()));
    assert_eq!(response.status, 200, "{}", answer.escape_ascii());
    assert_eq!(probe(&response).body, body.len());
}

#[test]
fn an_scgi_get_answers_exactly_what_cgi_answers() {
    let server = Server::scgi("greet");
    let variables = get_variables("greet", "name=Grace");
    let headers: Vec<(&str, &str)> = variables
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let answer = server.scgi_request(&headers, b"");
    let cgi = cgi_run("greet", &variables, b"").run();
    assert_eq!(cgi.code, Some(0), "{}", cgi.dump());
    assert_eq!(
        answer.escape_ascii().to_string(),
        cgi.stdout.escape_ascii().to_string()
    );
}

// ---------------------------------------------------------------------------------------
// Stopping; unix sockets
// ---------------------------------------------------------------------------------------

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_cleanly() {
    let mut server = Server::fastcgi(FIXTURE);
    // A kept connection left idle, as web servers keep them.
    let mut idle = server.connect();
    let reply = idle
        .request(&fastcgi_get(FIXTURE, "").keep_conn(true))
        .expect("a request on the kept connection");
    answered(&reply, &server);
    let slow = {
        let mut connection = server.connect();
        thread::spawn(move || connection.request(&fastcgi_get(FIXTURE, "sleep_ms=1500")))
    };
    thread::sleep(Duration::from_millis(300));
    server.terminate();
    // The idle connection is closed; this client then closes its side, as a web server
    // does on EOF.
    let left = idle.read_to_eof();
    assert!(
        matches!(&left, Ok(bytes) if bytes.is_empty()),
        "the idle kept connection after SIGTERM: {left:?}"
    );
    drop(idle);

    // While the slow request finishes, no new one is served.
    match Stream::connect(&server.address, IO_TIMEOUT) {
        Err(error) => assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}"),
        Ok(mut late) => {
            let _ = late.send_request(&fastcgi_get(FIXTURE, ""));
            let mut answer = Vec::new();
            let result = late.read_to_end(&mut answer).map(|_| 0);
            assert!(
                answer.is_empty() && closed_by_peer(&result),
                "a connection made after SIGTERM: {result:?}, {}",
                answer.escape_ascii()
            );
        }
    }

    let reply = slow
        .join()
        .expect("the slow client")
        .unwrap_or_else(|error| panic!("the request in flight: {error}\n{}", server.stderr()));
    let response = answered(&reply, &server);
    assert_eq!(response.status, 200, "{response:?}");
    let status = server.wait_for_exit();
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    let lines = server.stderr_lines();
    assert_eq!(
        lines.last().map(String::as_str),
        Some(format!("{FIXTURE}: stopped").as_str()),
        "{}",
        server.stderr()
    );
    // Stopping is no error: the listener shut under the waiting workers says nothing.
    assert!(
        !lines.iter().any(|line| line.contains("failed")),
        "{}",
        server.stderr()
    );
    let refused = Stream::connect(&server.address, IO_TIMEOUT).map(|_| ());
    assert_eq!(
        refused.map_err(|error| error.kind()),
        Err(ErrorKind::ConnectionRefused)
    );
}

#[test]
fn a_unix_socket_serves_replaces_a_stale_file_and_is_removed_on_stop() {
    let directory = TempDir::new("unix");
    let socket = directory.path().join("x.sock");
    // A stale socket file from an earlier run: bound, never removed.
    drop(UnixListener::bind(&socket).expect("a stale socket"));
    assert!(socket.exists());
    let address = format!("unix:{}", socket.display());
    let mut server = Server::start("hello", &["--fastcgi", &address], &[], "FastCGI");
    assert_eq!(server.address, address);
    let reply = server.fastcgi_request(&fastcgi_get("hello", ""));
    assert_eq!(answered(&reply, &server).text(), "Hello, world!\n");

    let stopping = Instant::now();
    server.terminate();
    let status = server.wait_for_exit();
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    assert!(
        stopping.elapsed() < Duration::from_secs(2),
        "an idle server took {:?} to stop",
        stopping.elapsed()
    );
    assert_eq!(
        server.stderr_lines().last().map(String::as_str),
        Some("hello: stopped")
    );
    assert!(!socket.exists(), "the socket file survived the stop");
}

// ---------------------------------------------------------------------------------------
// No state between requests
// ---------------------------------------------------------------------------------------

#[test]
fn nothing_of_one_request_reaches_the_next() {
    for name in [FIXTURE, "env"] {
        // One worker: every request runs on the same thread.
        let server = Server::start(
            name,
            &["--fastcgi", "127.0.0.1:0", "--workers", "1"],
            &[],
            "FastCGI",
        );
        let first = fastcgi_get(name, "a=1")
            .param("HTTP_COOKIE", "sid=secret-cookie")
            .param("HTTP_X_PROBE", "secret-header")
            .param("REMOTE_USER", "secret-user");
        let second = fastcgi_get(name, "");
        let check = |answer: &Cgi, how: &str| {
            for secret in ["secret", "x-probe", "X_PROBE", "cookie", "COOKIE"] {
                assert!(
                    !answer.text().contains(secret),
                    "{name} ({how}): `{secret}` leaked into the next request: {answer:?}"
                );
            }
            if name == FIXTURE {
                assert_eq!(probe(answer).headers, ["host: localhost"]);
            }
        };

        let mut connection = server.connect();
        let mut kept = |request: &Request| {
            let reply = connection
                .request(&request.clone().keep_conn(true))
                .expect("a kept-connection request");
            answered(&reply, &server)
        };
        let seen = kept(&first);
        assert!(seen.text().contains("secret-cookie"), "{seen:?}");
        check(&kept(&second), "same connection");
        // With one worker, the next connection is served only once this one is closed.
        drop(connection);

        let seen = answered(&server.fastcgi_request(&first), &server);
        assert!(seen.text().contains("secret-cookie"), "{seen:?}");
        check(
            &answered(&server.fastcgi_request(&second), &server),
            "new connection",
        );
    }
}

// ---------------------------------------------------------------------------------------
// The client itself
// ---------------------------------------------------------------------------------------

#[test]
fn the_clients_codecs_are_strict_and_round_trip() {
    let pairs = vec![
        (b"A".to_vec(), vec![b'v'; 127]),
        (vec![b'N'; 128], Vec::new()),
        (b"LONG".to_vec(), vec![b'x'; 70_000]),
    ];
    let encoded = encode_pairs(&pairs);
    // 1-byte lengths below 128, 4-byte ones with the high bit set from 128 on.
    assert_eq!(&encoded[..2], &[1, 127]);
    assert_eq!(&encoded[2 + 128..2 + 128 + 5], &[0x80, 0, 0, 128, 0]);
    assert_eq!(decode_pairs(&encoded), Ok(pairs));
    assert!(decode_pairs(&encoded[..encoded.len() - 1]).is_err());

    assert_eq!(
        EndRequest::parse(&[0, 0, 1, 2, CANT_MPX_CONN, 0, 0, 0]),
        Ok(EndRequest {
            app_status: 258,
            protocol_status: CANT_MPX_CONN
        })
    );
    assert!(EndRequest::parse(&[0; 7]).is_err());
    assert!(EndRequest::parse(&[0, 0, 0, 0, 0, 1, 0, 0]).is_err());

    // Header, content, and padding to a multiple of 8.
    assert_eq!(
        record_bytes(END_REQUEST, 258, b"abc"),
        [
            1,
            END_REQUEST,
            1,
            2,
            0,
            3,
            5,
            0,
            b'a',
            b'b',
            b'c',
            0,
            0,
            0,
            0,
            0
        ]
    );
}
