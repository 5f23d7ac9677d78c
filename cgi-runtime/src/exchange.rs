//! The core: one exchange, a request's meta-variables and body in, CGI bytes out.
//!
//! Nothing here touches the process environment or the real stdin/stdout, so the test kit,
//! the terminal request, FastCGI, SCGI and real CGI all run exactly this code.

use std::any::Any;
use std::fmt::Display;
use std::io::{self, Read, Write};
use std::panic::{self, AssertUnwindSafe};

use http::Method;

use crate::limits::Limits;
use crate::pending_cookies;
use crate::request::Leftover;
use crate::request::{Request, Variables};
use crate::response::{Response, write};

/// Where one exchange reads and writes.
pub(crate) struct Exchange<'a> {
    /// The name error-log lines start with (the script's file name): only formatted when
    /// a line is written, so a CGI process that logs nothing never looks it up.
    pub(crate) program: &'a dyn Display,
    pub(crate) input: Box<dyn Read + Send>,
    pub(crate) output: &'a mut dyn Write,
    /// The server's error log: the script's stderr.
    pub(crate) log: &'a mut dyn Write,
    /// Whether a panic hook already logs each panic's location and message (the process
    /// installs one; the test kit does not), so the core need not repeat the message.
    pub(crate) panic_hook_logs: bool,
    /// Who reads what the handler leaves of the body: the script (CGI) or the connection.
    pub(crate) leftover: Leftover,
}

/// Answers one request: builds it (answering malformed ones directly), runs the handler
/// with panics caught, and writes the response. Fails only if the output cannot be written.
pub(crate) fn answer(
    vars: impl Into<Variables>,
    exchange: Exchange<'_>,
    limits: &Limits,
    handler: impl FnOnce(Request) -> Response,
) -> io::Result<()> {
    let Exchange {
        program,
        input,
        output,
        log,
        panic_hook_logs,
        leftover,
    } = exchange;
    let vars = vars.into();
    // RFC 3875 §4.3.3: no body for HEAD, whatever the handler or a rejection produced.
    let head_only = vars.bytes("REQUEST_METHOD") == Some(Method::HEAD.as_str().as_bytes());
    let response = match Request::from_variables(vars, input, limits, leftover) {
        Err(rejection) => *rejection,
        Ok(request) => {
            let id = request.exchange();
            match panic::catch_unwind(AssertUnwindSafe(|| handler(request))) {
                Ok(mut response) => {
                    pending_cookies::add_to(id, &mut response);
                    response
                }
                Err(payload) => {
                    pending_cookies::discard(id);
                    if panic_hook_logs {
                        let _ = writeln!(log, "{program}: answered 500 after the panic above");
                    } else {
                        let _ = writeln!(
                            log,
                            "{program}: the handler panicked ({}); answered 500",
                            one_line(panic_message(&*payload))
                        );
                    }
                    Response::internal_error()
                }
            }
        }
    };
    write_response(program, response, head_only, output, log)
}

/// Writes `response` as CGI; the lines it has for the server's error log (a rejection's
/// reason, why a response was refused) go to `log`, one line each. Also for answers given
/// before there is a request (a FastCGI or SCGI request too malformed to build).
pub(crate) fn write_response(
    program: &dyn Display,
    response: Response,
    head_only: bool,
    output: &mut dyn Write,
    log: &mut dyn Write,
) -> io::Result<()> {
    // Not flushed after: each host flushes its buffer when the answer is over (FastCGI
    // after `FCGI_END_REQUEST`), so that an answer in memory goes out in one write.
    write::write_cgi(response, head_only, output, &mut |line| {
        let _ = writeln!(log, "{program}: {}", one_line(line));
    })
}

/// A log line as one line: reasons and panic messages quote request data, and a CR or LF
/// in it must not let a client forge lines in the server's error log.
pub(crate) fn one_line(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.contains(char::is_control) {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut escaped = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    std::borrow::Cow::Owned(escaped)
}

/// The text of a panic payload (`panic!` with a message gives a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-text panic payload")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_stay_one_line() {
        assert_eq!(one_line("plain reason"), "plain reason");
        assert_eq!(
            one_line("text/x\nforged: log line\r"),
            "text/x\\nforged: log line\\r"
        );
    }
}
