//! Offline mode: the script run in a terminal answers one request built from its
//! arguments, or serves itself to a browser (`--serve`).

mod args;

use std::ffi::OsString;
use std::io::{self, Read, Write};

use http::Method;

use crate::limits::Limits;
use crate::request::Request;
use crate::response::Response;
use crate::serve::{Exchange, serve};
use crate::test::TestRequest;
use args::{CliRequest, Command, Data};

const USAGE: &str = "\
This program is a CGI script: a web server runs it, with the request in environment
variables (RFC 3875). Run from a terminal, it answers one request built from its
arguments and prints the raw CGI response, or serves itself to a browser.

Usage:
  SCRIPT [OPTIONS] [/PATH?QUERY] [NAME=VALUE ...]
  SCRIPT --serve [ADDRESS] [--trace]

Requests (as curl, and as Perl's CGI.pm takes NAME=VALUE):
  SCRIPT                          GET /
  SCRIPT '/items?id=7'            GET that path and query
  SCRIPT name=Ada page=2          GET /?name=Ada&page=2
  SCRIPT -d 'name=Ada' /sign      POST a form (application/x-www-form-urlencoded)
  SCRIPT -d @form.txt             POST the contents of a file (-d @- reads stdin)
  SCRIPT -X DELETE /items/7       another method
  SCRIPT -H 'Accept: text/html'   add a request header
  SCRIPT -b 'sid=abc; theme=dark' send cookies

Development server:
  SCRIPT --serve                  serve on http://127.0.0.1:8000/, running this program
                                  as a CGI script for each request, as a web server would
  SCRIPT --serve 127.0.0.1:9000   another address (loopback unless you say otherwise)
  SCRIPT --serve --trace          also print each request's CGI variables and the head
                                  of the script's response

One process for many requests (FastCGI, SCGI), behind a web server:
  SCRIPT --fastcgi 127.0.0.1:9000 FastCGI on that address (or unix:/path/app.sock)
  SCRIPT --scgi 127.0.0.1:4000    SCGI likewise
  SCRIPT --fastcgi ADDRESS --workers 32
                                  answer up to 32 requests at once (default 16)
  Started with a listening socket as standard input (lighttpd's bin-path, spawn-fcgi,
  mod_fcgid), it serves FastCGI on it. SIGTERM finishes the requests in flight and exits.

Options:
  -X, --request METHOD    -d, --data DATA|@FILE|@-    -H, --header 'NAME: VALUE'
  -b, --cookie 'A=B; C=D'     -h, --help
";

pub(crate) fn run(
    program: &str,
    args: Vec<OsString>,
    limits: &Limits,
    handler: impl FnOnce(Request) -> Response,
) {
    let usage = || USAGE.replace("SCRIPT", program);
    let command = match args::parse(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{program}: {message}\n\n{}", usage());
            std::process::exit(2);
        }
    };
    match command {
        Command::Help => {
            let _ = io::stdout().write_all(usage().as_bytes());
        }
        Command::Serve { address, trace } => serve_command(program, &address, trace),
        Command::Request(request) => match build(request) {
            Ok(prepared) => answer(program, prepared, limits, handler),
            Err(message) => {
                eprintln!("{program}: {message}");
                std::process::exit(2);
            }
        },
    }
}

#[cfg(all(feature = "serve", debug_assertions))]
fn serve_command(program: &str, address: &str, trace: bool) {
    if let Err(error) = crate::dev_server::run(program, address, trace) {
        eprintln!("{program}: {error}");
        std::process::exit(1);
    }
}

#[cfg(not(all(feature = "serve", debug_assertions)))]
fn serve_command(program: &str, _address: &str, _trace: bool) {
    if cfg!(feature = "serve") {
        eprintln!(
            "{program}: --serve is in debug builds only (`cargo run -- --serve`); release builds, \
             the ones to deploy, leave the development server out to start faster"
        );
    } else {
        eprintln!("{program}: built without cgikit's `serve` feature, so --serve is not available");
    }
    std::process::exit(2);
}

/// A request ready for the core: its meta-variables and body, as a server would pass
/// them, and how to describe it to the person.
struct Prepared {
    description: String,
    vars: Vec<(OsString, OsString)>,
    body: Vec<u8>,
}

fn build(request: CliRequest) -> Result<Prepared, String> {
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
    let mut test_request = TestRequest::get(&request.target)
        .method(method)
        .var("SERVER_SOFTWARE", "cgikit-offline");
    let has_content_type = request
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
    for (name, value) in &request.headers {
        test_request = test_request.header(name, value);
    }
    if !request.cookies.is_empty() {
        test_request = test_request.header("Cookie", &request.cookies.join("; "));
    }
    if has_data {
        // As curl: -d sends a form unless a Content-Type says otherwise.
        if !has_content_type {
            test_request = test_request.header("Content-Type", "application/x-www-form-urlencoded");
        }
        test_request = test_request.body(body);
    }
    let (vars, body) = test_request.into_cgi_vars();
    Ok(Prepared {
        description,
        vars,
        body,
    })
}

fn answer(
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
        leftover: crate::body::Leftover::Drain,
    };
    if let Err(error) = serve(vars, exchange, limits, handler)
        && error.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("{program}: could not write the response: {error}");
        std::process::exit(1);
    }
}
