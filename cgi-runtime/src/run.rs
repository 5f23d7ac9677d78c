//! The process: decide the mode, wire the real environment and stdio to the core.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::OnceLock;

use crate::command_line::{self, Command};
use crate::exchange::{Exchange, answer, one_line, panic_message};
use crate::handler::Handler;
use crate::limits::Limits;
use crate::request::{Leftover, Request, Variables};
use crate::response::Response;
use crate::terminal;

/// Runs a handler as a CGI script: reads the request the server passed, answers it on
/// standard output, and returns. This is what `#[cgi::main]` generates; call it yourself
/// to keep a hand-written `main`.
///
/// Run from a terminal (no CGI variables in the environment), it answers one request
/// built from its arguments instead: `./script '/path?a=1'` or `./script a=1 b=2`.
/// Run with `--fastcgi ADDRESS` or `--scgi ADDRESS`, or by a FastCGI process manager, it
/// serves many requests, on worker threads (hence `Clone + Sync`): see the crate
/// documentation, "When CGI is not enough".
///
/// Call it first in `main`, before starting any thread: it removes `HTTP_PROXY` from the
/// process environment (httpoxy), which is only sound while the process has one thread.
///
/// With the `tokio` feature the handler may be an `async fn` (its arguments are extracted
/// first, then it is awaited on cgikit's runtime). Do not wrap `main` in `#[tokio::main]`
/// for it: inside a runtime, each request is awaited on a thread of its own, since tokio
/// does not nest runtimes, and resources made in that outer runtime may stall.
///
/// ```no_run
/// fn hello() -> &'static str {
///     "Hello, world!\n"
/// }
///
/// fn main() {
///     cgi::run(hello);
/// }
/// ```
#[allow(clippy::needless_doctest_main)] // showing `main` is the point
pub fn run<T>(handler: impl Handler<T> + Clone + Sync) {
    run_with(Limits::default(), handler);
}

/// [`run`] with other [`Limits`].
///
/// ```no_run
/// fn main() {
///     cgi::run_with(cgi::Limits::default().max_body(10 << 20), |request: cgi::Request| {
///         format!("{} bytes", request.body().len())
///     });
/// }
/// ```
#[allow(clippy::needless_doctest_main)] // showing `main` is the point
pub fn run_with<T>(limits: Limits, handler: impl Handler<T> + Clone + Sync) {
    run_process(limits, move |request| handler.clone().call(request));
}

/// The generated `main`'s entry point: `#[cgi::main]` extracts each argument itself (for
/// errors at the argument), so it hands over a closure rather than a [`Handler`].
///
/// The mode: CGI when the server set CGI variables; otherwise FastCGI or SCGI when the
/// command line or a listening socket on standard input asks for it; otherwise the
/// terminal's one request (or `--serve`).
pub fn run_process(limits: Limits, handler: impl Fn(Request) -> Response + Sync) {
    let vars = Variables::from_environment();
    if !is_cgi(&vars) {
        drop(vars);
        let program = program_name();
        let args: Vec<OsString> = std::env::args_os().skip(1).collect();
        run_command_line(&program, &args, &limits, handler);
        return;
    }
    if vars.get("HTTP_PROXY").is_some() {
        // httpoxy: a client's `Proxy:` header arrives as HTTP_PROXY, which HTTP client
        // libraries read as their proxy. The request still shows it; children and libraries
        // of this process no longer see it.
        #[allow(unsafe_code)]
        // SAFETY: no other thread exists yet: this runs first in the generated `main`,
        // before the handler (the only user code) and before cgikit starts any thread;
        // `cgi::run`'s documentation asks a hand-written `main` to call it first too. (A
        // `main` under `#[tokio::main]` breaks that rule: its runtime's threads exist, but
        // sit idle while its `main` waits in cgikit, and do not read the environment.)
        unsafe {
            std::env::remove_var("HTTP_PROXY");
        }
    }
    install_panic_hook();
    let exchange = Exchange {
        program: &ProgramName,
        input: Box::new(RawStdin),
        output: &mut RawStdout::new(),
        log: &mut io::stderr(),
        panic_hook_logs: true,
        leftover: Leftover::Drain,
    };
    match answer(vars, exchange, &limits, handler) {
        Ok(()) => {}
        // The client left (nginx and busybox close the pipe): nothing to tell anyone.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {}
        Err(error) => {
            eprintln!("{ProgramName}: could not write the response: {error}");
            std::process::exit(1);
        }
    }
}

/// Outside CGI: what the command line asks for. With no arguments, a listening socket
/// as standard input means a FastCGI process manager started the program (FastCGI §2.2);
/// otherwise the terminal's one request.
fn run_command_line(
    program: &str,
    args: &[OsString],
    limits: &Limits,
    handler: impl Fn(Request) -> Response + Sync,
) {
    #[cfg(unix)]
    if args.is_empty()
        && let Some(listener) = crate::long_lived::Listener::inherited()
    {
        let options = command_line::LongLivedOptions::default();
        install_panic_hook();
        crate::long_lived::run(program, &options, listener, limits, &handler);
        return;
    }
    let help = || command_line::help(program, DEV_SERVER);
    match command_line::parse(args) {
        Err(message) => {
            eprintln!("{program}: {message}\n\n{}", help());
            std::process::exit(2);
        }
        Ok(Command::Help) => {
            let _ = io::stdout().write_all(help().as_bytes());
        }
        Ok(Command::Request(request)) => terminal::run(program, request, limits, handler),
        Ok(Command::Serve { address, trace }) => serve_development(program, &address, trace),
        Ok(Command::LongLived(options)) => serve_long_lived(program, &options, limits, &handler),
    }
}

/// Whether this build has the development server: debug builds with the `serve` feature.
const DEV_SERVER: bool = cfg!(all(feature = "serve", debug_assertions));

#[cfg(all(feature = "serve", debug_assertions))]
fn serve_development(program: &str, address: &str, trace: bool) {
    if let Err(error) = crate::dev_server::run(program, address, trace) {
        eprintln!("{program}: {error}");
        std::process::exit(1);
    }
}

#[cfg(not(all(feature = "serve", debug_assertions)))]
fn serve_development(program: &str, _address: &str, _trace: bool) {
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

/// FastCGI or SCGI on the address the options name, or on the listening socket passed as
/// standard input. Exits with a message when the address cannot be had.
#[cfg(unix)]
fn serve_long_lived(
    program: &str,
    options: &command_line::LongLivedOptions,
    limits: &Limits,
    handler: &(dyn Fn(Request) -> Response + Sync),
) {
    use crate::long_lived::Listener;
    let listener = match &options.address {
        Some(address) => Listener::bind(address, options.socket_mode).unwrap_or_else(|error| {
            eprintln!("{program}: cannot listen on {address}: {error}");
            std::process::exit(1);
        }),
        None => Listener::inherited().unwrap_or_else(|| {
            eprintln!(
                "{program}: --workers goes with --fastcgi ADDRESS, --scgi ADDRESS, or a \
                 listening socket as standard input (see --help)"
            );
            std::process::exit(2);
        }),
    };
    install_panic_hook();
    crate::long_lived::run(program, options, listener, limits, handler);
}

#[cfg(not(unix))]
fn serve_long_lived(
    program: &str,
    _options: &command_line::LongLivedOptions,
    _limits: &Limits,
    _handler: &(dyn Fn(Request) -> Response + Sync),
) {
    eprintln!("{program}: FastCGI and SCGI need a Unix system");
    std::process::exit(2);
}

/// CGI mode when the server set either variable; RFC 3875 only requires REQUEST_METHOD.
fn is_cgi(vars: &Variables) -> bool {
    vars.get("GATEWAY_INTERFACE").is_some() || vars.get("REQUEST_METHOD").is_some()
}

/// The script's file name, looked up when a log line needs it: a CGI request that
/// goes well never does.
struct ProgramName;

impl std::fmt::Display for ProgramName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&program_name())
    }
}

fn program_name() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .and_then(|path| Path::new(path).file_name())
        .map_or_else(
            || "cgi".to_owned(),
            |name| name.to_string_lossy().into_owned(),
        )
}

/// One line per panic, with its location and message, and never a backtrace: servers
/// pass their own environment through (a `RUST_BACKTRACE=1` would fill the error log),
/// and the client only ever sees the generic 500. (The hook captures nothing, so setting
/// it allocates nothing; the name is looked up when a panic happens.)
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = one_line(panic_message(info.payload()));
        match info.location() {
            Some(location) => eprintln!("{ProgramName}: panicked at {location}: {message}"),
            None => eprintln!("{ProgramName}: panicked: {message}"),
        }
    }));
}

/// Standard output without std's line buffering, which writes a response whose body does
/// not end in a line feed in two pieces (and a streamed one in two per chunk): the core
/// hands over whole responses already.
#[cfg(unix)]
struct RawStdout(std::mem::ManuallyDrop<std::fs::File>);

#[cfg(unix)]
impl RawStdout {
    fn new() -> Self {
        use std::os::fd::FromRawFd;
        #[allow(unsafe_code)]
        // SAFETY: descriptor 1 is the process's standard output, open for its whole life
        // as std's own `Stdout` assumes; `ManuallyDrop` never closes it, and nothing else
        // writes to it while the response is written (the handler has returned).
        RawStdout(std::mem::ManuallyDrop::new(unsafe {
            std::fs::File::from_raw_fd(1)
        }))
    }
}

#[cfg(unix)]
impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(not(unix))]
struct RawStdout(io::Stdout);

#[cfg(not(unix))]
impl RawStdout {
    fn new() -> Self {
        RawStdout(io::stdout())
    }
}

#[cfg(not(unix))]
impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Standard input without std's read-ahead buffer, so that not one byte past
/// CONTENT_LENGTH is taken from the server (RFC 3875 §4.2). Opened on first read: a GET
/// never touches stdin. The file lives in a static, so that this handle has no size and
/// boxing it allocates nothing.
struct RawStdin;

#[cfg(unix)]
static STDIN: OnceLock<std::fs::File> = OnceLock::new();

impl Read for RawStdin {
    #[cfg(unix)]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::fd::AsFd;
        let file = match STDIN.get() {
            Some(file) => file,
            None => {
                let file = std::fs::File::from(io::stdin().as_fd().try_clone_to_owned()?);
                STDIN.get_or_init(|| file)
            }
        };
        (&*file).read(buf)
    }

    #[cfg(not(unix))]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        io::stdin().read(buf)
    }
}
