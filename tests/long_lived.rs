//! Long-lived modes: the built examples run as FastCGI and SCGI servers (`--fastcgi ADDR`,
//! `--scgi ADDR`, or a listening socket handed over on fd 0), each a real process on
//! loopback or on a unix socket in a temporary directory, talked to by the strict clients
//! of `tests/support/gateway_client.rs`.
//!
//! What is checked is the contract of issue 7: the same answers as CGI, bodies and their
//! limits, FCGI_KEEP_CONN, the management records and the rejections (roles, multiplexing,
//! aborts), panics and disconnects that leave the process serving, flat memory over 10^4
//! requests, no temporary files or request state left behind, and a graceful stop on
//! SIGTERM; and issue 16's: a process told to stop leaves a listening socket it shares
//! with other processes (spawn-fcgi `-F N`) to them. Then hostile peers, each connection
//! bounded: management records inside a request answered at once (and a peer that reads
//! none of them cut off), parameter bombs answered 431 within twice their size, heads that
//! trickle in, silent SCGI connections, stalled bodies, answers never read, SIGTERM among
//! all of these, and `--socket-mode` from the moment the socket exists. Each server writes
//! one start line to stderr, from which its address is read.
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

    /// The fixture with no arguments and a dup of `listener` as its standard input, as
    /// spawn-fcgi starts it (`-F N` starts N of them on one socket), once it has written
    /// its start line.
    fn on_stdin(listener: &TcpListener) -> Server {
        let address = listener.local_addr().expect("its address").to_string();
        let socket = listener.try_clone().expect("a copy of the listener");
        let mut command = Command::new(support::example(FIXTURE, &EXAMPLES));
        command
            .env_clear()
            .stdin(Stdio::from(OwnedFd::from(socket)));
        let mut server = Server::spawn(FIXTURE, command);
        let line = server.wait_for_line(|line| line.contains(" serving "));
        assert_eq!(
            line,
            format!("{FIXTURE}: serving FastCGI on {address} with 16 workers")
        );
        server.address = address;
        server
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

    /// How many worker threads (`cgi-worker-N`) the process has: a worker's thread ends
    /// when it stops taking connections.
    fn worker_threads(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/task", self.pid()))
            .expect("/proc/<pid>/task")
            .filter_map(Result::ok)
            .filter(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|name| name.starts_with("cgi-worker-"))
            })
            .count()
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
        self.wait_for_exit_within(START_TIMEOUT)
    }

    /// [`Server::wait_for_exit`] within `bound`.
    fn wait_for_exit_within(&mut self, bound: Duration) -> ExitStatus {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("polling the server") {
                break status;
            }
            assert!(
                started.elapsed() < bound,
                "{} did not exit within {bound:?}:\n{}",
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
        self.memory_kib("VmRSS:")
    }

    /// The largest resident set size so far.
    fn peak_rss_kib(&self) -> u64 {
        self.memory_kib("VmHWM:")
    }

    fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/<pid>/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("a {field} line"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A pool's processes first: they hold the stderr pipe the reader thread waits on.
        kill(&children_of(self.pid()));
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
    let mut server = Server::on_stdin(&listener);
    drop(listener);
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

/// spawn-fcgi `-F 2`, or a supervisor's pool: two processes accept on one listening socket
/// they were both handed on fd 0. SIGTERM to one must not stop the other: the stopping
/// process stops accepting and finishes its request in flight, while every new connection
/// goes to its sibling, none refused or reset.
#[test]
fn a_process_told_to_stop_leaves_a_shared_listener_to_its_sibling() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
    // The first process alone at first, so that the request held in flight is its own.
    let mut stopping = Server::on_stdin(&listener);
    let address = stopping.address.clone();
    let mut held = stopping.connect();
    let reply = held
        .request(&fastcgi_get(FIXTURE, "").keep_conn(true))
        .unwrap_or_else(|error| panic!("the first request: {error}\n{}", stopping.stderr()));
    assert_eq!(probe(&answered(&reply, &stopping)).pid, stopping.pid());
    // A POST whose body is not all there yet: its worker waits for the rest, so the
    // process stays in its grace period, alive and not accepting, until the test sends
    // it (within the default --stop-grace of 8 s, after which it would be abandoned).
    let body = [b'x'; 100];
    let request = fastcgi_post(FIXTURE, "", "application/octet-stream", &body).id(2);
    let bytes = request.to_bytes();
    let (sent, held_back) = bytes.split_at(bytes.len() - 40);
    held.write_all(sent).expect("most of a request");

    let mut survivor = Server::on_stdin(&listener);
    // spawn-fcgi closes its own copy once the processes have theirs.
    drop(listener);

    stopping.terminate();
    stopping.wait_for_line(|line| line.contains("SIGTERM: finishing the requests in flight"));
    // Once only the worker of the held request is left, nothing in the stopping process
    // accepts any more: whatever comes now is the sibling's.
    let started = Instant::now();
    while stopping.worker_threads() > 1 {
        assert!(
            started.elapsed() < START_TIMEOUT,
            "the stopping process still has {} workers:\n{}",
            stopping.worker_threads(),
            stopping.stderr()
        );
        thread::sleep(Duration::from_millis(5));
    }

    for index in 0..50 {
        let pid = shared_request(
            &address,
            &format!("request {index}"),
            [&stopping, &survivor],
        );
        assert_eq!(pid, survivor.pid(), "sequential request {index}");
    }
    let (shared, servers) = (address.as_str(), [&stopping, &survivor]);
    thread::scope(|scope| {
        let clients: Vec<_> = (0..5)
            .map(|client| {
                scope.spawn(move || {
                    (0..10)
                        .map(|index| {
                            let what = format!("client {client}'s request {index}");
                            shared_request(shared, &what, servers)
                        })
                        .collect::<Vec<u32>>()
                })
            })
            .collect();
        for client in clients {
            let pids = client.join().expect("a concurrent client");
            assert!(pids.iter().all(|&pid| pid == survivor.pid()), "{pids:?}");
        }
    });
    assert!(stopping.is_running(), "{}", stopping.stderr());
    assert!(survivor.is_running(), "{}", survivor.stderr());

    // The request in flight is answered, then the stopping process exits cleanly.
    held.write_all(held_back).expect("the rest of the request");
    let reply = held
        .read_reply(2)
        .unwrap_or_else(|error| panic!("the request in flight: {error}\n{}", stopping.stderr()));
    let answer = probe(&answered(&reply, &stopping));
    assert_eq!((answer.pid, answer.body), (stopping.pid(), body.len()));
    drop(held);
    let status = stopping.wait_for_exit();
    assert_eq!(status.code(), Some(0), "{}", stopping.stderr());
    assert_eq!(
        stopping.stderr_lines().last().map(String::as_str),
        Some(format!("{FIXTURE}: stopped").as_str()),
        "{}",
        stopping.stderr()
    );

    // Its descriptors closed with it; the socket is the sibling's alone now.
    for index in 0..5 {
        let what = format!("request {index} after the exit");
        let pid = shared_request(&address, &what, [&stopping, &survivor]);
        assert_eq!(pid, survivor.pid());
    }
    for server in [&stopping, &survivor] {
        assert!(
            !server.stderr().contains("failed"),
            "process {}:\n{}",
            server.pid(),
            server.stderr()
        );
    }
    // The last process holding the socket stops too: the port closes with it.
    survivor.terminate();
    assert_eq!(
        survivor.wait_for_exit().code(),
        Some(0),
        "{}",
        survivor.stderr()
    );
    let refused = Stream::connect(&address, IO_TIMEOUT).map(|_| ());
    assert_eq!(
        refused.map_err(|error| error.kind()),
        Err(ErrorKind::ConnectionRefused)
    );
}

/// One GET on a new connection to a listener two processes share: the pid that answered.
/// Anything but a complete answer (a refused or reset connection) fails the test, with
/// both processes' logs.
fn shared_request(address: &str, what: &str, [stopping, survivor]: [&Server; 2]) -> u32 {
    let reply = Stream::connect(address, IO_TIMEOUT)
        .and_then(|mut connection| connection.request(&fastcgi_get(FIXTURE, "")))
        .unwrap_or_else(|error| {
            panic!(
                "{what} after one process's SIGTERM: {error} ({:?})\n\
                 the stopping process:\n{}\nits sibling:\n{}",
                error.kind(),
                stopping.stderr(),
                survivor.stderr()
            )
        });
    probe(&answered(&reply, survivor)).pid
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

// ---------------------------------------------------------------------------------------
// A supervised pool of processes (`--processes N`)
// ---------------------------------------------------------------------------------------

impl Server {
    /// The fixture as a supervised pool, `--fastcgi 127.0.0.1:0 --processes N` and `extra`,
    /// once the supervisor has written its start line (`... with N processes`) and all
    /// its children answer.
    fn pool(processes: usize, extra: &[&str]) -> Server {
        let count = processes.to_string();
        let mut args = vec!["--fastcgi", "127.0.0.1:0", "--processes", &count];
        args.extend_from_slice(extra);
        let mut command = Command::new(support::example(FIXTURE, &EXAMPLES));
        command.args(&args).env_clear().stdin(Stdio::null());
        let mut server = Server::spawn(FIXTURE, command);
        let line = server.wait_for_line(|line| line.contains(" serving "));
        let address = line
            .strip_prefix(&format!("{FIXTURE}: serving FastCGI on "))
            .and_then(|rest| rest.strip_suffix(&format!(" with {processes} processes")))
            .unwrap_or_else(|| panic!("start line {line:?}"));
        server.address = address.to_owned();
        server.wait_for_children(processes, &[]);
        server
    }

    /// The pool's processes: this process's children.
    fn children(&self) -> Vec<u32> {
        children_of(self.pid())
    }

    /// Waits until the pool has `count` processes, none of them in `gone`.
    fn wait_for_children(&mut self, count: usize, gone: &[u32]) -> Vec<u32> {
        let started = Instant::now();
        loop {
            let children = self.children();
            if children.len() == count && !children.iter().any(|pid| gone.contains(pid)) {
                return children;
            }
            assert!(
                self.is_running(),
                "the supervisor exited:\n{}",
                self.stderr()
            );
            assert!(
                started.elapsed() < START_TIMEOUT,
                "the pool has {children:?}, not {count} processes other than {gone:?}:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The processes whose parent is `parent` (from `/proc/<pid>/stat`), zombies left out.
fn children_of(parent: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) STATE PPID ...: the command may hold spaces and parentheses.
        let mut fields = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace();
        let (state, ppid) = (
            fields.next(),
            fields.next().and_then(|ppid| ppid.parse().ok()),
        );
        if ppid == Some(parent) && state != Some("Z") {
            children.push(pid);
        }
    }
    children.sort_unstable();
    children
}

/// A GET of `path` (no query), as a web server sends it.
fn fastcgi_get_path(path: &str) -> Request {
    let mut variables = get_variables(FIXTURE, "");
    for (name, value) in &mut variables {
        if *name == "SCRIPT_NAME" || *name == "REQUEST_URI" {
            *value = path.to_owned();
        }
    }
    fastcgi_with(&variables)
}

/// What the pool's status path answers, parsed.
fn pool_status(server: &Server) -> serde_json::Value {
    let reply = server.fastcgi_request(&fastcgi_get_path("/status"));
    let response = answered(&reply, server);
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(
        response.header("Content-Type"),
        Some("application/json"),
        "{response:?}"
    );
    serde_json::from_str(response.text())
        .unwrap_or_else(|error| panic!("not JSON: {error}: {}", response.text()))
}

#[test]
fn a_crashing_process_takes_only_its_own_request_and_is_replaced() {
    let mut server = Server::pool(4, &[]);
    let pool = server.children();
    let (crash, others) = thread::scope(|scope| {
        let others: Vec<_> = (0..30)
            .map(|_| {
                let server = &server;
                scope.spawn(move || {
                    server
                        .connect()
                        .request(&fastcgi_get(FIXTURE, "sleep_ms=100"))
                        .map(|reply| probe(&answered(&reply, server)).pid)
                })
            })
            .collect();
        // While the others are being answered, one request aborts its process.
        thread::sleep(Duration::from_millis(150));
        let crash = server
            .connect()
            .request(&fastcgi_get(FIXTURE, "abort=1"))
            .map(|reply| reply.stdout);
        let others: Vec<_> = others
            .into_iter()
            .map(|other| other.join().expect("a client thread"))
            .collect();
        (crash, others)
    });
    // The web server sees the connection close without an answer (nginx answers 502).
    assert!(
        crash.is_err(),
        "the aborted request was answered: {crash:?}"
    );
    for (index, answer) in others.iter().enumerate() {
        let pid = answer
            .as_ref()
            .unwrap_or_else(|error| panic!("request {index} failed: {error}\n{}", server.stderr()));
        assert_ne!(*pid, server.pid(), "the supervisor answered a request");
    }
    let lines = server.wait_for_stderr("the crash in the log", |lines| {
        lines.iter().any(|line| line.contains("SIGABRT"))
    });
    let line = lines
        .iter()
        .find(|line| line.contains("SIGABRT"))
        .expect("the line");
    let crashed: u32 = line
        .strip_prefix(&format!("{FIXTURE}: process "))
        .and_then(|rest| rest.split_once(' '))
        .and_then(|(pid, _)| pid.parse().ok())
        .unwrap_or_else(|| panic!("{line:?}"));
    assert!(pool.contains(&crashed), "{crashed} is not of {pool:?}");
    assert_eq!(
        line,
        &format!(
            "{FIXTURE}: process {crashed} was ended by signal 6 (SIGABRT) while answering \
             \"GET /cgi-bin/{FIXTURE}?abort=1\""
        )
    );
    // Replaced: four processes again, the crashed one not among them, and they answer.
    let now = server.wait_for_children(4, &[crashed]);
    for _ in 0..8 {
        let pid = probe(&answered(
            &server.fastcgi_request(&fastcgi_get(FIXTURE, "")),
            &server,
        ))
        .pid;
        assert!(now.contains(&pid), "{pid} is not of {now:?}");
    }
    assert!(server.is_running(), "{}", server.stderr());
}

#[test]
fn max_requests_recycles_processes_under_load_and_no_request_fails() {
    let mut server = Server::pool(2, &["--max-requests", "5"]);
    let answers: Vec<Probe> = thread::scope(|scope| {
        let clients: Vec<_> = (0..4)
            .map(|client| {
                let server = &server;
                scope.spawn(move || {
                    (0..20)
                        .map(|index| {
                            let reply = server
                                .connect()
                                .request(&fastcgi_get(FIXTURE, ""))
                                .unwrap_or_else(|error| {
                                    panic!(
                                        "client {client}'s request {index}: {error}\n{}",
                                        server.stderr()
                                    )
                                });
                            probe(&answered(&reply, server))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|client| client.join().expect("a client thread"))
            .collect()
    });
    assert_eq!(answers.len(), 80);
    // No process answered more than 5; so at least 16 answered.
    let mut pids: Vec<u32> = answers.iter().map(|answer| answer.pid).collect();
    for answer in &answers {
        assert!(
            (1..=5).contains(&answer.requests),
            "process {} answered its request number {}",
            answer.pid,
            answer.requests
        );
    }
    pids.sort_unstable();
    pids.dedup();
    assert!(pids.len() >= 16, "only {} processes: {pids:?}", pids.len());
    // A recycled process is news to no one: nothing in the log.
    assert_eq!(server.stderr_lines().len(), 1, "{}", server.stderr());
    server.wait_for_children(2, &[]);
}

#[test]
fn a_request_past_the_timeout_kills_its_process_and_the_log_names_it() {
    let mut server = Server::pool(2, &["--request-timeout", "1"]);
    let started = Instant::now();
    let (slow, fast) = thread::scope(|scope| {
        let slow = scope.spawn(|| {
            server
                .connect()
                .request(&fastcgi_get(FIXTURE, "sleep_ms=8000"))
                .map(|reply| reply.stdout)
        });
        thread::sleep(Duration::from_millis(300));
        let fast = server.fastcgi_request(&fastcgi_get(FIXTURE, ""));
        (slow.join().expect("the slow client"), fast)
    });
    let took = started.elapsed();
    assert!(slow.is_err(), "the slow request was answered: {slow:?}");
    assert!(
        took < Duration::from_secs(4),
        "the slow request ended after {took:?}"
    );
    answered(&fast, &server);
    let lines = server.wait_for_stderr("the slow request in the log", |lines| {
        lines.iter().any(|line| line.contains("slow request"))
    });
    let line = lines
        .iter()
        .find(|line| line.contains("slow request"))
        .expect("the line");
    let prefix = format!("{FIXTURE}: slow request: \"GET /cgi-bin/{FIXTURE}?sleep_ms=8000\" ran ");
    let (seconds, killed) = line
        .strip_prefix(&prefix)
        .and_then(|rest| rest.split_once(" s, past --request-timeout 1: killed process "))
        .unwrap_or_else(|| panic!("{line:?}"));
    let seconds: f64 = seconds.parse().expect("seconds");
    assert!((1.0..2.5).contains(&seconds), "{line}");
    let killed: u32 = killed.parse().expect("a pid");
    // No other line: the kill is the whole story.
    assert_eq!(lines.len(), 2, "{}", server.stderr());
    let now = server.wait_for_children(2, &[killed]);
    let pid = probe(&answered(
        &server.fastcgi_request(&fastcgi_get(FIXTURE, "")),
        &server,
    ))
    .pid;
    assert!(now.contains(&pid));
}

#[test]
fn the_status_path_answers_the_pools_state_in_json() {
    let server = Server::pool(3, &["--status-path", "/status"]);
    for _ in 0..5 {
        answered(&server.fastcgi_request(&fastcgi_get(FIXTURE, "")), &server);
    }
    // The children report each request over their channels, which the supervisor reads
    // as it gets to them: on a busy machine the count may lag for a moment.
    // Each status request counts too: the count to wait for grows with each asking.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut asked = 0;
    let quiet = loop {
        let status = pool_status(&server);
        asked += 1;
        if status["accepted"] == 5 + asked || Instant::now() > deadline {
            break status;
        }
        thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(quiet["pool"], FIXTURE);
    assert_eq!(quiet["processes"], 3);
    // The status request is itself one of the requests, and busy.
    assert_eq!(
        (&quiet["accepted"], &quiet["active"]),
        (&(5 + asked).into(), &1.into())
    );
    assert_eq!(quiet["idle"], 2);
    assert_eq!(quiet["all_busy"], 0);
    let (status, slow) = thread::scope(|scope| {
        let slow: Vec<_> = (0..2)
            .map(|_| {
                let server = &server;
                scope.spawn(move || server.fastcgi_request(&fastcgi_get(FIXTURE, "sleep_ms=1500")))
            })
            .collect();
        thread::sleep(Duration::from_millis(500));
        let status = pool_status(&server);
        let slow: Vec<_> = slow
            .into_iter()
            .map(|slow| slow.join().expect("a slow client"))
            .collect();
        (status, slow)
    });
    for reply in &slow {
        answered(reply, &server);
    }
    // Two slow requests and the status request: every process busy, once.
    assert_eq!(status["accepted"], 5 + asked + 3, "{status}");
    assert_eq!(
        (&status["active"], &status["idle"]),
        (&3.into(), &0.into()),
        "{status}"
    );
    assert_eq!(status["all_busy"], 1, "{status}");
    let processes = status["per_process"].as_array().expect("per_process");
    let mut pids: Vec<u32> = processes
        .iter()
        .map(|process| process["pid"].as_u64().expect("a pid") as u32)
        .collect();
    pids.sort_unstable();
    assert_eq!(pids, server.children());
    let requests: u64 = processes
        .iter()
        .map(|process| process["requests"].as_u64().expect("a count"))
        .sum();
    assert_eq!(requests, 9, "{status}");
    assert!(
        processes
            .iter()
            .all(|process| process["state"] == "busy" && process["busy_ms"].is_u64()),
        "{status}"
    );
    let after = pool_status(&server);
    assert_eq!(
        (&after["active"], &after["idle"]),
        (&1.into(), &2.into()),
        "{after}"
    );
    // Any other path is the handler's.
    let other = server.fastcgi_request(&fastcgi_get_path("/status/more"));
    assert_eq!(probe(&answered(&other, &server)).body, 0);
}

#[test]
fn sigterm_stops_the_pool_once_its_requests_are_answered() {
    let mut server = Server::pool(2, &[]);
    let pool = server.children();
    let slow = {
        let mut connection = server.connect();
        thread::spawn(move || connection.request(&fastcgi_get(FIXTURE, "sleep_ms=1500")))
    };
    thread::sleep(Duration::from_millis(300));
    server.terminate();
    let reply = slow
        .join()
        .expect("the slow client")
        .unwrap_or_else(|error| panic!("the request in flight: {error}\n{}", server.stderr()));
    assert_eq!(answered(&reply, &server).status, 200);
    assert_eq!(
        server.wait_for_exit().code(),
        Some(0),
        "{}",
        server.stderr()
    );
    assert_eq!(
        server.stderr_lines().last().map(String::as_str),
        Some(format!("{FIXTURE}: stopped").as_str()),
        "{}",
        server.stderr()
    );
    // The supervisor reaped every process before it exited.
    for pid in pool {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} outlived the pool"
        );
    }
    let refused = Stream::connect(&server.address, IO_TIMEOUT).map(|_| ());
    assert_eq!(
        refused.map_err(|error| error.kind()),
        Err(ErrorKind::ConnectionRefused)
    );
}

#[test]
fn the_processes_of_a_killed_supervisor_stop_by_themselves() {
    let mut server = Server::pool(2, &[]);
    let pool = server.children();
    server.child.kill().expect("SIGKILL to the supervisor");
    server.child.wait().expect("reaped");
    // Their channel closed: each finishes (nothing in flight) and exits; init reaps them.
    let started = Instant::now();
    loop {
        let alive: Vec<u32> = pool
            .iter()
            .copied()
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                    !stat
                        .rsplit_once(')')
                        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
                })
            })
            .collect();
        if alive.is_empty() {
            break;
        }
        if started.elapsed() > START_TIMEOUT {
            // Not left running: they hold the stderr pipe the test's reader waits on.
            kill(&alive);
            panic!("the processes {alive:?} outlived their supervisor");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// SIGKILL to each of `pids`.
fn kill(pids: &[u32]) {
    for pid in pids {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn an_scgi_pool_answers_from_its_processes() {
    let mut command = Command::new(support::example(FIXTURE, &EXAMPLES));
    command
        .args(["--scgi", "127.0.0.1:0", "--processes", "2"])
        .env_clear()
        .stdin(Stdio::null());
    let mut server = Server::spawn(FIXTURE, command);
    let line = server.wait_for_line(|line| line.contains(" serving "));
    server.address = line
        .strip_prefix(&format!("{FIXTURE}: serving SCGI on "))
        .and_then(|rest| rest.strip_suffix(" with 2 processes"))
        .unwrap_or_else(|| panic!("start line {line:?}"))
        .to_owned();
    let pool = server.wait_for_children(2, &[]);
    for _ in 0..4 {
        let answer = server.scgi_request(
            &[
                ("REQUEST_METHOD", "POST"),
                ("REQUEST_URI", "/cgi-bin/fixture_long_lived"),
                ("SERVER_PROTOCOL", "HTTP/1.1"),
            ],
            b"four",
        );
        let response = parse_cgi(&answer, Rules::default()).expect("a CGI response");
        let answer = probe(&response);
        assert!(
            pool.contains(&answer.pid),
            "{} is not of {pool:?}",
            answer.pid
        );
        assert_eq!(answer.body, 4);
    }
}

// ---------------------------------------------------------------------------------------
// Hostile peers: each connection bounded in memory and in time
// ---------------------------------------------------------------------------------------

/// A FastCGI POST of `length` announced bytes, request 1, without KEEP_CONN: its
/// BEGIN_REQUEST, its PARAMS, and `sent` of its body.
fn post_head(length: usize, sent: &[u8]) -> Vec<u8> {
    let request = fastcgi_with(&post_variables(FIXTURE, "", "text/plain", length));
    let mut bytes = record_bytes(BEGIN_REQUEST, 1, &request.begin_body());
    bytes.extend(record_bytes(PARAMS, 1, &encode_pairs(&request.params)));
    bytes.extend(record_bytes(PARAMS, 1, b""));
    if !sent.is_empty() {
        bytes.extend(record_bytes(STDIN, 1, sent));
    }
    bytes
}

/// Another handle on a TCP connection, to read while another thread writes.
fn reading_copy(stream: &Stream) -> Stream {
    match stream {
        Stream::Tcp(tcp) => Stream::Tcp(tcp.try_clone().expect("a copy of the connection")),
        Stream::Unix(unix) => Stream::Unix(unix.try_clone().expect("a copy of the connection")),
    }
}

/// Reads until the application closes the connection (EOF or a reset) and returns what
/// came, and when it closed; fails the test if it is still open after `bound`.
fn read_until_closed(stream: &mut Stream, bound: Duration) -> (Vec<u8>, Instant) {
    let started = Instant::now();
    stream.set_timeout(bound).expect("a timeout");
    let mut received = Vec::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return (received, Instant::now()),
            Ok(read) => received.extend_from_slice(&buffer[..read]),
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) if timed_out(&error) => panic!(
                "the connection was still open after {bound:?}, having sent {} bytes",
                received.len()
            ),
            Err(_) => return (received, Instant::now()),
        }
        assert!(started.elapsed() < bound, "still sending after {bound:?}");
    }
}

/// Waits for a log line that gives `reason` (naming the option that closed a connection).
fn logged(server: &mut Server, reason: &str) {
    server.wait_for_stderr(&format!("a line naming {reason}"), |lines| {
        lines.iter().any(|line| line.contains(reason))
    });
}

#[test]
fn management_records_inside_a_request_are_answered_at_once_and_memory_stays_flat() {
    // Replies to records that arrive while a request is active (an unknown type here)
    // once waited in memory for the request to end: 8-byte records cost 16 bytes each.
    let server = Server::fastcgi(FIXTURE);
    answered(&server.fastcgi_request(&fastcgi_get(FIXTURE, "")), &server);
    let before = server.peak_rss_kib();
    let mut connection = server.connect();
    connection
        .write_all(&post_head(10, b"0123"))
        .expect("the head and part of the body");
    const RECORDS: usize = 1 << 19;
    let mut replies = reading_copy(&connection);
    let reader = thread::spawn(move || {
        let mut unknown = 0;
        let first = loop {
            let record = replies
                .read_record()
                .expect("a record")
                .expect("no EOF before the answer");
            if record.kind != UNKNOWN_TYPE {
                break record;
            }
            assert_eq!(record.content, [42, 0, 0, 0, 0, 0, 0, 0]);
            unknown += 1;
        };
        (unknown, first, replies)
    });
    let block = record_bytes(42, 0, b"").repeat(64 * 1024);
    let started = Instant::now();
    for _ in 0..RECORDS / (64 * 1024) {
        connection
            .write_all(&block)
            .expect("8 MiB of unknown records");
    }
    connection
        .write_all(
            &[
                record_bytes(STDIN, 1, b"456789"),
                record_bytes(STDIN, 1, b""),
            ]
            .concat(),
        )
        .expect("the rest of the body");
    let (unknown, first, mut replies) = reader.join().expect("the reading thread");
    assert_eq!(unknown, RECORDS, "replies before the answer's first record");
    assert_eq!((first.kind, first.request_id), (gateway_client::STDOUT, 1));
    let mut reply = replies.read_reply(1).expect("the rest of the answer");
    reply.stdout.splice(0..0, first.content);
    assert_eq!(probe(&answered(&reply, &server)).body, 10);
    let grown = server.peak_rss_kib().saturating_sub(before);
    eprintln!(
        "{RECORDS} unknown-type records inside one request, answered in {:?}: peak VmRSS \
         grew {grown} KiB",
        started.elapsed()
    );
    assert!(grown < 4 * 1024, "the peak VmRSS grew {grown} KiB");
}

#[test]
fn a_peer_that_reads_no_replies_is_hung_up_on_after_the_stall_limit() {
    let mut server = Server::start(
        FIXTURE,
        &["--fastcgi", "127.0.0.1:0", "--stall-timeout", "1"],
        &[],
        "FastCGI",
    );
    answered(&server.fastcgi_request(&fastcgi_get(FIXTURE, "")), &server);
    let before = server.peak_rss_kib();
    let mut connection = server.connect();
    connection
        .write_all(&post_head(10, b"0123"))
        .expect("the head and part of the body");
    let block = record_bytes(42, 0, b"").repeat(64 * 1024);
    let started = Instant::now();
    let mut sent = 0;
    let cut_off = loop {
        if let Err(error) = connection.write_all(&block) {
            break error;
        }
        sent += block.len();
        assert!(
            sent < 64 << 20,
            "64 MiB of records went in unanswered: nothing was cut off"
        );
    };
    let took = started.elapsed();
    assert!(
        !timed_out(&cut_off),
        "the application stopped reading but kept the connection"
    );
    // Most of that time goes to answering the records that went in before the socket
    // buffers filled (a debug build, a shared machine): only a hang is caught here.
    assert!(took < Duration::from_secs(20), "cut off after {took:?}");
    let grown = server.peak_rss_kib().saturating_sub(before);
    eprintln!(
        "a peer reading no replies: cut off after {} KiB of records, {took:?}; peak VmRSS \
         grew {grown} KiB",
        sent / 1024
    );
    assert!(grown < 4 * 1024, "the peak VmRSS grew {grown} KiB");
    logged(
        &mut server,
        "read nothing of the answer for 1 s (--stall-timeout)",
    );
}

#[test]
fn parameter_bombs_are_431_and_cost_at_most_twice_their_size() {
    // One request of 4-byte name-value pairs used to take ~38 times its size.
    let server = Server::fastcgi(FIXTURE);
    answered(&server.fastcgi_request(&fastcgi_get(FIXTURE, "")), &server);
    let (before, resident_before) = (server.peak_rss_kib(), server.rss_kib());
    let bomb = |size: usize| {
        let mut stream = encode_pairs(&[(b"REQUEST_METHOD".to_vec(), b"GET".to_vec())]);
        while stream.len() < size {
            stream.extend_from_slice(&[1, 1, b'a', b'b']);
        }
        let mut bytes = record_bytes(BEGIN_REQUEST, 1, &Request::new().begin_body());
        for chunk in stream.chunks(65_528) {
            bytes.extend(record_bytes(PARAMS, 1, chunk));
        }
        bytes.extend(record_bytes(PARAMS, 1, b""));
        bytes.extend(record_bytes(STDIN, 1, b""));
        bytes
    };
    // Under --max-params (256 KiB) but 50,000 variables, past --max-param-count (1000);
    // and past --max-params, which is skipped as it comes.
    let (many, large) = (bomb(200 * 1024), bomb(1024 * 1024));
    let started = Instant::now();
    thread::scope(|scope| {
        let clients: Vec<_> = (0..16)
            .map(|index| {
                let (bytes, reason) = if index % 2 == 0 {
                    (&many, "more than 1000 headers and variables")
                } else {
                    (&large, "larger than 262144 bytes")
                };
                let server = &server;
                scope.spawn(move || {
                    let mut connection = server.connect();
                    connection.write_all(bytes).expect("a parameter bomb");
                    let reply = connection.read_reply(1).expect("an answer to the bomb");
                    let response = answered(&reply, server);
                    assert_eq!(response.status, 431, "{response:?}");
                    assert!(response.text().contains(reason), "{response:?}");
                })
            })
            .collect();
        for client in clients {
            client.join().expect("a client");
        }
    });
    let peak = server.peak_rss_kib().saturating_sub(before);
    let kept = server.rss_kib().saturating_sub(resident_before);
    eprintln!(
        "16 parameter bombs at once (8 of 200 KiB of 4-byte pairs, 8 of 1 MiB) in {:?}: \
         peak VmRSS grew {peak} KiB, {kept} KiB kept after",
        started.elapsed()
    );
    // Eight bombs of 200 KiB held at once, twice over at most.
    assert!(
        peak < 8 * 2 * 200 + 4 * 1024,
        "the peak VmRSS grew {peak} KiB"
    );
    assert!(kept < 8 * 1024, "VmRSS kept {kept} KiB after the bombs");
}

#[test]
fn a_request_head_that_trickles_in_is_cut_off_at_its_deadline() {
    // One worker, and a peer sending its head a byte every 200 ms: every read gets
    // something, the head as a whole never arrives in time.
    let mut server = Server::start(
        FIXTURE,
        &[
            "--fastcgi",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--head-timeout",
            "1",
        ],
        &[],
        "FastCGI",
    );
    let mut dripping = server.connect();
    let mut watching = reading_copy(&dripping);
    let head = fastcgi_get(FIXTURE, "").to_bytes();
    let started = Instant::now();
    let dripper = thread::spawn(move || {
        for byte in head.iter().take(25) {
            if dripping.write_all(&[*byte]).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(200));
        }
    });
    let (answer, closed) = read_until_closed(&mut watching, Duration::from_secs(4));
    let took = closed - started;
    assert!(answer.is_empty(), "{}", answer.escape_ascii());
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(3)).contains(&took),
        "closed after {took:?}"
    );
    // The worker is free for the next connection.
    let started = Instant::now();
    answered(&server.fastcgi_request(&fastcgi_get(FIXTURE, "")), &server);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    dripper.join().expect("the dripping client");
    logged(&mut server, "did not arrive within 1 s (--head-timeout)");
}

#[test]
fn a_silent_scgi_connection_gives_its_worker_back_and_ends_at_the_head_deadline() {
    let headers = get_variables(FIXTURE, "");
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    // One worker, taken by a connection that sends nothing: a request that comes next
    // gets it, as on an idle FastCGI connection.
    let server = Server::start(
        FIXTURE,
        &["--scgi", "127.0.0.1:0", "--workers", "1"],
        &[],
        "SCGI",
    );
    let mut silent = server.connect();
    thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let answer = server.scgi_request(&headers, b"");
    let took = started.elapsed();
    let response = parse_cgi(&answer, Rules::default()).expect("a CGI answer");
    assert_eq!(probe(&response).pid, server.pid());
    assert!(took < Duration::from_secs(3), "served after {took:?}");
    let (left, _) = read_until_closed(&mut silent, Duration::from_secs(1));
    assert!(left.is_empty());

    // With a worker to spare, it is closed at the head's deadline.
    let mut server = Server::start(
        FIXTURE,
        &[
            "--scgi",
            "127.0.0.1:0",
            "--workers",
            "2",
            "--head-timeout",
            "1",
        ],
        &[],
        "SCGI",
    );
    let started = Instant::now();
    let mut silent = server.connect();
    let (left, closed) = read_until_closed(&mut silent, Duration::from_secs(4));
    let took = closed - started;
    assert!(left.is_empty(), "{}", left.escape_ascii());
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(3)).contains(&took),
        "closed after {took:?}"
    );
    logged(&mut server, "(--head-timeout)");
}

#[test]
fn a_body_that_stalls_is_given_up_after_the_stall_limit() {
    for (flag, protocol) in [("--fastcgi", "FastCGI"), ("--scgi", "SCGI")] {
        let mut server = Server::start(
            FIXTURE,
            &[
                flag,
                "127.0.0.1:0",
                "--workers",
                "1",
                "--stall-timeout",
                "1",
            ],
            &[],
            protocol,
        );
        let mut stalled = server.connect();
        let started = Instant::now();
        let head = if protocol == "FastCGI" {
            post_head(100, b"0123456789")
        } else {
            let variables = post_variables(FIXTURE, "", "text/plain", 100);
            let headers: Vec<(&str, &str)> = variables
                .iter()
                .filter(|(name, _)| *name != "CONTENT_LENGTH")
                .map(|(name, value)| (*name, value.as_str()))
                .collect();
            let mut bytes = scgi_request_bytes(&headers, &[b'x'; 100]);
            bytes.truncate(bytes.len() - 90);
            bytes
        };
        stalled.write_all(&head).expect("a head and part of a body");
        let (answer, closed) = read_until_closed(&mut stalled, Duration::from_secs(5));
        let took = closed - started;
        assert!(
            (Duration::from_millis(900)..Duration::from_secs(4)).contains(&took),
            "{protocol}: closed after {took:?}"
        );
        // The handler got a failed read: it answered 400, unless the answer could not go.
        let answer = answer.escape_ascii().to_string();
        assert!(
            answer.is_empty() || answer.contains("Status: 400 Bad Request"),
            "{protocol}: {answer}"
        );
        // The worker is free, and did not linger on the stalled peer.
        let started = Instant::now();
        if protocol == "FastCGI" {
            answered(&server.fastcgi_request(&fastcgi_get(FIXTURE, "")), &server);
        } else {
            server.scgi_request(&[("REQUEST_METHOD", "GET")], b"");
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{protocol}: the next request waited {:?}",
            started.elapsed()
        );
        logged(&mut server, "nothing arrived for 1 s (--stall-timeout)");
    }
}

#[test]
fn a_peer_that_never_reads_the_answer_is_given_up_after_the_stall_limit() {
    let mut server = Server::start(
        FIXTURE,
        &[
            "--fastcgi",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--stall-timeout",
            "1",
        ],
        &[],
        "FastCGI",
    );
    // 32 MiB: more than the socket buffers on both sides hold.
    let mut deaf = server.connect();
    deaf.send_request(&fastcgi_get(FIXTURE, "answer_bytes=33554432"))
        .expect("a request for a large answer");
    let started = Instant::now();
    let reply = server.fastcgi_request(&fastcgi_get(FIXTURE, ""));
    let took = started.elapsed();
    answered(&reply, &server);
    assert!(
        took < Duration::from_secs(4),
        "the next request waited {took:?}"
    );
    logged(
        &mut server,
        "read nothing of the answer for 1 s (--stall-timeout)",
    );
    drop(deaf);
}

/// Connections stalled every way a peer can stall a worker: a head of one byte, a body
/// half sent, a large answer never read, and a kept connection left idle.
fn stall_every_way(server: &Server) -> Vec<Stream> {
    let mut head = server.connect();
    head.write_all(&[1]).expect("one byte of a record header");
    let mut body = server.connect();
    body.write_all(&post_head(100, b"0123"))
        .expect("a head and part of a body");
    let mut deaf = server.connect();
    deaf.send_request(&fastcgi_get(FIXTURE, "answer_bytes=33554432"))
        .expect("a request for a large answer");
    let mut idle = server.connect();
    idle.request(&fastcgi_get(FIXTURE, "").keep_conn(true))
        .expect("a request on a kept connection");
    // Each taken by a worker and under way.
    thread::sleep(Duration::from_millis(500));
    vec![head, body, deaf, idle]
}

#[test]
fn sigterm_abandons_stalled_peers_once_the_grace_period_is_over() {
    // The limits of time stay at their defaults (10 s for a head, 30 s of stall): the
    // grace period is what ends the wait.
    let mut server = Server::start(
        FIXTURE,
        &["--fastcgi", "127.0.0.1:0", "--stop-grace", "1"],
        &[],
        "FastCGI",
    );
    let stalled = stall_every_way(&server);
    let started = Instant::now();
    server.terminate();
    let status = server.wait_for_exit();
    let took = started.elapsed();
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(3)).contains(&took),
        "exited {took:?} after SIGTERM:\n{}",
        server.stderr()
    );
    let lines = server.stderr_lines();
    assert_eq!(
        lines.last().map(String::as_str),
        Some("fixture_long_lived: stopped")
    );
    assert!(
        lines
            .iter()
            .any(|line| line.contains("grace period is over")),
        "{}",
        server.stderr()
    );
    drop(stalled);

    // A handler that does not return holds no stop either: the process exits 2 s later.
    let mut server = Server::start(
        FIXTURE,
        &["--fastcgi", "127.0.0.1:0", "--stop-grace", "1"],
        &[],
        "FastCGI",
    );
    let mut busy = server.connect();
    busy.send_request(&fastcgi_get(FIXTURE, "sleep_ms=60000"))
        .expect("a request that sleeps a minute");
    thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    server.terminate();
    let status = server.wait_for_exit();
    let took = started.elapsed();
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    assert!(
        (Duration::from_millis(2900)..Duration::from_secs(5)).contains(&took),
        "exited {took:?} after SIGTERM:\n{}",
        server.stderr()
    );
    assert!(
        server
            .stderr_lines()
            .iter()
            .any(|line| line.contains("handlers still running")),
        "{}",
        server.stderr()
    );
}

#[test]
fn with_default_bounds_sigterm_among_stalled_peers_exits_within_ten_seconds() {
    let mut server = Server::fastcgi(FIXTURE);
    let stalled = stall_every_way(&server);
    let started = Instant::now();
    server.terminate();
    let status = server.wait_for_exit_within(Duration::from_secs(12));
    let took = started.elapsed();
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    // The default grace period is 8 s.
    assert!(
        (Duration::from_millis(7900)..Duration::from_millis(10_500)).contains(&took),
        "exited {took:?} after SIGTERM:\n{}",
        server.stderr()
    );
    drop(stalled);
}

#[test]
fn socket_mode_is_the_sockets_from_the_moment_it_exists() {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicBool, Ordering};

    // Umasks that would give 0700 and 0777: the mode asked for, never those.
    for (umask, mode) in [("077", 0o666), ("000", 0o600)] {
        let directory = TempDir::new("socket-mode");
        let socket = directory.path().join("app.sock");
        let address = format!("unix:{}", socket.display());
        // Every mode the path shows, from before the process starts until it serves.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let watching = Arc::new(AtomicBool::new(true));
        let watcher = {
            let (socket, seen, watching) =
                (socket.clone(), Arc::clone(&seen), Arc::clone(&watching));
            thread::spawn(move || {
                while watching.load(Ordering::Relaxed) {
                    if let Ok(metadata) = std::fs::symlink_metadata(&socket) {
                        seen.lock()
                            .expect("the modes")
                            .push(metadata.permissions().mode() & 0o7777);
                    }
                }
            })
        };
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(support::example(FIXTURE, &EXAMPLES))
            .args(["--fastcgi", &address, "--socket-mode", &format!("{mode:o}")])
            .env_clear()
            .stdin(Stdio::null());
        let mut server = Server::spawn(FIXTURE, command);
        server.wait_for_line(|line| line.contains(" serving "));
        server.address = address;
        thread::sleep(Duration::from_millis(20));
        watching.store(false, Ordering::Relaxed);
        watcher.join().expect("the watcher");
        let seen = seen.lock().expect("the modes").clone();
        assert!(!seen.is_empty(), "the socket file was never seen");
        let wrong: Vec<String> = seen
            .iter()
            .filter(|seen| **seen != mode)
            .map(|seen| format!("{seen:o}"))
            .collect();
        assert!(
            wrong.is_empty(),
            "umask {umask}, --socket-mode {mode:o}: the socket had mode {wrong:?} in {} looks",
            seen.len()
        );
        answered(&server.fastcgi_request(&fastcgi_get(FIXTURE, "")), &server);
        server.terminate();
        assert_eq!(
            server.wait_for_exit().code(),
            Some(0),
            "{}",
            server.stderr()
        );
        assert!(!socket.exists(), "the socket file survived the stop");
    }
}

#[test]
#[ignore = "20 seconds of mixed load: run it with `cargo test --test long_lived -- --ignored`"]
fn a_soak_of_normal_and_hostile_peers_keeps_memory_flat() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let server = Server::start(
        FIXTURE,
        &[
            "--fastcgi",
            "127.0.0.1:0",
            "--workers",
            "8",
            "--head-timeout",
            "1",
            "--stall-timeout",
            "1",
        ],
        &[],
        "FastCGI",
    );
    let until = Instant::now() + Duration::from_secs(20);
    let (served, attacks) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let samples = Mutex::new(Vec::new());
    let mut bomb = record_bytes(BEGIN_REQUEST, 1, &Request::new().begin_body());
    let pairs = [1, 1, b'a', b'b'].repeat(50 * 1024);
    for chunk in pairs.chunks(65_528) {
        bomb.extend(record_bytes(PARAMS, 1, chunk));
    }
    bomb.extend(record_bytes(PARAMS, 1, b""));
    let records = record_bytes(42, 0, b"").repeat(32 * 1024);
    thread::scope(|scope| {
        let (server, served, attacks) = (&server, &served, &attacks);
        for _ in 0..3 {
            scope.spawn(move || {
                while Instant::now() < until {
                    let reply = server.fastcgi_request(&fastcgi_get(FIXTURE, ""));
                    assert!(reply.stdout.starts_with(b"Status: 200 OK"), "{reply:?}");
                    served.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        scope.spawn(move || {
            let mut kept = server.connect();
            let request = fastcgi_post(FIXTURE, "", "text/plain", &[b'b'; 1000]).keep_conn(true);
            while Instant::now() < until {
                let reply = kept.request(&request).expect("a kept-connection POST");
                assert_eq!(probe(&answered(&reply, server)).body, 1000);
                served.fetch_add(1, Ordering::Relaxed);
            }
        });
        let (bomb, records) = (&bomb, &records);
        for attacker in 0..2 {
            scope.spawn(move || {
                let mut round = attacker;
                while Instant::now() < until {
                    let mut connection = server.connect();
                    match round % 4 {
                        0 => {
                            // Unknown records inside a request, their replies read.
                            connection.write_all(&post_head(4, b"ab")).expect("a head");
                            let mut writer = reading_copy(&connection);
                            let unknown = thread::scope(|both_ways| {
                                both_ways.spawn(move || {
                                    writer.write_all(records).expect("unknown records");
                                    writer
                                        .write_all(&record_bytes(STDIN, 1, b"cd"))
                                        .expect("the body's end");
                                    writer.write_all(&record_bytes(STDIN, 1, b"")).expect("EOF");
                                });
                                let mut unknown = 0;
                                loop {
                                    match connection.read_record().expect("a record") {
                                        Some(record) if record.kind == UNKNOWN_TYPE => {
                                            unknown += 1;
                                        }
                                        Some(record) if record.kind == END_REQUEST => {
                                            break unknown;
                                        }
                                        Some(_) => {}
                                        None => panic!("EOF before the answer"),
                                    }
                                }
                            });
                            assert_eq!(unknown, 32 * 1024);
                        }
                        1 => {
                            connection.write_all(bomb).expect("a parameter bomb");
                            let reply = connection.read_reply(1).expect("an answer");
                            assert!(reply.stdout.starts_with(b"Status: 431 "), "{reply:?}");
                        }
                        2 => {
                            connection.write_all(&[1, 1]).expect("a head's first bytes");
                            read_until_closed(&mut connection, Duration::from_secs(4));
                        }
                        _ => {
                            connection
                                .write_all(&post_head(100, b"0123"))
                                .expect("a stalling body");
                            read_until_closed(&mut connection, Duration::from_secs(4));
                        }
                    }
                    attacks.fetch_add(1, Ordering::Relaxed);
                    round += 1;
                }
            });
        }
        let samples = &samples;
        scope.spawn(move || {
            while Instant::now() < until {
                samples.lock().expect("the samples").push(server.rss_kib());
                thread::sleep(Duration::from_secs(1));
            }
        });
    });
    let samples = samples.into_inner().expect("the samples");
    let (served, attacks) = (served.into_inner(), attacks.into_inner());
    eprintln!(
        "20 s of mixed load: {served} normal requests, {attacks} attacks; VmRSS each second \
         (KiB): {samples:?}"
    );
    assert!(
        served > 100 && attacks > 10,
        "{served} requests, {attacks} attacks"
    );
    let warm = samples[3..8].iter().max().expect("samples");
    let late = samples[samples.len() - 5..].iter().max().expect("samples");
    assert!(
        late.saturating_sub(*warm) < 2 * 1024,
        "VmRSS grew from {warm} KiB to {late} KiB"
    );
}
