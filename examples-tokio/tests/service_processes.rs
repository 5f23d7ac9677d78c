//! Tower services as real processes: `axum_app` and a service that misbehaves on purpose
//! (`tests/fixtures/hostile_service.rs`) run as CGI scripts (a cleared environment, the
//! request in variables) and as FastCGI servers (`--fastcgi 127.0.0.1:0`), as a web
//! server runs them. Every process is killed by pid when its test ends.

#[path = "../../tests/support/gateway_client.rs"]
#[allow(dead_code)]
mod gateway_client;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use gateway_client::{Request, STDOUT, Stream, scgi_exchange, scgi_request_bytes};
use support::{GENERIC_500, Script};

const EXAMPLES: [&str; 4] = [
    "async_handler",
    "axum_app",
    "fixture_hostile_service",
    "fixture_inside_tokio_main",
];
const HOSTILE: &str = "fixture_hostile_service";
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A CGI GET of `/cgi-bin/<name><path_info>?<query>`.
fn cgi_get(name: &str, path_info: &str, query: &str) -> Script {
    Script::example(name, &EXAMPLES).cgi_get(path_info, query)
}

// ---------------------------------------------------------------------------------------
// axum_app as CGI
// ---------------------------------------------------------------------------------------

#[test]
fn axum_app_as_cgi_answers_query_form_json_404_and_head() {
    let search = cgi_get("axum_app", "/search", "q=rust&page=2")
        .run()
        .response();
    assert_eq!(search.status, 200);
    assert_eq!(search.body, b"results for \"rust\", page 2\n");

    let hello = cgi_get("axum_app", "/hello/Ada", "").run().response();
    assert_eq!(hello.body, b"Hello, Ada!\n");

    let json = cgi_get("axum_app", "/api/items/7", "").run().response();
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(json.body, br#"{"id":7,"name":"item 7"}"#);

    let form = cgi_get("axum_app", "/guestbook", "")
        .post(
            "application/x-www-form-urlencoded",
            "name=%3Cb%3E&message=hi+there",
        )
        .run()
        .response();
    assert_eq!(form.body, b"<p>Thank you, &lt;b&gt;: 8 characters.</p>\n");

    let missing = cgi_get("axum_app", "/nowhere", "").run().response();
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, b"no such page\n");

    // The script's own URL, with no PATH_INFO, is the app's `/`; its links carry the
    // script's path.
    let home = cgi_get("axum_app", "", "").run().response();
    let text = String::from_utf8_lossy(&home.body).into_owned();
    assert!(
        text.contains("href=\"/cgi-bin/axum_app/hello/Ada\""),
        "{text}"
    );

    let head = cgi_get("axum_app", "/api/items/7", "")
        .var("REQUEST_METHOD", "HEAD")
        .run()
        .head_response();
    assert_eq!(head.header("content-length"), Some("24"));
}

#[test]
fn a_panicking_route_is_a_generic_500_and_a_log_line() {
    let outcome = cgi_get("axum_app", "/boom", "").run();
    assert_eq!(outcome.stdout, GENERIC_500, "{}", outcome.dump());
    assert!(
        outcome.stderr.contains("axum_app: panicked at")
            && outcome.stderr.contains("the boom route always fails")
            && outcome
                .stderr
                .contains("axum_app: answered 500 after the panic above"),
        "{}",
        outcome.dump()
    );
}

/// Runs a CGI script and returns each stdout read with the time it came.
fn timed_reads(name: &str, path_info: &str) -> Vec<(Duration, Vec<u8>)> {
    let program = support::example(name, &EXAMPLES);
    let mut child = Command::new(program)
        .env_clear()
        .envs([
            ("GATEWAY_INTERFACE", "CGI/1.1"),
            ("REQUEST_METHOD", "GET"),
            ("SCRIPT_NAME", "/cgi-bin/app"),
            ("PATH_INFO", path_info),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the script starts");
    let started = Instant::now();
    let mut stdout = child.stdout.take().expect("piped");
    let mut reads = Vec::new();
    let mut buffer = [0u8; 4096];
    while started.elapsed() < IO_TIMEOUT {
        match stdout.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(count) => reads.push((started.elapsed(), buffer[..count].to_vec())),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    reads
}

#[test]
fn server_sent_events_leave_the_script_one_by_one() {
    let reads = timed_reads("axum_app", "/events");
    let first = reads
        .iter()
        .find(|(_, bytes)| bytes.windows(6).any(|window| window == b"tick 1"))
        .expect("the first event");
    let last = reads
        .iter()
        .find(|(_, bytes)| bytes.windows(6).any(|window| window == b"tick 3"))
        .expect("the last event");
    // Two pauses of 200 ms come between them: the first was not held back for the rest.
    assert!(
        last.0 - first.0 >= Duration::from_millis(300),
        "events arrived together: {reads:?}"
    );
}

// ---------------------------------------------------------------------------------------
// The hostile service as CGI
// ---------------------------------------------------------------------------------------

#[test]
fn a_header_for_the_server_is_a_generic_500_and_a_log_line() {
    let outcome = cgi_get(HOSTILE, "/server-header", "").run();
    assert_eq!(outcome.stdout, GENERIC_500, "{}", outcome.dump());
    assert!(
        outcome
            .stderr
            .contains("answered 500 instead of the handler's response: the `connection` header is for the server"),
        "{}",
        outcome.dump()
    );
}

#[test]
fn an_endless_body_stops_when_the_client_leaves() {
    let outcome = cgi_get(HOSTILE, "/endless", "")
        .close_stdout_after(1 << 20)
        .measure_rss()
        .run();
    // A broken pipe is the client leaving: a quiet exit.
    assert_eq!(outcome.code, Some(0), "{}", outcome.dump());
    assert_eq!(outcome.stdout.len(), 1 << 20);
    if let Some(rss) = outcome.peak_rss_kib {
        assert!(
            rss < 64 * 1024,
            "peak RSS {rss} KiB: the body was not streamed"
        );
    }
}

#[test]
fn a_body_that_fails_or_panics_midway_ends_the_response_there() {
    for (path, reason) in [
        ("/fails-midway", "the database went away"),
        ("/panics-midway", "it panicked: the stream broke"),
    ] {
        let outcome = cgi_get(HOSTILE, path, "").run();
        let stdout = outcome.stdout_text();
        assert!(
            stdout.starts_with("Status: 200 OK\r\n") && stdout.ends_with("\r\n\r\npartial\n"),
            "{}",
            outcome.dump()
        );
        assert_eq!(outcome.code, Some(1), "{}", outcome.dump());
        let line = format!("{HOSTILE}: reading the response body failed after 8 bytes: {reason}");
        assert!(outcome.stderr.contains(&line), "{path}: {}", outcome.dump());
    }
}

#[test]
fn a_panicking_handler_is_a_generic_500() {
    let outcome = cgi_get(HOSTILE, "/panics", "").run();
    assert_eq!(outcome.stdout, GENERIC_500, "{}", outcome.dump());
    assert!(
        outcome.stderr.contains("the handler broke"),
        "{}",
        outcome.dump()
    );
}

// ---------------------------------------------------------------------------------------
// FastCGI
// ---------------------------------------------------------------------------------------

/// A FastCGI server process, killed by pid on drop.
struct Server {
    child: Child,
    address: String,
    stderr: mpsc::Receiver<String>,
}

impl Server {
    fn start(name: &str, workers: &str) -> Server {
        Server::start_with(name, &["--fastcgi", "127.0.0.1:0", "--workers", workers])
    }

    fn start_with(name: &str, args: &[&str]) -> Server {
        let mut child = Command::new(support::example(name, &EXAMPLES))
            .args(args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let (lines, stderr) = mpsc::channel();
        let pipe = child.stderr.take().expect("piped");
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let first = stderr.recv_timeout(IO_TIMEOUT).expect("a start line");
        let address = first
            .split(" on ")
            .nth(1)
            .and_then(|rest| rest.split(" with ").next())
            .unwrap_or_else(|| panic!("start line {first:?}"))
            .to_owned();
        Server {
            child,
            address,
            stderr,
        }
    }

    fn get(&self, path_info: &str, query: &str) -> Vec<u8> {
        let mut stream = Stream::connect(&self.address, IO_TIMEOUT).expect("connects");
        let reply = stream.request(&request(path_info, query)).expect("a reply");
        reply.stdout
    }

    /// Waits for a stderr line that contains `text`.
    fn log_line(&self, text: &str) -> String {
        let deadline = Instant::now() + IO_TIMEOUT;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no log line with {text:?}")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request(path_info: &str, query: &str) -> Request {
    Request::new()
        .param("GATEWAY_INTERFACE", "CGI/1.1")
        .param("REQUEST_METHOD", "GET")
        .param("SCRIPT_NAME", "")
        .param("PATH_INFO", path_info)
        .param("QUERY_STRING", query)
        .param("SERVER_PROTOCOL", "HTTP/1.1")
}

fn body_of(stdout: &[u8]) -> &[u8] {
    let end = stdout
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a head");
    &stdout[end + 4..]
}

#[test]
fn axum_app_as_fastcgi_keeps_its_state_between_requests() {
    let server = Server::start("axum_app", "2");
    assert_eq!(body_of(&server.get("/hello/Ada", "")), b"Hello, Ada!\n");
    assert_eq!(
        body_of(&server.get("/search", "q=x")),
        b"results for \"x\", page 1\n"
    );
    let first = String::from_utf8_lossy(&server.get("/", "")).into_owned();
    let second = String::from_utf8_lossy(&server.get("/", "")).into_owned();
    assert!(first.contains("served by this process: 1<"), "{first}");
    assert!(second.contains("served by this process: 2<"), "{second}");
    // A panic answers 500 and the process goes on.
    assert_eq!(server.get("/boom", ""), GENERIC_500);
    assert_eq!(body_of(&server.get("/hello/Bob", "")), b"Hello, Bob!\n");
}

#[test]
fn fastcgi_workers_answer_async_requests_at_once() {
    // Four requests that each wait 400 ms on a timer: about 400 ms with four workers,
    // at least 1600 ms with one.
    let elapsed = |workers: &str| {
        let server = Server::start(HOSTILE, workers);
        let address = &server.address;
        let get = move || {
            let mut stream = Stream::connect(address, IO_TIMEOUT).expect("connects");
            stream
                .request(&request("/slow", "ms=400"))
                .expect("a reply")
                .stdout
        };
        let started = Instant::now();
        let replies: Vec<Vec<u8>> = thread::scope(|scope| {
            let handles: Vec<_> = (0..4).map(|_| scope.spawn(get)).collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap())
                .collect()
        });
        for reply in replies {
            assert_eq!(body_of(&reply), b"waited 400 ms\n");
        }
        started.elapsed()
    };
    let concurrent = elapsed("4");
    let serial = elapsed("1");
    support::not_run(&format!(
        "measured: 4 async requests of 400 ms took {concurrent:?} with 4 workers, {serial:?} with 1"
    ));
    assert!(concurrent < Duration::from_millis(1200), "{concurrent:?}");
    assert!(serial >= Duration::from_millis(1600), "{serial:?}");
}

#[test]
fn fastcgi_keeps_driving_spawned_tasks_between_requests() {
    let server = Server::start(HOSTILE, "2");
    assert_eq!(body_of(&server.get("/background", "")), b"0\n");
    thread::sleep(Duration::from_millis(500));
    let ticks: u64 = String::from_utf8_lossy(body_of(&server.get("/background", "")))
        .trim()
        .parse()
        .expect("a count");
    // About 50 ticks of 10 ms; without a thread driving the runtime between requests,
    // none.
    assert!(ticks >= 10, "{ticks} ticks in 500 ms");
}

#[test]
fn fastcgi_streams_each_event_as_it_comes() {
    let server = Server::start(HOSTILE, "1");
    let mut stream = Stream::connect(&server.address, IO_TIMEOUT).expect("connects");
    stream.send_request(&request("/events", "")).expect("sent");
    let started = Instant::now();
    let mut arrivals = Vec::new();
    while let Some(record) = stream.read_record().expect("a record") {
        if record.kind == STDOUT && record.content.windows(4).any(|window| window == b"tick") {
            arrivals.push(started.elapsed());
        }
        if record.kind == gateway_client::END_REQUEST {
            break;
        }
    }
    assert_eq!(
        arrivals.len(),
        3,
        "one STDOUT record per event: {arrivals:?}"
    );
    assert!(
        arrivals[2] - arrivals[0] >= Duration::from_millis(500),
        "the events were held back: {arrivals:?}"
    );
}

#[test]
fn fastcgi_survives_an_endless_body_whose_client_leaves() {
    let server = Server::start(HOSTILE, "1");
    let mut stream = Stream::connect(&server.address, IO_TIMEOUT).expect("connects");
    stream.send_request(&request("/endless", "")).expect("sent");
    let mut received = 0;
    while received < 1 << 20 {
        match stream.read_record().expect("a record") {
            Some(record) => received += record.content.len(),
            None => panic!("the stream ended"),
        }
    }
    // The web server closes the connection, as nginx does when its client leaves.
    drop(stream);
    // The only worker is free again: the next request is answered.
    assert_eq!(body_of(&server.get("/slow", "ms=1")), b"waited 1 ms\n");
}

#[test]
fn fastcgi_closes_the_connection_of_a_failing_body_and_goes_on() {
    let server = Server::start(HOSTILE, "1");
    let mut stream = Stream::connect(&server.address, IO_TIMEOUT).expect("connects");
    stream
        .send_request(&request("/fails-midway", ""))
        .expect("sent");
    let mut stdout = Vec::new();
    // No END_REQUEST: a complete-looking answer would let the web server end the client's
    // response as if the body were whole.
    while let Some(record) = stream.read_record().expect("records, then EOF") {
        assert_eq!(record.kind, STDOUT, "{record:?}");
        stdout.extend_from_slice(&record.content);
    }
    assert!(
        stdout.ends_with(b"\r\n\r\npartial\n"),
        "{:?}",
        String::from_utf8_lossy(&stdout)
    );
    let line = server.log_line("reading the response body failed after 8 bytes");
    assert!(line.contains("the database went away"), "{line}");
    assert_eq!(body_of(&server.get("/slow", "ms=1")), b"waited 1 ms\n");
}

// ---------------------------------------------------------------------------------------
// The other modes: SCGI, the terminal request, --serve
// ---------------------------------------------------------------------------------------

#[test]
fn axum_app_as_scgi() {
    let server = Server::start_with("axum_app", &["--scgi", "127.0.0.1:0"]);
    let request = scgi_request_bytes(
        &[
            ("REQUEST_METHOD", "GET"),
            ("SCRIPT_NAME", "/app"),
            ("PATH_INFO", "/hello/Ada"),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
        ],
        b"",
    );
    let answer = scgi_exchange(&server.address, &request, IO_TIMEOUT).expect("an answer");
    assert!(
        answer.starts_with(b"Status: 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(body_of(&answer), b"Hello, Ada!\n");
}

#[test]
fn axum_app_answers_the_terminal_request() {
    let outcome = Script::example("axum_app", &EXAMPLES)
        .args(["/api/items/3"])
        .run();
    let response = outcome.response();
    assert_eq!(
        response.body,
        br#"{"id":3,"name":"item 3"}"#,
        "{}",
        outcome.dump()
    );
    assert!(
        outcome
            .stderr
            .contains("no CGI environment, so answering GET /api/items/3"),
        "{}",
        outcome.dump()
    );
}

#[test]
fn axum_app_under_the_development_server() {
    let port = support::free_port();
    let address = format!("127.0.0.1:{port}");
    let mut child = Command::new(support::example("axum_app", &EXAMPLES))
        .args(["--serve", &address])
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the dev server starts");
    let mut banner = String::new();
    BufReader::new(child.stderr.take().expect("piped"))
        .read_line(&mut banner)
        .expect("a banner");
    let answer = (|| {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(&address).ok()?;
        stream.set_read_timeout(Some(IO_TIMEOUT)).ok()?;
        stream
            .write_all(b"GET /hello/Ada HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).ok()?;
        Some(String::from_utf8_lossy(&raw).into_owned())
    })();
    let _ = child.kill();
    let _ = child.wait();
    let answer = answer.unwrap_or_else(|| panic!("no answer from the dev server ({banner})"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nHello, Ada!\n"), "{answer}");
}

#[test]
fn run_and_service_run_work_from_a_tokio_main() {
    for (call, body) in [
        ("service", "service inside tokio::main\n"),
        ("handler", "handler inside tokio::main\n"),
    ] {
        let outcome = Script::example("fixture_inside_tokio_main", &EXAMPLES)
            .cgi_get("", "")
            .var("SCRIPT_NAME", "")
            .var("REQUEST_URI", "/")
            .var("CALL", call)
            .run();
        let response = outcome.response();
        assert_eq!(response.status, 200, "{}", outcome.dump());
        assert_eq!(response.body, body.as_bytes(), "{}", outcome.dump());
    }
}

// ---------------------------------------------------------------------------------------
// #[cgi::main] async fn: the async_handler example
// ---------------------------------------------------------------------------------------

#[test]
fn an_async_main_awaits_tokio_io_with_a_timeout_as_cgi_and_as_fastcgi() {
    let open = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let closed_address = closed.local_addr().expect("its address");
    drop(closed);
    let check = format!(
        "open={},closed={closed_address}",
        open.local_addr().expect("its address")
    );
    let outcome = cgi_get("async_handler", "", "timeout_ms=2000")
        .var("CHECK", &check)
        .run();
    let response = outcome.response();
    assert_eq!(response.status, 503, "{}", outcome.dump());
    let text = String::from_utf8_lossy(&response.body).into_owned();
    assert!(
        text.contains("open (127.0.0.1:") && text.contains("): up\n"),
        "{text}"
    );
    assert!(
        text.contains("closed (") && text.contains("down (connection refused)"),
        "{text}"
    );

    // The same binary under FastCGI: the runtime's own thread drives the workers' I/O.
    let mut child = Command::new(support::example("async_handler", &EXAMPLES))
        .args(["--fastcgi", "127.0.0.1:0", "--workers", "2"])
        .env_clear()
        .env(
            "CHECK",
            format!("open={}", open.local_addr().expect("its address")),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut first = String::new();
    BufReader::new(child.stderr.take().expect("piped"))
        .read_line(&mut first)
        .expect("a start line");
    let address = first
        .split(" on ")
        .nth(1)
        .and_then(|rest| rest.split(" with ").next())
        .unwrap_or_else(|| panic!("start line {first:?}"))
        .to_owned();
    let replies: Vec<Vec<u8>> = (0..3)
        .map(|_| {
            let mut stream = Stream::connect(&address, IO_TIMEOUT).expect("connects");
            stream.request(&request("", "")).expect("a reply").stdout
        })
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    for reply in replies {
        assert!(
            reply.starts_with(b"Status: 200 OK\r\n"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        assert!(
            body_of(&reply).ends_with(b": up\n"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
    }
}
