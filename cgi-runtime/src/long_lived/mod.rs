//! Long-lived process: the same handler behind FastCGI or SCGI, many requests per process.
//!
//! A pool of worker threads shares the listening socket; each takes a connection, answers
//! its requests through the same core as CGI ([`crate::exchange`]), and takes the next one.
//! SIGTERM or SIGINT stops the accepting and lets the requests in flight finish: workers
//! wait for connections and for requests in slices of [`IDLE_POLL`], looking in between.

mod fastcgi;
mod polling_reader;
mod scgi;
mod signals;
mod socket;

use std::io::{self, BufWriter, Read};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use crate::command_line::{LongLivedOptions, Protocol};
use crate::exchange::{Exchange, answer, one_line, panic_message};
use crate::limits::Limits;
use crate::request::Leftover;
use crate::request::Request;
use crate::response::Response;
use fastcgi::Ending;
#[cfg(fuzzing)]
pub(crate) use fastcgi::converse_bytes as fastcgi_conversation;
pub(crate) use socket::Listener;

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
            program: self.program,
            input,
            output,
            log: &mut io::stderr(),
            panic_hook_logs: self.panic_hook_logs,
            leftover: Leftover::Discard,
        };
        answer(vars, exchange, self.limits, self.handler)
    }

    /// Whether every worker is busy, so that an idle kept-alive connection should give
    /// its worker back.
    fn needs_idle_workers(&self) -> bool {
        self.free_workers.load(Ordering::Relaxed) == 0
    }
}

/// Serves the options' protocol on `listener` with their number of worker threads until
/// SIGTERM or SIGINT. Returns once the requests in flight are answered.
pub(crate) fn run(
    program: &str,
    options: &LongLivedOptions,
    listener: Listener,
    limits: &Limits,
    handler: &(dyn Fn(Request) -> Response + Sync),
) {
    let LongLivedOptions {
        protocol, workers, ..
    } = *options;
    signals::stop_on_termination();
    // Async handlers: the workers' futures share one runtime, which needs a thread of its own.
    #[cfg(feature = "tokio")]
    crate::executor::serve_concurrently();
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

/// A stop asked for by a signal. The first to see it stops this process's listening
/// ([`Listener::stop_listening`]: a socket it bound refuses new connections, so that the
/// web server can try another backend; an inherited one, maybe shared with sibling
/// processes, is left to them) while the requests in flight finish.
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
            // The stop shut this process's own listener down under the other workers'
            // `accept`.
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
