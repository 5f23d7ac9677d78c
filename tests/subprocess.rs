//! Subprocess tests: the built example binaries run as a web server runs a CGI script,
//! with a cleared environment, the request in meta-variables, the body on a pipe, and the
//! answer parsed back from stdout by a strict CGI parser.
//!
//! Variable sets are what Apache, lighttpd and nginx + fcgiwrap were measured to pass (the
//! first section below). The runner and the parser are in `tests/support/`; the
//! examples are built before the first run (see `support::example`).

mod support;

use std::time::Duration;

use support::{Script, os};

/// A script that has not exited by then is killed and the test fails.
const TIMEOUT: Duration = Duration::from_secs(10);

const HELLO_OUTPUT: &str = "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\nHello, world!\n";

// ---------------------------------------------------------------------------------------
// Running a script
// ---------------------------------------------------------------------------------------

/// The examples this file runs.
const EXAMPLES: [&str; 6] = [
    "hello",
    "greet",
    "env",
    "json_api",
    "fixture_misbehave",
    "fixture_small_limit",
];

/// The script with an empty environment and an empty, closed stdin.
fn script(name: &str) -> Script {
    Script::example(name, &EXAMPLES).timeout(TIMEOUT)
}

/// A plain GET with the variables every server sets.
fn get(name: &str, query: &str) -> Script {
    script(name).cgi_get("", query)
}

/// A POST of `body` with a correct CONTENT_LENGTH.
fn post(name: &str, content_type: &str, body: &[u8]) -> Script {
    get(name, "").post(content_type, body)
}

// ---------------------------------------------------------------------------------------
// 1. Real servers' variable sets
// ---------------------------------------------------------------------------------------

/// Apache 2.4.71 mod_cgid for `GET /cgi-bin/<script>/extra/path?a=1&b=%20x`.
const APACHE: &[(&str, &str)] = &[
    ("GATEWAY_INTERFACE", "CGI/1.1"),
    ("REQUEST_METHOD", "GET"),
    ("SERVER_PROTOCOL", "HTTP/1.1"),
    ("QUERY_STRING", "a=1&b=%20x"),
    ("PATH_INFO", "/extra/path"),
    ("PATH_TRANSLATED", "/var/www/html/extra/path"),
    ("HTTP_COOKIE", "sid=abc; theme=dark"),
    ("HTTP_HOST", "127.0.0.1:18080"),
    ("HTTP_ACCEPT", "*/*"),
    ("HTTP_USER_AGENT", "curl/7.88.1"),
    ("REMOTE_ADDR", "127.0.0.1"),
    ("REMOTE_PORT", "51234"),
    ("SERVER_NAME", "127.0.0.1"),
    ("SERVER_PORT", "18080"),
    ("SERVER_ADDR", "127.0.0.1"),
    ("SERVER_SOFTWARE", "Apache/2.4.71 (Debian)"),
    ("DOCUMENT_ROOT", "/var/www/html"),
    ("REQUEST_SCHEME", "http"),
    ("CONTEXT_DOCUMENT_ROOT", "/usr/lib/cgi-bin/"),
    ("CONTEXT_PREFIX", "/cgi-bin/"),
    ("SERVER_ADMIN", "webmaster@localhost"),
    (
        "SERVER_SIGNATURE",
        "<address>Apache/2.4.71 (Debian) Server at 127.0.0.1 Port 18080</address>\n",
    ),
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
];

/// lighttpd 1.4.69: `CONTENT_LENGTH=0` on a GET, `REDIRECT_STATUS=200`, no PATH at all.
const LIGHTTPD: &[(&str, &str)] = &[
    ("GATEWAY_INTERFACE", "CGI/1.1"),
    ("REQUEST_METHOD", "GET"),
    ("SERVER_PROTOCOL", "HTTP/1.1"),
    ("QUERY_STRING", "a=1&b=%20x"),
    ("PATH_INFO", "/extra/path"),
    ("PATH_TRANSLATED", "/var/www/html/extra/path"),
    ("CONTENT_LENGTH", "0"),
    ("HTTP_COOKIE", "sid=abc; theme=dark"),
    ("HTTP_HOST", "127.0.0.1:18081"),
    ("HTTP_ACCEPT", "*/*"),
    ("HTTP_USER_AGENT", "curl/7.88.1"),
    ("REMOTE_ADDR", "127.0.0.1"),
    ("REMOTE_PORT", "51236"),
    ("SERVER_NAME", "127.0.0.1"),
    ("SERVER_PORT", "18081"),
    ("SERVER_ADDR", "127.0.0.1"),
    ("SERVER_SOFTWARE", "lighttpd/1.4.69"),
    ("DOCUMENT_ROOT", "/var/www/html"),
    ("REQUEST_SCHEME", "http"),
    ("REDIRECT_STATUS", "200"),
];

/// nginx 1.22 + fcgiwrap for `GET /cgi-bin/<script>?a=1&b=%20x`: empty CONTENT_LENGTH,
/// CONTENT_TYPE, PATH_INFO, SERVER_NAME and REMOTE_USER; HTTP_HOST without the port;
/// fcgiwrap's own environment (PATH) passed through.
const NGINX_FCGIWRAP: &[(&str, &str)] = &[
    ("GATEWAY_INTERFACE", "CGI/1.1"),
    ("REQUEST_METHOD", "GET"),
    ("SERVER_PROTOCOL", "HTTP/1.1"),
    ("QUERY_STRING", "a=1&b=%20x"),
    ("PATH_INFO", ""),
    ("CONTENT_LENGTH", ""),
    ("CONTENT_TYPE", ""),
    ("HTTP_COOKIE", "sid=abc; theme=dark"),
    ("HTTP_HOST", "127.0.0.1"),
    ("HTTP_ACCEPT", "*/*"),
    ("HTTP_USER_AGENT", "curl/7.88.1"),
    ("REMOTE_ADDR", "127.0.0.1"),
    ("REMOTE_PORT", "51238"),
    ("REMOTE_USER", ""),
    ("SERVER_NAME", ""),
    ("SERVER_PORT", "18082"),
    ("SERVER_ADDR", "127.0.0.1"),
    ("SERVER_SOFTWARE", "nginx/1.22.1"),
    ("DOCUMENT_ROOT", "/var/www/html"),
    ("REQUEST_SCHEME", "http"),
    ("REDIRECT_STATUS", "200"),
    ("FCGI_ROLE", "RESPONDER"),
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
];

/// The variables that name the script itself, per server.
fn script_vars(name: &str, server: &str) -> Vec<(&'static str, String)> {
    let script_name = format!("/cgi-bin/{name}");
    let filename = format!("/usr/lib/cgi-bin/{name}");
    let request_uri = match server {
        "nginx" => format!("{script_name}?a=1&b=%20x"),
        _ => format!("{script_name}/extra/path?a=1&b=%20x"),
    };
    let mut vars = vec![
        ("SCRIPT_NAME", script_name.clone()),
        ("SCRIPT_FILENAME", filename),
        ("REQUEST_URI", request_uri),
    ];
    if server == "nginx" {
        vars.push(("DOCUMENT_URI", script_name));
    }
    vars
}

fn under_server(name: &'static str, server: &str) -> Script {
    let vars = match server {
        "apache" => APACHE,
        "lighttpd" => LIGHTTPD,
        "nginx" => NGINX_FCGIWRAP,
        _ => unreachable!("unknown server {server}"),
    };
    let mut script = script(name).vars(vars.iter().copied());
    for (variable, value) in script_vars(name, server) {
        script = script.var(variable, value);
    }
    script
}

#[test]
fn hello_answers_exactly_under_each_servers_variables() {
    for server in ["apache", "lighttpd", "nginx"] {
        let outcome = under_server("hello", server).run();
        assert_eq!(outcome.code, Some(0), "{server}: {}", outcome.dump());
        assert_eq!(
            outcome.stdout_text(),
            HELLO_OUTPUT,
            "{server}: {}",
            outcome.dump()
        );
        assert_eq!(outcome.stderr, "", "{server}: {}", outcome.dump());
    }
}

#[test]
fn env_page_normalises_each_servers_variables() {
    for server in ["apache", "lighttpd", "nginx"] {
        let outcome = under_server("env", server).run();
        let response = outcome.response();
        assert_eq!(response.status, 200, "{server}: {}", outcome.dump());
        assert_eq!(
            response.header("Content-Type"),
            Some("text/html; charset=utf-8")
        );
        let page = response.text();
        assert!(
            page.contains("<dt>method</dt><dd>GET</dd>"),
            "{server}: {page}"
        );
        assert!(
            page.contains("<tr><th>HTTP_COOKIE</th><td>sid=abc; theme=dark</td></tr>"),
            "{server}: {page}"
        );
        if server == "nginx" {
            // Empty is unset (RFC 3875 §4.1): nginx's empty variables are not listed.
            for empty in ["SERVER_NAME", "PATH_INFO", "CONTENT_LENGTH", "REMOTE_USER"] {
                assert!(
                    !page.contains(&format!("<th>{empty}</th>")),
                    "{server}: {empty} listed: {page}"
                );
            }
            assert!(page.contains("<dt>path info</dt><dd>None</dd>"), "{page}");
        } else {
            assert!(
                page.contains("<dt>path info</dt><dd>Some(&quot;/extra/path&quot;)</dd>"),
                "{server}: {page}"
            );
        }
        assert_eq!(outcome.stderr, "", "{server}: {}", outcome.dump());
    }
}

// ---------------------------------------------------------------------------------------
// 2. Typed query and escaping
// ---------------------------------------------------------------------------------------

#[test]
fn greet_escapes_the_name() {
    let outcome = get("greet", "name=%3Cb%3EAda%3C%2Fb%3E").run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    assert_eq!(
        response.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        response
            .text()
            .contains("<p>Hello, &lt;b&gt;Ada&lt;/b&gt;!</p>"),
        "{}",
        outcome.dump()
    );
    assert!(!response.text().contains("<b>"), "{}", outcome.dump());
    assert_eq!(outcome.stderr, "");
}

#[test]
fn greet_without_name_is_a_400_naming_the_field() {
    let outcome = get("greet", "greeting=Bonjour").run();
    let response = outcome.response();
    assert_eq!(response.status, 400, "{}", outcome.dump());
    assert!(response.head.starts_with("Status: 400 Bad Request\r\n"));
    assert!(response.text().contains("`name`"), "{}", outcome.dump());
    let lines: Vec<&str> = outcome.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", outcome.dump());
    assert!(
        lines[0].starts_with("greet: 400 ") && lines[0].contains("`name`"),
        "{}",
        outcome.dump()
    );
}

// ---------------------------------------------------------------------------------------
// 3. Minimal and unusual environments
// ---------------------------------------------------------------------------------------

#[test]
fn request_method_alone_is_enough() {
    let outcome = script("hello").var("REQUEST_METHOD", "GET").run();
    assert_eq!(outcome.code, Some(0), "{}", outcome.dump());
    assert_eq!(outcome.stdout_text(), HELLO_OUTPUT, "{}", outcome.dump());
    assert_eq!(outcome.stderr, "", "{}", outcome.dump());
}

#[test]
fn server_protocol_included_is_accepted() {
    let outcome = get("hello", "").var("SERVER_PROTOCOL", "INCLUDED").run();
    assert_eq!(outcome.stdout_text(), HELLO_OUTPUT, "{}", outcome.dump());
    let outcome = get("env", "").var("SERVER_PROTOCOL", "INCLUDED").run();
    let response = outcome.response();
    assert_eq!(response.status, 200);
    assert!(
        response
            .text()
            .contains("<tr><th>SERVER_PROTOCOL</th><td>INCLUDED</td></tr>")
    );
}

#[test]
fn gateway_interface_without_request_method_is_a_500() {
    let outcome = get("hello", "").without("REQUEST_METHOD").run();
    let response = outcome.response();
    assert_eq!(response.status, 500, "{}", outcome.dump());
    assert!(!response.text().contains("Hello"), "{}", outcome.dump());
    assert!(
        outcome.stderr.contains("REQUEST_METHOD"),
        "{}",
        outcome.dump()
    );
}

// ---------------------------------------------------------------------------------------
// 4. Bytes that are not UTF-8 (servers pass them through raw)
// ---------------------------------------------------------------------------------------

#[test]
fn non_utf8_variables_do_not_break_a_script() {
    let raw = |script: Script| {
        script
            .var("HTTP_X_BIN", os(b"\xC3\xA9\xFF"))
            .var("PATH_INFO", os(b"/\xC3\xA9\xFF"))
            .var("QUERY_STRING", os(b"a=\xFF&b=%FF"))
            .var(os(b"HTTP_X_\xFF"), "name is not UTF-8")
    };
    let outcome = raw(get("hello", "")).run();
    assert_eq!(outcome.code, Some(0), "{}", outcome.dump());
    assert_eq!(outcome.stdout_text(), HELLO_OUTPUT, "{}", outcome.dump());
    assert_eq!(outcome.stderr, "", "{}", outcome.dump());

    let outcome = raw(get("env", "")).run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    let page = response.text();
    assert!(
        page.contains("<tr><th>HTTP_X_BIN</th><td>é\u{FFFD}</td></tr>"),
        "{page}"
    );
    assert!(
        page.contains("<tr><th>PATH_INFO</th><td>/é\u{FFFD}</td></tr>"),
        "{page}"
    );
    // The text accessor refuses bytes that are not UTF-8 rather than guessing.
    assert!(page.contains("<dt>path info</dt><dd>None</dd>"), "{page}");
    assert!(!outcome.stderr.contains("panicked"), "{}", outcome.dump());
}

#[test]
fn a_query_that_is_not_utf8_is_a_400_for_a_string_field() {
    for query in [&b"name=\xFF"[..], b"name=%FF", b"name=Ada%C0%AF"] {
        let outcome = get("greet", "").var("QUERY_STRING", os(query)).run();
        let response = outcome.response();
        assert_eq!(response.status, 400, "{query:?}: {}", outcome.dump());
        assert!(response.text().contains("UTF-8"), "{}", outcome.dump());
        assert!(!outcome.stderr.contains("panicked"), "{}", outcome.dump());
    }
}

// ---------------------------------------------------------------------------------------
// 5. Panics
// ---------------------------------------------------------------------------------------

#[test]
fn a_panic_is_a_generic_500_and_one_log_line_without_backtrace() {
    let outcome = get("fixture_misbehave", "panic=1")
        .var("RUST_BACKTRACE", "1")
        .var("RUST_LIB_BACKTRACE", "1")
        .run();
    let response = outcome.response();
    assert_eq!(response.status, 500, "{}", outcome.dump());
    assert!(
        response
            .head
            .starts_with("Status: 500 Internal Server Error"),
        "{}",
        outcome.dump()
    );
    assert!(
        !outcome.stdout_text().contains("secret-token-123"),
        "the panic message reached the client: {}",
        outcome.dump()
    );
    // Logged once: the hook's line (the core does not repeat the message).
    assert_eq!(
        outcome.stderr.matches("secret-token-123").count(),
        1,
        "{}",
        outcome.dump()
    );
    let hook_lines: Vec<&str> = outcome
        .stderr
        .lines()
        .filter(|line| line.contains("panicked at"))
        .collect();
    assert_eq!(hook_lines.len(), 1, "{}", outcome.dump());
    assert!(
        hook_lines[0].starts_with("fixture_misbehave: panicked at ")
            && hook_lines[0].contains("misbehave.rs:"),
        "{}",
        outcome.dump()
    );
    assert!(
        !outcome.stderr.contains("stack backtrace") && !outcome.stderr.contains("note: run with"),
        "{}",
        outcome.dump()
    );
}

// ---------------------------------------------------------------------------------------
// 6. HEAD (RFC 3875 §4.3.3)
// ---------------------------------------------------------------------------------------

#[test]
fn head_has_the_gets_headers_and_no_body() {
    for (name, query) in [("hello", ""), ("greet", "name=Ada"), ("greet", "")] {
        let get_response = get(name, query).run().response();
        let outcome = get(name, query).var("REQUEST_METHOD", "HEAD").run();
        let head_response = outcome.head_response();
        assert!(head_response.body.is_empty(), "{}", outcome.dump());
        assert_eq!(head_response.head, get_response.head, "{name}?{query}");
        assert!(!get_response.body.is_empty());
    }
    let outcome = get("hello", "").var("REQUEST_METHOD", "HEAD").run();
    assert_eq!(
        outcome.stdout_text(),
        "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\n"
    );
}

// ---------------------------------------------------------------------------------------
// 7. Response header injection
// ---------------------------------------------------------------------------------------

#[test]
fn a_header_value_from_the_query_is_echoed_when_safe() {
    let outcome = get("fixture_misbehave", "echo=hello").run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    assert_eq!(response.header("X-Echo"), Some("hello"));
    assert_eq!(response.text(), "echoed");
}

#[test]
fn header_injection_fails_closed_to_a_generic_500() {
    for query in [
        "echo=a%0D%0ASet-Cookie:%20admin=1",
        "echo=a%0ASet-Cookie:%20admin=1",
        "echo=a%0D%0A%0D%0A<h1>admin</h1>",
        "echo=a%00admin",
    ] {
        let outcome = get("fixture_misbehave", query).run();
        let response = outcome.response();
        assert_eq!(response.status, 500, "{query}: {}", outcome.dump());
        let stdout = outcome.stdout_text();
        assert!(
            !stdout.contains("Set-Cookie") && !stdout.contains("admin"),
            "{}",
            outcome.dump()
        );
        assert!(response.header("X-Echo").is_none());
        assert!(outcome.stderr.contains("X-Echo"), "{}", outcome.dump());
        assert!(!outcome.stderr.contains("admin"), "{}", outcome.dump());
    }
}

// ---------------------------------------------------------------------------------------
// 8. httpoxy
// ---------------------------------------------------------------------------------------

#[test]
fn http_proxy_is_not_inherited_by_children() {
    let outcome = get("fixture_misbehave", "child=1")
        .var("HTTP_PROXY", "http://evil.invalid:1")
        .run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    let child_env = response.text();
    // The child does inherit the rest of the environment: the check below means something.
    assert!(
        child_env.lines().any(|line| line == "REQUEST_METHOD=GET"),
        "{child_env}"
    );
    assert!(
        !child_env
            .lines()
            .any(|line| line.starts_with("HTTP_PROXY=")),
        "httpoxy: the child saw HTTP_PROXY:\n{child_env}"
    );
    assert!(!child_env.contains("evil.invalid"), "{child_env}");
}

#[test]
fn env_page_shows_the_proxy_header_but_not_in_the_process_environment() {
    let outcome = get("env", "")
        .var("HTTP_PROXY", "http://evil.invalid:1")
        .run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    let page = response.text();
    assert!(
        page.contains("<tr><th>HTTP_PROXY</th><td>http://evil.invalid:1</td></tr>"),
        "{page}"
    );
    assert!(
        page.contains("<dt>HTTP_PROXY in this process&#39;s environment</dt><dd>false</dd>"),
        "{page}"
    );
}

// ---------------------------------------------------------------------------------------
// 9. The request body, through `#[cgi::main(max_body = 16)]`
// ---------------------------------------------------------------------------------------

const FORM: &str = "application/x-www-form-urlencoded";

#[test]
fn a_small_form_post_is_read() {
    let outcome = post("fixture_small_limit", FORM, b"text=hi").run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    assert_eq!(response.text(), "hi");
    assert_eq!(outcome.stderr, "", "{}", outcome.dump());
    // Exactly at the limit: 16 bytes.
    let outcome = post("fixture_small_limit", FORM, b"text=0123456789a").run();
    assert_eq!(
        outcome.response().text(),
        "0123456789a",
        "{}",
        outcome.dump()
    );
}

#[test]
fn a_form_post_under_nginx_variables_is_read() {
    // nginx also passes HTTP_CONTENT_TYPE / HTTP_CONTENT_LENGTH; the unprefixed ones rule.
    let outcome = under_server("fixture_small_limit", "nginx")
        .var("REQUEST_METHOD", "POST")
        .var("QUERY_STRING", "")
        .var("CONTENT_TYPE", FORM)
        .var("CONTENT_LENGTH", "7")
        .var("HTTP_CONTENT_TYPE", "text/plain")
        .var("HTTP_CONTENT_LENGTH", "999")
        .body("text=hi")
        .run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    assert_eq!(response.text(), "hi");
}

#[test]
fn the_body_is_read_up_to_content_length_only() {
    let outcome = post("fixture_small_limit", FORM, b"text=hi")
        .body("text=hi&text=again")
        .run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    assert_eq!(response.text(), "hi");
}

#[test]
fn a_body_over_max_body_is_a_413() {
    let outcome = post("fixture_small_limit", FORM, b"text=0123456789ab").run();
    let response = outcome.response();
    assert_eq!(response.status, 413, "{}", outcome.dump());
    assert!(response.text().contains("16"), "{}", outcome.dump());
    assert!(outcome.stderr.contains("413"), "{}", outcome.dump());
}

#[test]
fn a_large_rejected_body_is_drained_promptly() {
    // Far more than a pipe holds (64 KiB): the writer only finishes if the script reads it all.
    let mut body = b"text=".to_vec();
    body.resize(1 << 20, b'x');
    for size in [64 * 1024, 1 << 20] {
        let outcome = post("fixture_small_limit", FORM, &body[..size]).run();
        let response = outcome.response();
        assert_eq!(response.status, 413, "{size}: {}", outcome.dump());
        assert!(
            outcome.stdin_written.is_ok(),
            "{size}: the body was not drained: {:?}\n{}",
            outcome.stdin_written,
            outcome.dump()
        );
        assert!(
            outcome.elapsed < Duration::from_secs(4),
            "{size}: draining a closed body took {:?}",
            outcome.elapsed
        );
    }
}

#[test]
fn a_content_length_that_is_not_a_number_is_a_400() {
    // The malformed lengths are tabled in the unit tests; this is the process's smoke test.
    let outcome = post("fixture_small_limit", FORM, b"text=hi")
        .var("CONTENT_LENGTH", " 7")
        .run();
    let response = outcome.response();
    assert_eq!(response.status, 400, "{}", outcome.dump());
    assert!(
        response.text().contains("CONTENT_LENGTH"),
        "{}",
        outcome.dump()
    );
}

#[test]
fn a_body_shorter_than_content_length_is_a_400() {
    let outcome = post("fixture_small_limit", FORM, b"t=x")
        .var("CONTENT_LENGTH", "10")
        .run();
    let response = outcome.response();
    assert_eq!(response.status, 400, "{}", outcome.dump());
    assert!(
        response.text().contains("ended early"),
        "{}",
        outcome.dump()
    );
}

#[test]
fn chunked_without_content_length_is_a_411() {
    let outcome = post("fixture_small_limit", FORM, b"")
        .without("CONTENT_LENGTH")
        .var("HTTP_TRANSFER_ENCODING", "chunked")
        .body("7\r\ntext=hi\r\n0\r\n\r\n")
        .run();
    let response = outcome.response();
    assert_eq!(response.status, 411, "{}", outcome.dump());
    assert!(
        outcome.stdin_written.is_ok(),
        "the chunked body was not drained: {}",
        outcome.dump()
    );
}

#[test]
fn chunked_on_a_stdin_that_never_ends_still_answers() {
    // Python's http.server: stdin is the client socket, so there is no EOF. The drain gives
    // up after its 5 s timeout.
    let outcome = post("fixture_small_limit", FORM, b"")
        .without("CONTENT_LENGTH")
        .var("HTTP_TRANSFER_ENCODING", "chunked")
        .held_open()
        .run();
    let response = outcome.response();
    assert_eq!(response.status, 411, "{}", outcome.dump());
    assert!(
        outcome.elapsed < Duration::from_secs(9),
        "answered only after {:?}",
        outcome.elapsed
    );
}

#[test]
fn a_body_that_is_not_a_form_is_a_415() {
    let outcome = post("fixture_small_limit", "text/plain", b"text=hi").run();
    let response = outcome.response();
    assert_eq!(response.status, 415, "{}", outcome.dump());
    assert!(response.text().contains("text/plain"), "{}", outcome.dump());
}

#[test]
fn a_form_without_the_field_is_a_422() {
    let outcome = post("fixture_small_limit", FORM, b"other=1").run();
    let response = outcome.response();
    assert_eq!(response.status, 422, "{}", outcome.dump());
    assert!(response.text().contains("`text`"), "{}", outcome.dump());
}

#[test]
fn a_get_never_reads_stdin() {
    // No CONTENT_LENGTH and a stdin that never ends: reading it would hang until TIMEOUT.
    for (name, query, expected) in [
        ("fixture_small_limit", "text=hi", "hi"),
        ("hello", "", "Hello, world!\n"),
    ] {
        let outcome = get(name, query).held_open().run();
        let response = outcome.response();
        assert_eq!(response.status, 200, "{}", outcome.dump());
        assert_eq!(response.text(), expected);
        assert!(
            outcome.elapsed < Duration::from_secs(4),
            "{name} took {:?}",
            outcome.elapsed
        );
    }
}

// ---------------------------------------------------------------------------------------
// 10. The client has gone: stdout is a broken pipe
// ---------------------------------------------------------------------------------------

#[test]
fn a_closed_stdout_is_not_a_panic() {
    for (name, runner) in [
        ("hello", get("hello", "")),
        ("env", get("env", "").var("HTTP_X_PAD", "x".repeat(100_000))),
        ("hello offline", script("hello")),
    ] {
        let outcome = runner.stdout_reader_closed().run();
        assert_eq!(outcome.code, Some(0), "{name}: {}", outcome.dump());
        for forbidden in ["panicked", "failed printing", "Broken pipe"] {
            assert!(
                !outcome.stderr.contains(forbidden),
                "{name}: {}",
                outcome.dump()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 11. Offline mode: run from a terminal
// ---------------------------------------------------------------------------------------

#[test]
fn offline_hello_prints_a_cgi_response_and_a_note() {
    let outcome = script("hello").run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    assert_eq!(response.text(), "Hello, world!\n");
    assert!(
        outcome.stderr.contains("no CGI environment"),
        "{}",
        outcome.dump()
    );
}

#[test]
fn offline_arguments_become_the_query() {
    let outcome = script("greet").arg("name=<Ada>").run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    assert!(
        response.text().contains("<p>Hello, &lt;Ada&gt;!</p>"),
        "{}",
        outcome.dump()
    );
}

#[test]
fn offline_help_prints_usage() {
    for flag in ["--help", "-h"] {
        let outcome = script("hello").arg(flag).run();
        assert_eq!(outcome.code, Some(0), "{}", outcome.dump());
        let stdout = outcome.stdout_text();
        assert!(stdout.contains("Usage:"), "{}", outcome.dump());
        assert!(
            stdout.contains("hello '/items?id=7'") && stdout.contains("hello --serve"),
            "{}",
            outcome.dump()
        );
        assert!(!stdout.starts_with("Status:"), "{}", outcome.dump());
    }
}

#[test]
fn offline_bad_argument_exits_2() {
    let outcome = script("hello").arg("-Z").run();
    assert_eq!(outcome.code, Some(2), "{}", outcome.dump());
    assert!(outcome.stdout.is_empty(), "{}", outcome.dump());
    assert!(
        outcome.stderr.contains("unexpected argument \"-Z\"") && outcome.stderr.contains("Usage:"),
        "{}",
        outcome.dump()
    );
}

// ---------------------------------------------------------------------------------------
// 12. The json_api example: JSON in and out, typed JSON errors
// ---------------------------------------------------------------------------------------

const JSON: &str = "application/json";

#[test]
fn json_api_converts() {
    let outcome = post("json_api", JSON, br#"{"celsius": 21.5}"#).run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    assert_eq!(response.header("content-type"), Some(JSON));
    assert_eq!(response.text(), r#"{"fahrenheit":70.7}"#);
}

#[test]
fn json_api_errors_are_json_with_their_status() {
    for (body, status, fragment) in [
        (&br#"{"celsius": -300}"#[..], 422, "below absolute zero"),
        (br#"{"celsius": "warm"}"#, 422, "field `celsius`"),
        (br#"{"celsius": "#, 400, "Malformed JSON"),
    ] {
        let outcome = post("json_api", JSON, body).run();
        let response = outcome.response();
        assert_eq!(response.status, status, "{}", outcome.dump());
        assert_eq!(response.header("content-type"), Some(JSON));
        assert!(response.text().contains(fragment), "{}", outcome.dump());
        assert!(
            response.text().contains(&format!("\"status\":{status}")),
            "{}",
            outcome.dump()
        );
    }
    let outcome = post("json_api", "text/plain", b"21.5").run();
    assert_eq!(outcome.response().status, 415, "{}", outcome.dump());
}

#[test]
fn json_api_get_is_405_with_allow() {
    let outcome = get("json_api", "").run();
    let response = outcome.response();
    assert_eq!(response.status, 405, "{}", outcome.dump());
    assert_eq!(response.header("allow"), Some("POST"));
}

#[test]
fn json_api_limits_the_body_to_4096_bytes() {
    let body = format!(r#"{{"celsius": 1{}}}"#, " ".repeat(5000));
    let outcome = post("json_api", JSON, body.as_bytes()).run();
    assert_eq!(outcome.response().status, 413, "{}", outcome.dump());
}
