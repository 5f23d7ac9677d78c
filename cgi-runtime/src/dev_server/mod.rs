//! `--serve`: a development web server that runs the script as a CGI child per request, as
//! a faithful host would (Go's `net/http/cgi.Handler` is the model), so a script can be
//! tried in a browser without installing a web server. Its inspector (`inspector.rs`, at
//! `/_cgi/`) shows each request's CGI exchange; `child.rs` runs the script.

mod child;
mod inspector;

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::host::cgi_output::{self, Output};
use crate::host::{HeaderPolicy, Host, HttpRequest, cgi_variables, first_invalid_header_name};
use inspector::{Exchange, Inspector, Run};

/// How many local redirects one request may follow (a script redirecting to itself).
const MAX_LOCAL_REDIRECTS: usize = 10;

/// How much of a script's output is kept to answer with: a dev server's responses are
/// pages and small downloads.
const MAX_OUTPUT: usize = 64 << 20;

/// A chunked request body has no length to give the script as `CONTENT_LENGTH`, so it is
/// read whole first, up to this size (nginx's `client_max_body_size` does the same job);
/// a body with a `Content-Length` streams to the script whatever its size.
const MAX_CHUNKED_BODY: usize = 16 << 20;

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
    let inspector = Arc::new(Inspector::default());
    for request in server.incoming_requests() {
        let settings = Arc::clone(&settings);
        let inspector = Arc::clone(&inspector);
        std::thread::spawn(move || answer(&settings, &inspector, request));
    }
    Ok(())
}

/// What the server says when it starts: its URL, where the inspector is, and a warning
/// when other machines can reach it (anything but loopback).
fn greeting(program: &str, local: SocketAddr) -> Vec<String> {
    let mut lines = vec![
        format!("{program}: serving http://{local}/ (Ctrl-C stops)"),
        format!(
            "{program}: each request's CGI variables, input, error output and response head: http://{local}{}",
            inspector::PREFIX
        ),
    ];
    if !local.ip().is_loopback() {
        lines.push(format!(
            "{program}: warning: {local} is reachable from other machines; this server is for development only"
        ));
    }
    lines
}

fn answer(settings: &Settings, inspector: &Inspector, mut request: tiny_http::Request) {
    let started = Instant::now();
    let method = request.method().to_string();
    let target = request.url().to_owned();
    if inspector::is_inspector_path(&target) {
        let (status, html) = inspector.page(&target);
        let _ = request.respond(html_response(status, html));
        return;
    }
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
    let mut exchange = Exchange::new(inspector.next_id(), &method, &target);
    let chunked = request.body_length().is_none()
        && headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("transfer-encoding"));
    let http_request = HttpRequest {
        method: &method,
        target: &target,
        protocol: &protocol,
        headers: &headers,
        content_length: request
            .body_length()
            .filter(|&length| length > 0)
            .map(|length| length as u64),
    };
    let reader = request.as_reader();
    let (status, response) = if let Some(name) = first_invalid_header_name(&headers) {
        drain(reader);
        let reason = format!(
            "the header name {name:?} is not a token (RFC 9110 §5.6.2), so no CGI variable can carry it"
        );
        refuse(&mut exchange, 400, "Bad Request", &reason)
    } else if chunked {
        // tiny_http has removed the chunked framing: the script gets a plain body with its
        // CONTENT_LENGTH, as lighttpd and nginx give it.
        let mut body = Vec::new();
        match reader
            .take(MAX_CHUNKED_BODY as u64 + 1)
            .read_to_end(&mut body)
        {
            Err(error) => {
                let reason = format!("could not read the request body: {error}");
                refuse(&mut exchange, 400, "Bad Request", &reason)
            }
            Ok(length) if length > MAX_CHUNKED_BODY => {
                drain(reader);
                let reason = format!(
                    "a chunked request body over {} MiB; the development server reads one whole \
                     to give the script its CONTENT_LENGTH (send a Content-Length instead)",
                    MAX_CHUNKED_BODY >> 20
                );
                refuse(&mut exchange, 413, "Content Too Large", &reason)
            }
            Ok(length) => {
                let request = HttpRequest {
                    content_length: (length > 0).then_some(length as u64),
                    ..http_request
                };
                run_script(
                    settings,
                    &host,
                    request,
                    &mut io::Cursor::new(body),
                    &mut exchange,
                )
            }
        }
    } else {
        run_script(settings, &host, http_request, reader, &mut exchange)
    };
    exchange.status = status;
    exchange.elapsed = started.elapsed();
    inspector.keep(exchange);
    let _ = request.respond(response);
    eprintln!(
        "{}: {method} {target} -> {status} ({} ms)",
        settings.program,
        started.elapsed().as_millis()
    );
}

/// Reads what is left of a request body and drops it, one chunk at a time (tiny_http would
/// otherwise take the rest in one allocation of its size when the request is dropped).
fn drain(reader: &mut dyn Read) {
    let _ = io::copy(reader, &mut io::sink());
}

/// Runs the script, following local redirects, and builds the HTTP response.
fn run_script(
    settings: &Settings,
    host: &Host,
    first: HttpRequest<'_>,
    body: &mut dyn Read,
    exchange: &mut Exchange,
) -> (u16, tiny_http::ResponseBox) {
    let mut redirected_to: Option<String> = None;
    let mut body = Some(body);
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
        let variables = Run::variables(&vars);
        // After the trace and the inspector's copy: a secret has no place on a screen.
        vars.extend(settings.settings_env.iter().cloned());
        let finished = match child::run(
            &settings.script,
            vars,
            body.take().unwrap_or(&mut io::empty()),
            MAX_OUTPUT,
        ) {
            Ok(finished) => finished,
            Err(error) => {
                let reason = format!("could not run the script: {error}");
                eprintln!("{}: {reason}", settings.program);
                return refuse(exchange, 502, "Bad Gateway", &reason);
            }
        };
        let raw = finished.stdout;
        if settings.trace {
            trace_head(&settings.program, &raw);
        }
        let (head, body_length) = Run::head(&raw);
        exchange.runs.push(Run {
            variables,
            stdin: finished.stdin,
            stderr: finished.stderr,
            head,
            body_length,
            exit: match &finished.status {
                Ok(status) => status.to_string(),
                Err(error) => format!("could not be waited for ({error})"),
            },
            elapsed: finished.elapsed,
        });
        if finished.too_long {
            let reason = format!(
                "the script's response is over {} MiB, more than the development server keeps",
                MAX_OUTPUT >> 20
            );
            eprintln!("{}: {reason}", settings.program);
            return refuse(exchange, 502, "Bad Gateway", &reason);
        }
        match cgi_output::parse(&raw) {
            Err(reason) => {
                let reason = format!("the script's output is malformed: {reason}");
                eprintln!("{}: {reason}", settings.program);
                return refuse(exchange, 502, "Bad Gateway", &reason);
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
            Ok(Output::LocalRedirect(location)) => redirected_to = Some(location),
        }
    }
    refuse(exchange, 502, "Bad Gateway", "too many local redirects")
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

/// The server's own answer instead of the script's: a short page that says why and links
/// to the request in the inspector. The reason is also kept there.
fn refuse(
    exchange: &mut Exchange,
    status: u16,
    title: &str,
    reason: &str,
) -> (u16, tiny_http::ResponseBox) {
    exchange.problem = Some(reason.to_owned());
    let html = format!(
        "<!DOCTYPE html>\n<meta charset=utf-8>\n<title>{status} {title}</title>\n\
         <h1>{status} {title}</h1>\n<p>{}.</p>\n\
         <p>The development server answered this itself. <a href=\"{}\">See the request in the \
         inspector</a>: the CGI variables and input the script got, its error output and \
         the head of what it wrote.</p>\n",
        crate::html::escape(reason),
        inspector::link(exchange.id),
    );
    (status, html_response(status, html))
}

fn html_response(status: u16, html: String) -> tiny_http::ResponseBox {
    tiny_http::Response::from_string(html)
        .with_status_code(status)
        .with_header(
            tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"text/html; charset=utf-8"[..])
                .expect("a valid header"),
        )
        .boxed()
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
                [
                    format!("script: serving http://{loopback}/ (Ctrl-C stops)"),
                    format!(
                        "script: each request's CGI variables, input, error output and response head: http://{loopback}/_cgi/"
                    )
                ]
            );
        }
        for exposed in ["0.0.0.0:8000", "192.0.2.7:8000", "[::]:8000"] {
            let lines = greeting("script", exposed.parse().unwrap());
            assert_eq!(lines.len(), 3, "{lines:?}");
            assert!(
                lines[2].contains("reachable from other machines"),
                "{lines:?}"
            );
        }
    }
}
