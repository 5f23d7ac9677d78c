//! Offline mode: the script run in a terminal answers one request built from its arguments.

use std::ffi::OsString;
use std::io::{self, Write};

use crate::limits::Limits;
use crate::request::Request;
use crate::response::Response;
use crate::serve::{Exchange, serve};
use crate::test::TestRequest;

const USAGE: &str = "\
This program is a CGI script: a web server runs it, with the request in environment
variables (RFC 3875). Run from a terminal, it answers one GET request built from its
arguments and prints the raw CGI response.

Usage:
  SCRIPT                     GET /
  SCRIPT '/path?a=1&b=2'     GET that path and query
  SCRIPT a=1 b=2             GET /?a=1&b=2 (as Perl's CGI.pm takes them)
  SCRIPT --help              this text
";

pub(crate) fn run(
    program: &str,
    args: Vec<OsString>,
    limits: &Limits,
    handler: impl FnOnce(Request) -> Response,
) {
    let target = match target_from_args(&args) {
        Ok(Some(target)) => target,
        Ok(None) => {
            let _ = io::stdout().write_all(USAGE.replace("SCRIPT", program).as_bytes());
            return;
        }
        Err(message) => {
            eprintln!(
                "{program}: {message}\n\n{}",
                USAGE.replace("SCRIPT", program)
            );
            std::process::exit(2);
        }
    };
    eprintln!("{program}: no CGI environment, so answering GET {target} (see --help)");
    let vars = TestRequest::get(&target)
        .var("SERVER_SOFTWARE", "cgikit-offline")
        .into_cgi_vars();
    let stdout = io::stdout();
    let exchange = Exchange {
        program,
        input: Box::new(io::empty()),
        output: &mut stdout.lock(),
        log: &mut io::stderr(),
        panic_hook_logs: false,
    };
    if let Err(error) = serve(vars.0, exchange, limits, handler)
        && error.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("{program}: could not write the response: {error}");
        std::process::exit(1);
    }
}

/// The request target the arguments describe; `None` for `--help`.
fn target_from_args(args: &[OsString]) -> Result<Option<String>, String> {
    let mut path = None;
    let mut pairs = Vec::new();
    for arg in args {
        let Some(arg) = arg.to_str() else {
            return Err("arguments must be UTF-8".into());
        };
        match arg {
            "-h" | "--help" => return Ok(None),
            _ if arg.starts_with('/') || arg.starts_with('?') => {
                if path.replace(arg).is_some() {
                    return Err("give at most one path".into());
                }
            }
            _ if arg.contains('=') && !arg.starts_with('-') => pairs.push(arg),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let mut target = path.unwrap_or("/").to_owned();
    if target.starts_with('?') {
        target.insert(0, '/');
    }
    for pair in pairs {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        target.push(if target.contains('?') { '&' } else { '?' });
        target.extend(form_urlencoded::byte_serialize(name.as_bytes()));
        target.push('=');
        target.extend(form_urlencoded::byte_serialize(value.as_bytes()));
    }
    Ok(Some(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(args: &[&str]) -> Result<Option<String>, String> {
        target_from_args(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn arguments_become_a_request_target() {
        assert_eq!(target(&[]), Ok(Some("/".into())));
        assert_eq!(target(&["/items?id=7"]), Ok(Some("/items?id=7".into())));
        assert_eq!(target(&["?q=x"]), Ok(Some("/?q=x".into())));
        assert_eq!(
            target(&["name=Ada Lovelace", "x=&"]),
            Ok(Some("/?name=Ada+Lovelace&x=%26".into()))
        );
        assert_eq!(target(&["/p?a=1", "b=2"]), Ok(Some("/p?a=1&b=2".into())));
        assert_eq!(target(&["--help"]), Ok(None));
    }

    #[test]
    fn bad_arguments_are_explained() {
        assert!(target(&["-X"]).unwrap_err().contains("unexpected argument"));
        assert!(target(&["/a", "/b"]).is_err());
    }
}
