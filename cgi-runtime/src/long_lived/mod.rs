//! Long-lived process: the same handler behind FastCGI or SCGI, many requests per process.
//!
//! A pool of worker threads shares the listening socket; each takes a connection, answers
//! its requests through the same core as CGI ([`crate::serve`]), and takes the next one.
//! SIGTERM or SIGINT stops the accepting and lets the requests in flight finish: workers
//! wait for connections and for requests in slices of [`IDLE_POLL`], looking in between.

mod fastcgi;
mod patient;
mod scgi;
mod signals;
mod socket;

use std::io::{self, BufWriter, Read};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use crate::body::Leftover;
use crate::limits::Limits;
use crate::request::Request;
use crate::response::Response;
use crate::serve::{Exchange, one_line, panic_message, serve};
use fastcgi::Ending;
pub(crate) use fastcgi::converse_bytes as fastcgi_conversation;
pub(crate) use socket::Listener;

/// How many requests are answered at once unless `--workers` says otherwise.
pub(crate) const DEFAULT_WORKERS: usize = 16;
/// How long a web server may go silent in the middle of a request before the worker
/// gives up on the connection.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How often an idle connection looks whether the process is stopping.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// How long a kept-alive connection may sit idle while no worker is free for others.
const IDLE_GIVE_BACK: Duration = Duration::from_secs(1);
/// The most of an unread body read and thrown away while closing a connection.
const LINGER_CAP: u64 = 16 * 1024 * 1024;
const LINGER_TIMEOUT: Duration = Duration::from_secs(2);

/// The protocol spoken on every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    FastCgi,
    Scgi,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::FastCgi => "FastCGI",
            Protocol::Scgi => "SCGI",
        }
    }
}

/// A connection's reading side: a socket, or bytes in a test.
pub(crate) trait Transport: Read + Send + 'static {}
impl<T: Read + Send + 'static> Transport for T {}

/// What every connection needs.
pub(crate) struct Context<'a> {
    pub(crate) program: &'a str,
    pub(crate) limits: &'a Limits,
    pub(crate) handler: &'a (dyn Fn(Request) -> Response + Sync),
    pub(crate) workers: usize,
    pub(crate) panic_hook_logs: bool,
    pub(crate) stop: &'a Stop<'a>,
    /// Workers waiting for a connection: when none is, a kept-alive connection that goes
    /// idle is closed, so that its worker can take a waiting one (a web server may keep
    /// more connections open than there are workers).
    pub(crate) free_workers: &'a AtomicUsize,
}

impl Context<'_> {
    fn stopping(&self) -> bool {
        self.stop.requested()
    }

    /// Answers one request through the core, as CGI does; the connection discards what
    /// the handler leaves of the body.
    fn serve(
        &self,
        vars: Vec<(std::ffi::OsString, std::ffi::OsString)>,
        input: Box<dyn Read + Send>,
        output: &mut dyn io::Write,
    ) -> io::Result<()> {
        let exchange = Exchange {
            program: &self.program,
            input,
            output,
            log: &mut io::stderr(),
            panic_hook_logs: self.panic_hook_logs,
            leftover: Leftover::Discard,
        };
        serve(vars, exchange, self.limits, self.handler)
    }

    /// Whether every worker is busy, so that an idle kept-alive connection should give
    /// its worker back.
    fn needs_idle_workers(&self) -> bool {
        self.free_workers.load(Ordering::Relaxed) == 0
    }
}

/// Serves `protocol` on `listener` with `workers` threads until SIGTERM or SIGINT.
/// Returns once the requests in flight are answered.
pub(crate) fn run(
    program: &str,
    protocol: Protocol,
    listener: Listener,
    workers: usize,
    limits: &Limits,
    handler: &(dyn Fn(Request) -> Response + Sync),
) {
    signals::stop_on_termination();
    if let Err(error) = listener.set_accept_timeout(IDLE_POLL) {
        eprintln!("{program}: {error}: a stop will wait for the next connection");
    }
    eprintln!(
        "{program}: serving {} on {listener} with {workers} workers",
        protocol.name()
    );
    let context = Context {
        program,
        limits,
        handler,
        workers,
        panic_hook_logs: true,
        stop: &Stop::new(program, &signals::STOP, Some(&listener)),
        free_workers: &AtomicUsize::new(0),
    };
    thread::scope(|scope| {
        for index in 0..workers {
            let spawned = thread::Builder::new()
                .name(format!("cgi-worker-{index}"))
                .spawn_scoped(scope, || work(protocol, &listener, &context));
            if let Err(error) = spawned {
                eprintln!("{program}: could not start worker {index}: {error}");
            }
        }
    });
    listener.remove_file();
    eprintln!("{program}: stopped");
}

/// A stop asked for by a signal. The first to see it stops the listening, so that new
/// connections are refused (and the web server can try another backend) while the
/// requests in flight finish.
pub(crate) struct Stop<'a> {
    program: &'a str,
    requested: &'a AtomicBool,
    listener: Option<&'a Listener>,
    seen: AtomicBool,
}

impl<'a> Stop<'a> {
    pub(crate) fn new(
        program: &'a str,
        requested: &'a AtomicBool,
        listener: Option<&'a Listener>,
    ) -> Self {
        Stop {
            program,
            requested,
            listener,
            seen: AtomicBool::new(false),
        }
    }

    fn requested(&self) -> bool {
        if !self.requested.load(Ordering::Acquire) {
            return false;
        }
        if !self.seen.swap(true, Ordering::AcqRel) {
            if let Some(listener) = self.listener {
                listener.stop_listening();
            }
            eprintln!(
                "{}: {}: finishing the requests in flight (send it again to stop now)",
                self.program,
                signals::received()
            );
        }
        true
    }
}

/// One worker: takes connections until the process stops. A connection accepted as the
/// stop came is still answered: the web server has sent its request already.
fn work(protocol: Protocol, listener: &Listener, context: &Context<'_>) {
    while !context.stopping() {
        context.free_workers.fetch_add(1, Ordering::Relaxed);
        let accepted = listener.accept();
        context.free_workers.fetch_sub(1, Ordering::Relaxed);
        let stream = match accepted {
            Ok(stream) => stream,
            // The accept timeout: time to look whether the process stops.
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            // The stop shut the listener down under the other workers' `accept`.
            Err(_) if context.stopping() => break,
            Err(error) => {
                eprintln!(
                    "{}: accepting a connection failed: {error}",
                    context.program
                );
                // Out of file descriptors, say: let some connections finish first.
                thread::park_timeout(Duration::from_millis(100));
                continue;
            }
        };
        // The core catches the handler's panics; this catches anything else, so that a
        // bug ends one connection, never the worker.
        let answered =
            panic::catch_unwind(AssertUnwindSafe(|| connection(protocol, stream, context)));
        if let Err(payload) = answered {
            eprintln!(
                "{}: a connection failed on a panic: {}",
                context.program,
                one_line(panic_message(&*payload))
            );
        }
    }
}

fn connection(protocol: Protocol, stream: socket::Stream, context: &Context<'_>) {
    let result = stream.set_read_timeout(Some(IDLE_POLL)).and_then(|()| {
        let input = stream.io();
        let mut output = BufWriter::with_capacity(64 * 1024, stream.io());
        match protocol {
            Protocol::FastCgi => fastcgi::converse(input, &mut output, context),
            Protocol::Scgi => scgi::answer(input, &mut output, context).map(|()| Ending::Answered),
        }
    });
    match result {
        // Input may be left unread after an answer; an idle connection has none.
        Ok(Ending::Answered) => stream.linger_close(LINGER_CAP, LINGER_TIMEOUT),
        Ok(Ending::Closed) => {}
        // The web server went away (a client that left, a server restart): nothing to do.
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::UnexpectedEof
            ) => {}
        Err(error) => eprintln!(
            "{}: {} connection closed: {}",
            context.program,
            protocol.name(),
            one_line(&error.to_string())
        ),
    }
}

/// What the command line asked for: `--fastcgi ADDR` or `--scgi ADDR`, and `--workers N`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) protocol: Protocol,
    /// `None`: FastCGI on the listening socket passed as standard input.
    pub(crate) address: Option<String>,
    pub(crate) workers: usize,
}

/// Reads the long-lived options; `Ok(None)` when there are none (the offline mode's
/// arguments, or none at all).
pub(crate) fn parse_options(args: &[std::ffi::OsString]) -> Result<Option<Options>, String> {
    const OPTIONS: [&str; 3] = ["--fastcgi", "--scgi", "--workers"];
    if !args
        .iter()
        .any(|arg| OPTIONS.iter().any(|option| arg == *option))
    {
        return Ok(None);
    }
    let mut options = Options {
        protocol: Protocol::FastCgi,
        address: None,
        workers: DEFAULT_WORKERS,
    };
    let mut args = args.iter().map(|arg| arg.to_str());
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .flatten()
                .ok_or_else(|| format!("{} needs a value", arg.unwrap_or("")))
        };
        match arg {
            Some(option @ ("--fastcgi" | "--scgi")) => {
                if options.address.is_some() {
                    return Err("give one of --fastcgi ADDRESS and --scgi ADDRESS".into());
                }
                options.address = Some(value()?.to_owned());
                if option == "--scgi" {
                    options.protocol = Protocol::Scgi;
                }
            }
            Some("--workers") => {
                let workers = value()?;
                options.workers = workers
                    .parse()
                    .ok()
                    .filter(|count| (1..=4096).contains(count))
                    .ok_or_else(|| {
                        format!("--workers takes a number from 1 to 4096, not {workers:?}")
                    })?;
            }
            _ => {
                return Err(format!(
                    "{} does not go with --fastcgi, --scgi or --workers",
                    arg.map_or_else(|| "a non-UTF-8 argument".into(), |arg| format!("{arg:?}"))
                ));
            }
        }
    }
    Ok(Some(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>, String> {
        let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        parse_options(&args)
    }

    #[test]
    fn options_choose_the_protocol_address_and_workers() {
        assert_eq!(parse(&["/path", "a=1"]), Ok(None));
        assert_eq!(
            parse(&["--fastcgi", "unix:/run/app.sock"]),
            Ok(Some(Options {
                protocol: Protocol::FastCgi,
                address: Some("unix:/run/app.sock".into()),
                workers: DEFAULT_WORKERS
            }))
        );
        assert_eq!(
            parse(&["--workers", "4", "--scgi", "127.0.0.1:4000"]),
            Ok(Some(Options {
                protocol: Protocol::Scgi,
                address: Some("127.0.0.1:4000".into()),
                workers: 4
            }))
        );
        // A process manager's socket on stdin, with a worker count.
        assert_eq!(
            parse(&["--workers", "2"]),
            Ok(Some(Options {
                protocol: Protocol::FastCgi,
                address: None,
                workers: 2
            }))
        );
    }

    #[test]
    fn option_mistakes_are_explained() {
        for (args, message) in [
            (&["--fastcgi"][..], "--fastcgi needs a value"),
            (&["--fastcgi", "a:1", "--scgi", "b:2"], "give one of"),
            (&["--workers", "0", "--fastcgi", "a:1"], "from 1 to 4096"),
            (&["--workers", "many"], "from 1 to 4096"),
            (&["--fastcgi", "a:1", "/path"], "\"/path\" does not go with"),
        ] {
            let error = parse(args).unwrap_err();
            assert!(error.contains(message), "{args:?}: {error}");
        }
    }
}
