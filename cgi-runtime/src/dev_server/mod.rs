//! `--serve`: a development web server that runs the script as a CGI child per request, as
//! a faithful host would (Go's `net/http/cgi.Handler` is the model), so a script can be
//! tried in a browser without installing a web server.

use std::ffi::OsString;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use crate::host::cgi_output::{self, Output};
use crate::host::{HeaderPolicy, Host, HttpRequest, cgi_variables};

/// How many local redirects one request may follow (a script redirecting to itself).
const MAX_LOCAL_REDIRECTS: usize = 10;

struct Settings {
    program: String,
    script: PathBuf,
    trace: bool,
    local: SocketAddr,
    /// The `PATH` children get: this server's own.
    path: OsString,
    /// Settings children get besides their CGI variables, as a server's `SetEnv` gives
    /// them: the session secret (see [`session_settings`]).
    settings_env: Vec<(OsString, OsString)>,
}

/// The session settings of this server's environment, passed on to its scripts; without a
/// secret, a random one for this run, so that sessions work under `--serve` as they are
/// (and end when it stops).
fn session_settings() -> Vec<(OsString, OsString)> {
    let names = [
        "CGIKIT_SESSION_SECRET_FILE",
        "CGIKIT_SESSION_SECRET",
        "CGIKIT_SESSION_MAX_AGE",
    ];
    let mut settings: Vec<(OsString, OsString)> = names
        .iter()
        .filter_map(|name| Some(((*name).into(), std::env::var_os(name)?)))
        .collect();
    if !settings
        .iter()
        .any(|(name, _)| name != "CGIKIT_SESSION_MAX_AGE")
    {
        let secret = format!(
            "{}{}",
            crate::csrf::random_token(),
            crate::csrf::random_token()
        );
        settings.push(("CGIKIT_SESSION_SECRET".into(), secret.into()));
    }
    settings
}

/// Serves until the process is stopped (Ctrl-C).
pub(crate) fn run(program: &str, address: &str, trace: bool) -> io::Result<()> {
    let script = std::env::current_exe()?;
    let server = tiny_http::Server::http(address)
        .map_err(|error| io::Error::other(format!("cannot listen on {address}: {error}")))?;
    let local = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| io::Error::other("not an IP address"))?;
    for line in greeting(program, local) {
        eprintln!("{line}");
    }
    let settings = Arc::new(Settings {
        program: program.to_owned(),
        script,
        trace,
        local,
        path: std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
        settings_env: session_settings(),
    });
    for request in server.incoming_requests() {
        let settings = Arc::clone(&settings);
        std::thread::spawn(move || answer(&settings, request));
    }
    Ok(())
}

/// What the server says when it starts: its URL, and a warning when other machines can
/// reach it (anything but loopback).
fn greeting(program: &str, local: SocketAddr) -> Vec<String> {
    let mut lines = vec![format!("{program}: serving http://{local}/ (Ctrl-C stops)")];
    if !local.ip().is_loopback() {
        lines.push(format!(
            "{program}: warning: {local} is reachable from other machines; this server is for development only"
        ));
    }
    lines
}

fn answer(settings: &Settings, mut request: tiny_http::Request) {
    let started = Instant::now();
    let method = request.method().to_string();
    let target = request.url().to_owned();
    let protocol = format!("HTTP/{}", request.http_version());
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|header| (header.field.to_string(), header.value.to_string()))
        .collect();
    let host = Host {
        software: "cgikit-dev",
        headers: HeaderPolicy::Faithful,
        server_name: None,
        local: settings.local,
        remote_addr: request.remote_addr().map(SocketAddr::ip),
        remote_port: request.remote_addr().map(SocketAddr::port),
        path: Some(settings.path.clone()),
    };
    // tiny_http has already removed any chunked framing: the script gets a plain body with
    // its CONTENT_LENGTH, as lighttpd and nginx give it.
    let mut body = Vec::new();
    let (status, response) = match std::io::Read::read_to_end(request.as_reader(), &mut body) {
        Err(error) => bad_gateway(&format!("could not read the request body: {error}")),
        Ok(_) => {
            let request = HttpRequest {
                method: &method,
                target: &target,
                protocol: &protocol,
                headers: &headers,
                content_length: (!body.is_empty()).then_some(body.len() as u64),
            };
            run_script(settings, &host, request, &body)
        }
    };
    let _ = request.respond(response);
    eprintln!(
        "{}: {method} {target} -> {status} ({} ms)",
        settings.program,
        started.elapsed().as_millis()
    );
}

/// Runs the script, following local redirects, and builds the HTTP response.
fn run_script(
    settings: &Settings,
    host: &Host,
    first: HttpRequest<'_>,
    mut body: &[u8],
) -> (u16, tiny_http::ResponseBox) {
    let mut redirected_to: Option<String> = None;
    for _ in 0..=MAX_LOCAL_REDIRECTS {
        let request = match &redirected_to {
            None => first,
            // §6.2.2: the server fetches the new location itself, as a GET without body
            // (what Apache does).
            Some(location) => HttpRequest {
                method: "GET",
                target: location,
                content_length: None,
                ..first
            },
        };
        let mut vars = cgi_variables(host, &request);
        if settings.trace {
            trace_vars(&settings.program, &vars);
        }
        // After the trace: a secret has no place in a terminal's scrollback.
        vars.extend(settings.settings_env.iter().cloned());
        let raw = match execute(&settings.script, vars, body) {
            Ok(raw) => raw,
            Err(error) => {
                return bad_gateway(&format!(
                    "{}: could not run the script: {error}",
                    settings.program
                ));
            }
        };
        if settings.trace {
            trace_head(&settings.program, &raw);
        }
        match cgi_output::parse(&raw) {
            Err(reason) => {
                eprintln!(
                    "{}: the script's output is malformed: {reason}",
                    settings.program
                );
                return bad_gateway(&format!(
                    "Bad Gateway: the script's output is malformed: {reason}\n"
                ));
            }
            Ok(Output::Document {
                status,
                headers,
                body,
            }) => {
                return (
                    status,
                    document(status, &headers, body, request.method == "HEAD"),
                );
            }
            Ok(Output::LocalRedirect(location)) => {
                redirected_to = Some(location);
                body = &[];
            }
        }
    }
    bad_gateway("Bad Gateway: too many local redirects\n")
}

fn execute(script: &Path, vars: Vec<(OsString, OsString)>, body: &[u8]) -> io::Result<Vec<u8>> {
    let mut child = Command::new(script)
        .env_clear()
        .envs(vars)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // The script's error log is this terminal.
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // Written on its own thread: a script may answer before reading all of a large body.
    let output = std::thread::scope(|scope| {
        scope.spawn(move || {
            let _ = stdin.write_all(body);
        });
        child.wait_with_output()
    })?;
    Ok(output.stdout)
}

/// The HTTP response for a script's document. For HEAD the body is dropped whatever the
/// script sent (RFC 3875 §4.3.3 forbids one, not every script obeys) and the script's own
/// Content-Length is kept, as a GET would have had it.
fn document(
    status: u16,
    headers: &[(String, Vec<u8>)],
    body: Vec<u8>,
    head: bool,
) -> tiny_http::ResponseBox {
    let declared_length = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| std::str::from_utf8(value).ok()?.parse::<usize>().ok());
    let length = body.len();
    let (body, length) = if head {
        (Vec::new(), declared_length.unwrap_or(length))
    } else {
        (body, length)
    };
    let mut response = tiny_http::Response::new(
        tiny_http::StatusCode(status),
        Vec::new(),
        io::Cursor::new(body),
        Some(length),
        None,
    );
    for (name, value) in headers {
        // The host frames the response itself.
        if name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_slice()) {
            response.add_header(header);
        }
    }
    response.boxed()
}

fn bad_gateway(message: &str) -> (u16, tiny_http::ResponseBox) {
    let response = tiny_http::Response::from_string(message)
        .with_status_code(502)
        .with_header(
            tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"text/plain; charset=utf-8"[..])
                .expect("a valid header"),
        );
    (502, response.boxed())
}

fn trace_vars(program: &str, vars: &[(OsString, OsString)]) {
    let mut sorted: Vec<_> = vars.iter().collect();
    sorted.sort();
    let mut out = io::stderr().lock();
    let _ = writeln!(out, "{program}: --- CGI variables ---");
    for (name, value) in sorted {
        let _ = writeln!(
            out,
            "{program}:   {}={}",
            name.to_string_lossy(),
            value.to_string_lossy()
        );
    }
}

fn trace_head(program: &str, raw: &[u8]) {
    let head_end = cgi_output::split_head(raw).map_or(raw.len().min(2048), |(head, _)| head.len());
    let mut out = io::stderr().lock();
    let _ = writeln!(out, "{program}: --- the script's response head ---");
    for line in String::from_utf8_lossy(&raw[..head_end]).lines() {
        let _ = writeln!(out, "{program}:   {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_non_loopback_address_gets_a_warning() {
        for loopback in ["127.0.0.1:8000", "127.0.0.2:8000", "[::1]:8000"] {
            let lines = greeting("script", loopback.parse().unwrap());
            assert_eq!(
                lines,
                [format!("script: serving http://{loopback}/ (Ctrl-C stops)")]
            );
        }
        for exposed in ["0.0.0.0:8000", "192.0.2.7:8000", "[::]:8000"] {
            let lines = greeting("script", exposed.parse().unwrap());
            assert_eq!(lines.len(), 2, "{lines:?}");
            assert!(
                lines[1].contains("reachable from other machines"),
                "{lines:?}"
            );
        }
    }
}
