//! Long-lived process: the same handler behind FastCGI or SCGI, many requests per process.
//!
//! A pool of worker threads shares the listening socket; each takes a connection, answers
//! its requests through the same core as CGI ([`crate::exchange`]), and takes the next one.
//! SIGTERM or SIGINT stops the accepting and lets the requests in flight finish within a
//! grace period: workers wait for connections, requests, reads and writes in slices of
//! [`POLL`], looking in between at the stop and at the connection's bounds
//! ([`Bounds`]).
//!
//! Or, with `--processes N`, a supervisor keeps N single-worker processes of the program
//! on the socket (`supervisor/`).

mod fastcgi;
mod patience;
mod polling_reader;
mod polling_writer;
mod scgi;
mod signals;
mod socket;
mod socket_mode;
mod supervisor;

use std::io::{self, BufRead, BufReader, BufWriter, Read};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::command_line::{Bounds, LongLivedOptions, Protocol};
use crate::exchange::{Exchange, answer, one_line, panic_message};
use crate::limits::Limits;
use crate::request::Leftover;
use crate::request::Request;
use crate::response::Response;
use fastcgi::Ending;
#[cfg(fuzzing)]
pub(crate) use fastcgi::converse_bytes as fastcgi_conversation;
use patience::{POLL, Patience};
use polling_reader::{PollingReader, is_idle_poll};
use polling_writer::PollingWriter;
pub(crate) use socket::Listener;

/// How long a kept-alive connection may sit idle while no worker is free for others.
const IDLE_GIVE_BACK: Duration = Duration::from_secs(1);
/// Once the stop's grace period is over and the reads and writes still waiting are
/// abandoned, how long the workers have to wind down before the process exits anyway (a
/// handler busy with something else than its connection is not waited for).
const AFTER_GRACE: Duration = Duration::from_secs(2);
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
    pub(crate) bounds: &'a Bounds,
    pub(crate) panic_hook_logs: bool,
    pub(crate) stop: &'a Stop<'a>,
    /// Workers waiting for a connection: when none is, a kept-alive connection that goes
    /// idle is closed, so that its worker can take a waiting one (a web server may keep
    /// more connections open than there are workers).
    pub(crate) free_workers: &'a AtomicUsize,
    /// In a process of a `--processes` pool: the channel to the supervisor.
    pub(crate) supervised: Option<&'a supervisor::Supervised>,
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
        let Some(supervised) = self.supervised else {
            return answer(vars, exchange, self.limits, self.handler);
        };
        supervised.begin(&vars);
        let answered = answer(
            vars,
            exchange,
            self.limits,
            |request: Request| match supervised.status_path() {
                Some(path) if request.uri().path() == path => supervised.status_response(),
                _ => (self.handler)(request),
            },
        );
        if supervised.end() {
            // Its `--max-requests` answered: this process stops, and is replaced.
            self.stop.request();
        }
        answered
    }

    /// Whether every worker is busy, so that an idle kept-alive connection should give
    /// its worker back.
    fn needs_idle_workers(&self) -> bool {
        self.free_workers.load(Ordering::Relaxed) == 0
    }

    /// What a new connection's reads and writes wait for.
    fn patience(&self) -> Patience {
        Patience::new(self.bounds.stall_timeout, Arc::clone(&self.stop.abandoned))
    }
}

/// Waits for the first byte of the next request on a connection, looking between polls
/// whether the process stops or every other worker is busy (a web server may be sending a
/// request on the very connection as it is closed, and nginx does not retry a POST: so
/// not at once). `false` when the connection closed, or should be closed.
fn wait_for_request<T: Read>(
    input: &mut BufReader<PollingReader<T>>,
    context: &Context<'_>,
) -> io::Result<bool> {
    input.get_mut().idle = true;
    let idle_since = Instant::now();
    let waited = loop {
        match input.fill_buf() {
            Ok([]) => break Ok(false),
            Ok(_) => break Ok(true),
            Err(error) if is_idle_poll(&error) && context.stopping() => break Ok(false),
            Err(error)
                if is_idle_poll(&error)
                    && context.needs_idle_workers()
                    && idle_since.elapsed() >= IDLE_GIVE_BACK =>
            {
                break Ok(false);
            }
            Err(error) if is_idle_poll(&error) => {}
            Err(error) => break Err(error),
        }
    };
    input.get_mut().idle = false;
    waited
}

/// Serves the options' protocol on `listener` with their number of worker threads until
/// SIGTERM or SIGINT. Returns once the requests in flight are answered.
///
/// With `--processes`, supervises a pool of processes instead; in a process of a pool,
/// serves one request at a time for its supervisor.
pub(crate) fn run(
    program: &str,
    options: &LongLivedOptions,
    listener: Listener,
    limits: &Limits,
    handler: &(dyn Fn(Request) -> Response + Sync),
) {
    if options.pool.processes.is_some() || options.pool.supervised_by.is_some() {
        if !supervisor::SUPPORTED {
            eprintln!("{program}: --processes needs Linux (on x86-64, aarch64 or riscv64)");
            std::process::exit(2);
        }
        match options.pool.supervised_by {
            Some(channel) => run_supervised(program, options, channel, listener, limits, handler),
            None => supervisor::run(program, options, listener),
        }
        return;
    }
    let LongLivedOptions {
        protocol,
        workers,
        ref bounds,
        ..
    } = *options;
    signals::stop_on_termination();
    // Async handlers: the workers' futures share one runtime, which needs a thread of its own.
    #[cfg(feature = "tokio")]
    crate::executor::serve_concurrently();
    if let Err(error) = listener.set_accept_timeout(POLL) {
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
        bounds,
        panic_hook_logs: true,
        stop: &Stop::new(program, &signals::STOP, Some(&listener)),
        free_workers: &AtomicUsize::new(0),
        supervised: None,
    };
    let running = Running::default();
    thread::scope(|scope| {
        for index in 0..workers {
            let (running, listener, context) = (&running, &listener, &context);
            running.started();
            let spawned = thread::Builder::new()
                .name(format!("cgi-worker-{index}"))
                .spawn_scoped(scope, move || {
                    let _ending = running.ending();
                    work(protocol, listener, context);
                });
            if let Err(error) = spawned {
                running.ended();
                eprintln!("{program}: could not start worker {index}: {error}");
            }
        }
        oversee_the_stop(&context, &listener, &running);
    });
    listener.remove_file();
    eprintln!("{program}: stopped");
}

/// A process of a `--processes` pool: one worker, on this thread, until its supervisor
/// closes the channel (or a signal, or its `--max-requests`, stops it). The supervisor
/// tells of starts and stops: this process says nothing of its own.
fn run_supervised(
    program: &str,
    options: &LongLivedOptions,
    channel: std::os::fd::RawFd,
    listener: Listener,
    limits: &Limits,
    handler: &(dyn Fn(Request) -> Response + Sync),
) {
    signals::stop_on_termination();
    let supervised = supervisor::Supervised::connect(
        channel,
        options.pool.status_path.clone(),
        options.pool.max_requests,
        &signals::STOP,
    )
    .unwrap_or_else(|error| {
        eprintln!("{program}: {error}");
        std::process::exit(2);
    });
    if let Err(error) = listener.set_accept_timeout(POLL) {
        eprintln!("{program}: {error}: a stop will wait for the next connection");
    }
    let mut stop = Stop::new(program, &signals::STOP, Some(&listener));
    stop.announce = false;
    let context = Context {
        program,
        limits,
        handler,
        bounds: &options.bounds,
        workers: 1,
        panic_hook_logs: true,
        stop: &stop,
        free_workers: &AtomicUsize::new(0),
        supervised: Some(&supervised),
    };
    supervised.ready();
    work(options.protocol, &listener, &context);
}

/// The main thread while the workers serve: once a stop is asked for, gives the requests
/// in flight the grace period, then abandons the reads and writes still waiting on a web
/// server, then, if handlers still run, ends the process (`--stop-grace`).
fn oversee_the_stop(context: &Context<'_>, listener: &Listener, running: &Running) {
    while !context.stopping() {
        if !running.still_after(POLL) {
            return;
        }
    }
    if !running.still_after(context.bounds.stop_grace) {
        return;
    }
    context.stop.abandon();
    eprintln!(
        "{}: the stop's grace period is over: abandoning the reads and writes still \
         waiting on the web server",
        context.program
    );
    if !running.still_after(AFTER_GRACE) {
        return;
    }
    eprintln!("{}: stopping with handlers still running", context.program);
    listener.remove_file();
    eprintln!("{}: stopped", context.program);
    std::process::exit(0);
}

/// How many workers run, for the main thread to wait on.
#[derive(Default)]
struct Running {
    count: Mutex<usize>,
    changed: Condvar,
}

impl Running {
    fn started(&self) {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
    }

    fn ended(&self) {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner) -= 1;
        self.changed.notify_all();
    }

    /// Counts the worker out when dropped, however its thread ends.
    fn ending(&self) -> impl Drop + '_ {
        struct Ending<'a>(&'a Running);
        impl Drop for Ending<'_> {
            fn drop(&mut self) {
                self.0.ended();
            }
        }
        Ending(self)
    }

    /// Whether workers still run after waiting up to `wait` for them all to end.
    fn still_after(&self, wait: Duration) -> bool {
        let count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        let (count, _) = self
            .changed
            .wait_timeout_while(count, wait, |count| *count > 0)
            .unwrap_or_else(PoisonError::into_inner);
        *count > 0
    }
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
    /// Says in the log that the process is stopping.
    announce: bool,
    /// Set when the grace period is over: see [`Patience`].
    abandoned: Arc<AtomicBool>,
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
            announce: true,
            abandoned: Arc::new(AtomicBool::new(false)),
        }
    }

    fn abandon(&self) {
        self.abandoned.store(true, Ordering::Release);
    }

    /// Stops the process as a signal would (the supervised process that has answered its
    /// `--max-requests`).
    fn request(&self) {
        self.requested.store(true, Ordering::Release);
    }

    fn requested(&self) -> bool {
        if !self.requested.load(Ordering::Acquire) {
            return false;
        }
        if !self.seen.swap(true, Ordering::AcqRel) {
            if let Some(listener) = self.listener {
                listener.stop_listening();
            }
            if !self.announce {
                return true;
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
    let patience = context.patience();
    let result = stream.set_poll_timeout(POLL).and_then(|()| {
        let input = PollingReader::new(stream.io(), patience.clone());
        let mut output =
            BufWriter::with_capacity(64 * 1024, PollingWriter::new(stream.io(), patience.clone()));
        match protocol {
            Protocol::FastCgi => fastcgi::converse(input, Box::new(output), context),
            Protocol::Scgi => scgi::answer(input, &mut output, context),
        }
    });
    match result {
        // Input may be left unread after an answer; an idle connection has none. A peer
        // given up on, or abandoned at the stop, is not waited for again.
        Ok(Ending::Answered) if !patience.is_over() => {
            stream.linger_close(LINGER_CAP, LINGER_TIMEOUT);
        }
        Ok(_) => {}
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
