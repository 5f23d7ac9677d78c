//! One request from the terminal: a script run with no CGI environment answers a request
//! built from its arguments and prints the raw CGI response.

use std::ffi::OsString;
use std::io::{self, Read, Write};

use http::Method;

use crate::command_line::{Data, TerminalRequest};
use crate::exchange::{Exchange, answer};
use crate::host::{Host, HttpRequest, cgi_variables};
use crate::limits::Limits;
use crate::request::{Leftover, Request};
use crate::response::Response;

/// Answers `request` on standard output; a request that cannot be built (a file that
/// cannot be read) exits with status 2 and says why.
pub(crate) fn run(
    program: &str,
    request: TerminalRequest,
    limits: &Limits,
    handler: impl FnOnce(Request) -> Response,
) {
    match build(request) {
        Ok(prepared) => respond(program, prepared, limits, handler),
        Err(message) => {
            eprintln!("{program}: {message}");
            std::process::exit(2);
        }
    }
}

/// A request ready for the core: its meta-variables and body, as a server would pass
/// them, and how to describe it to the person.
struct Prepared {
    description: String,
    vars: Vec<(OsString, OsString)>,
    body: Vec<u8>,
}

fn build(request: TerminalRequest) -> Result<Prepared, String> {
    let mut body = Vec::new();
    for (index, data) in request.data.iter().enumerate() {
        if index > 0 {
            body.push(b'&');
        }
        match data {
            Data::Text(text) => body.extend_from_slice(text.as_bytes()),
            Data::File(path) => {
                body.extend(
                    std::fs::read(path)
                        .map_err(|error| format!("cannot read {}: {error}", path.display()))?,
                );
            }
            Data::Stdin => {
                io::stdin()
                    .read_to_end(&mut body)
                    .map_err(|error| format!("cannot read stdin: {error}"))?;
            }
        }
    }
    let has_data = !request.data.is_empty();
    let method = match &request.method {
        Some(method) => Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("{method:?} is not an HTTP method"))?,
        None if has_data => Method::POST,
        None => Method::GET,
    };
    let description = format!("{method} {}", request.target);
    let mut headers = request.headers;
    if !request.cookies.is_empty() {
        headers.push(("Cookie".to_owned(), request.cookies.join("; ")));
    }
    // As curl: -d sends a form unless a Content-Type says otherwise.
    if has_data
        && !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        headers.push((
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ));
    }
    let http_request = HttpRequest {
        method: method.as_str(),
        target: &request.target,
        protocol: "HTTP/1.1",
        headers: &headers,
        content_length: has_data.then_some(body.len() as u64),
    };
    let vars = cgi_variables(&Host::in_process("cgikit-offline"), &http_request);
    Ok(Prepared {
        description,
        vars,
        body,
    })
}

fn respond(
    program: &str,
    Prepared {
        description,
        vars,
        body,
    }: Prepared,
    limits: &Limits,
    handler: impl FnOnce(Request) -> Response,
) {
    eprintln!("{program}: no CGI environment, so answering {description} (see --help)");
    let stdout = io::stdout();
    let exchange = Exchange {
        program: &program,
        input: Box::new(io::Cursor::new(body)),
        output: &mut stdout.lock(),
        log: &mut io::stderr(),
        panic_hook_logs: false,
        leftover: Leftover::Drain,
    };
    let answered = answer(vars, exchange, limits, handler).and_then(|()| io::stdout().flush());
    if let Err(error) = answered
        && error.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("{program}: could not write the response: {error}");
        std::process::exit(1);
    }
}
