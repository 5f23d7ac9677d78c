//! The command line of a script, for every mode it has outside CGI: one request from the
//! terminal (read as curl and Perl's CGI.pm read theirs), the development server, and
//! FastCGI or SCGI. One table of options ([`OPTIONS`]) drives both the parser and `--help`.
//!
//! Under CGI the command line is ignored (RFC 3875 §4.4: a server may pass ISINDEX words).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// What the person asked for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Help,
    /// Answer one request and print the raw CGI response.
    Request(TerminalRequest),
    /// Run the development web server.
    Serve {
        address: String,
        trace: bool,
    },
    /// Serve FastCGI or SCGI.
    LongLived(LongLivedOptions),
}

/// A request described on the command line.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TerminalRequest {
    /// `-X`; otherwise GET, or POST when there is data.
    pub(crate) method: Option<String>,
    /// `/path?query`, with `name=value` arguments appended to the query.
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) cookies: Vec<String>,
    /// `-d` pieces, joined with `&` as curl joins them.
    pub(crate) data: Vec<Data>,
}

/// One `-d` argument.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Data {
    Text(String),
    /// `-d @file`
    File(PathBuf),
    /// `-d @-`
    Stdin,
}

/// The protocol a long-lived process speaks on every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    FastCgi,
    Scgi,
}

/// `--fastcgi ADDR` or `--scgi ADDR`, `--workers N` or a pool of processes, the
/// connections' bounds and the socket's mode.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LongLivedOptions {
    pub(crate) protocol: Protocol,
    /// `None`: FastCGI on the listening socket passed as standard input.
    pub(crate) address: Option<String>,
    pub(crate) workers: usize,
    pub(crate) pool: PoolOptions,
    pub(crate) bounds: Bounds,
    /// `--socket-mode`: the permissions of a unix socket this process binds (else the
    /// umask's).
    pub(crate) socket_mode: Option<u32>,
}

/// `--processes N` and the options that go with it: a supervised pool of processes.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PoolOptions {
    pub(crate) processes: Option<usize>,
    pub(crate) max_requests: Option<u64>,
    pub(crate) request_timeout: Option<Duration>,
    pub(crate) status_path: Option<String>,
    /// In a process the pool started (`--supervised-child PROTOCOL:FD`, which only the
    /// supervisor writes): the descriptor of its channel to the supervisor.
    pub(crate) supervised_by: Option<i32>,
}

/// How long and how much one connection may take of a long-lived process, so that no web
/// server, client or attacker holds a worker or memory without limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bounds {
    /// `--head-timeout`: from a request's first byte to the end of its meta-variables
    /// (FastCGI `BEGIN_REQUEST` and `PARAMS`, SCGI's netstring; for SCGI, from the
    /// connection).
    pub(crate) head_timeout: Duration,
    /// `--stall-timeout`: the longest a body read or an answer's write may go without
    /// moving a byte.
    pub(crate) stall_timeout: Duration,
    /// `--stop-grace`: after SIGTERM, how long requests in flight have to finish.
    pub(crate) stop_grace: Duration,
    /// `--max-params`: the most bytes of meta-variables a request may bring.
    pub(crate) max_params: usize,
    /// `--max-param-count`: the most meta-variables a request may bring.
    pub(crate) max_param_count: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            head_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(30),
            stop_grace: Duration::from_secs(8),
            max_params: 256 * 1024,
            max_param_count: 1000,
        }
    }
}

pub(crate) const DEFAULT_SERVE_ADDRESS: &str = "127.0.0.1:8000";
/// How many requests a long-lived process answers at once unless `--workers` says otherwise.
pub(crate) const DEFAULT_WORKERS: usize = 16;
const MAX_WORKERS: usize = 4096;
const MAX_PROCESSES: usize = 1024;

/// Which mode an option belongs to: options of two modes do not mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Request,
    Serve,
    LongLived,
    General,
    /// For the program's own use, never in `--help`.
    Hidden,
}

impl Section {
    fn heading(self) -> &'static str {
        match self {
            Section::Request => "One request, answered in the terminal (as curl):",
            Section::Serve => "Development server (debug builds):",
            Section::LongLived => "One process for many requests, behind a web server:",
            Section::General | Section::Hidden => "",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    Help,
    Method,
    Data,
    Header,
    Cookie,
    Serve,
    Trace,
    FastCgi,
    Scgi,
    Workers,
    Processes,
    MaxRequests,
    RequestTimeout,
    StatusPath,
    SupervisedChild,
    HeadTimeout,
    StallTimeout,
    StopGrace,
    MaxParams,
    MaxParamCount,
    SocketMode,
}

/// One option: its names, its value's name, what `--help` says of it.
struct OptionSpec {
    flag: Flag,
    short: Option<&'static str>,
    long: &'static str,
    /// The value it takes, as `--help` shows it; `None`: a switch. `--serve`'s address is
    /// optional, so it is a switch followed by an optional positional argument.
    value: Option<&'static str>,
    shown_value: Option<&'static str>,
    section: Section,
    help: &'static str,
}

const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        flag: Flag::Method,
        short: Some("-X"),
        long: "--request",
        value: Some("METHOD"),
        shown_value: None,
        section: Section::Request,
        help: "the method (default GET, or POST with -d)",
    },
    OptionSpec {
        flag: Flag::Data,
        short: Some("-d"),
        long: "--data",
        value: Some("DATA|@FILE|@-"),
        shown_value: None,
        section: Section::Request,
        help: "a form body (application/x-www-form-urlencoded unless -H says otherwise); \
               @FILE reads a file, @- standard input; several are joined with &",
    },
    OptionSpec {
        flag: Flag::Header,
        short: Some("-H"),
        long: "--header",
        value: Some("'NAME: VALUE'"),
        shown_value: None,
        section: Section::Request,
        help: "a request header",
    },
    OptionSpec {
        flag: Flag::Cookie,
        short: Some("-b"),
        long: "--cookie",
        value: Some("'A=B; C=D'"),
        shown_value: None,
        section: Section::Request,
        help: "cookies to send",
    },
    OptionSpec {
        flag: Flag::Serve,
        short: None,
        long: "--serve",
        value: None,
        shown_value: Some("[ADDRESS]"),
        section: Section::Serve,
        help: "serve on http://127.0.0.1:8000/ (or ADDRESS), running this program as a CGI \
               script for each request, as a web server would; its /_cgi/ pages show what \
               each run received and answered",
    },
    OptionSpec {
        flag: Flag::Trace,
        short: None,
        long: "--trace",
        value: None,
        shown_value: None,
        section: Section::Serve,
        help: "also print each request's CGI variables and the head of the script's response",
    },
    OptionSpec {
        flag: Flag::FastCgi,
        short: None,
        long: "--fastcgi",
        value: Some("ADDRESS"),
        shown_value: None,
        section: Section::LongLived,
        help: "serve FastCGI on IP:PORT or unix:/path/app.sock",
    },
    OptionSpec {
        flag: Flag::Scgi,
        short: None,
        long: "--scgi",
        value: Some("ADDRESS"),
        shown_value: None,
        section: Section::LongLived,
        help: "serve SCGI likewise",
    },
    OptionSpec {
        flag: Flag::Workers,
        short: None,
        long: "--workers",
        value: Some("N"),
        shown_value: None,
        section: Section::LongLived,
        help: "answer up to N requests at once (default 16, at most 4096)",
    },
    OptionSpec {
        flag: Flag::Processes,
        short: None,
        long: "--processes",
        value: Some("N"),
        shown_value: None,
        section: Section::LongLived,
        help: "instead of threads, answer with N processes of this program, each one \
               request at a time, started and watched by this one: a process that dies \
               (a crash, the OOM killer) takes only its own request with it and is replaced",
    },
    OptionSpec {
        flag: Flag::MaxRequests,
        short: None,
        long: "--max-requests",
        value: Some("N"),
        shown_value: None,
        section: Section::LongLived,
        help: "with --processes: a process stops after N requests and another takes its \
               place (bounds what a leak can pile up)",
    },
    OptionSpec {
        flag: Flag::RequestTimeout,
        short: None,
        long: "--request-timeout",
        value: Some("SECONDS"),
        shown_value: None,
        section: Section::LongLived,
        help: "with --processes: kill and replace a process whose request runs longer, \
               and log the request",
    },
    OptionSpec {
        flag: Flag::StatusPath,
        short: None,
        long: "--status-path",
        value: Some("PATH"),
        shown_value: None,
        section: Section::LongLived,
        help: "with --processes: answer a request for PATH (such as /status) with the \
               pool's state in JSON; keep it from the public in the web server",
    },
    OptionSpec {
        flag: Flag::SupervisedChild,
        short: None,
        long: "--supervised-child",
        value: Some("PROTOCOL:FD"),
        shown_value: None,
        section: Section::Hidden,
        help: "",
    },
    OptionSpec {
        flag: Flag::HeadTimeout,
        short: None,
        long: "--head-timeout",
        value: Some("SECONDS"),
        shown_value: None,
        section: Section::LongLived,
        help: "close a connection whose request head (FastCGI BEGIN_REQUEST and PARAMS, \
               SCGI's headers) has not all arrived this long after its first byte (for \
               SCGI, after the connection) (default 10)",
    },
    OptionSpec {
        flag: Flag::StallTimeout,
        short: None,
        long: "--stall-timeout",
        value: Some("SECONDS"),
        shown_value: None,
        section: Section::LongLived,
        help: "close a connection on which reading the body or writing the answer moves \
               no byte for this long (default 30)",
    },
    OptionSpec {
        flag: Flag::StopGrace,
        short: None,
        long: "--stop-grace",
        value: Some("SECONDS"),
        shown_value: None,
        section: Section::LongLived,
        help: "after SIGTERM, give the requests in flight this long to finish; then reads \
               and writes still waiting on the web server are abandoned and the process \
               exits at most 2 seconds later (default 8)",
    },
    OptionSpec {
        flag: Flag::MaxParams,
        short: None,
        long: "--max-params",
        value: Some("BYTES"),
        shown_value: None,
        section: Section::LongLived,
        help: "answer 431 to a request whose meta-variables (FastCGI PARAMS, SCGI headers) \
               are larger (default 262144)",
    },
    OptionSpec {
        flag: Flag::MaxParamCount,
        short: None,
        long: "--max-param-count",
        value: Some("N"),
        shown_value: None,
        section: Section::LongLived,
        help: "answer 431 to a request with more meta-variables (default 1000)",
    },
    OptionSpec {
        flag: Flag::SocketMode,
        short: None,
        long: "--socket-mode",
        value: Some("OCTAL"),
        shown_value: None,
        section: Section::LongLived,
        help: "create the unix socket with these permissions (default: the umask's); 660 \
               lets the socket's group connect, which is this process's group, or the \
               directory's if it has the setgid bit: make it the web server's (www-data)",
    },
    OptionSpec {
        flag: Flag::Help,
        short: Some("-h"),
        long: "--help",
        value: None,
        shown_value: None,
        section: Section::General,
        help: "print this help",
    },
];

fn find_option(arg: &str) -> Option<&'static OptionSpec> {
    OPTIONS
        .iter()
        .find(|option| option.long == arg || option.short == Some(arg))
}

/// Reads the arguments (without the program's name).
pub(crate) fn parse(args: &[OsString]) -> Result<Command, String> {
    let mut args = args
        .iter()
        .map(|arg| arg.to_str().ok_or("arguments must be UTF-8".to_owned()));
    let mut request = TerminalRequest::default();
    let mut path = None;
    let mut pairs = Vec::new();
    let mut serve = None;
    let mut trace = false;
    let mut long_lived: Option<LongLivedOptions> = None;
    let mut workers_given = false;
    // The first argument of a terminal request and of the development server, to name in
    // an error if they come with another mode's options.
    let mut request_argument: Option<&str> = None;
    let mut serve_argument: Option<&str> = None;
    while let Some(arg) = args.next() {
        let arg = arg?;
        let Some(option) = find_option(arg) else {
            if arg.starts_with('/') || arg.starts_with('?') {
                request_argument.get_or_insert(arg);
                if path.replace(arg).is_some() {
                    return Err("give at most one path".into());
                }
            } else if arg.contains('=') && !arg.starts_with('-') {
                request_argument.get_or_insert(arg);
                pairs.push(arg);
            } else if serve.is_some() && !arg.starts_with('-') && pairs.is_empty() {
                // `--serve 0.0.0.0:8080`: an address right after --serve.
                serve = Some(arg.to_owned());
            } else {
                return Err(format!("unexpected argument {arg:?}"));
            }
            continue;
        };
        let value = match option.value {
            Some(_) => Some(
                args.next()
                    .unwrap_or_else(|| Err(format!("{arg} needs a value")))?,
            ),
            None => None,
        };
        match option.section {
            Section::Request => {
                request_argument.get_or_insert(arg);
            }
            Section::Serve => {
                serve_argument.get_or_insert(arg);
            }
            Section::LongLived | Section::General | Section::Hidden => {}
        }
        let value = value.unwrap_or_default();
        match option.flag {
            Flag::Help => return Ok(Command::Help),
            Flag::Method => request.method = Some(value.to_owned()),
            Flag::Data => request.data.push(match value.strip_prefix('@') {
                Some("-") => Data::Stdin,
                Some(file) => Data::File(PathBuf::from(file)),
                None => Data::Text(value.to_owned()),
            }),
            Flag::Header => {
                let (name, header_value) = value
                    .split_once(':')
                    .ok_or_else(|| format!("-H needs 'Name: value', not {value:?}"))?;
                request
                    .headers
                    .push((name.trim().to_owned(), header_value.trim().to_owned()));
            }
            Flag::Cookie => request.cookies.push(value.to_owned()),
            Flag::Serve => serve = Some(DEFAULT_SERVE_ADDRESS.to_owned()),
            Flag::Trace => trace = true,
            Flag::FastCgi | Flag::Scgi => {
                let options = long_lived.get_or_insert_with(LongLivedOptions::default);
                if options.address.is_some() {
                    return Err("give one of --fastcgi ADDRESS and --scgi ADDRESS".into());
                }
                options.address = Some(value.to_owned());
                if option.flag == Flag::Scgi {
                    options.protocol = Protocol::Scgi;
                }
            }
            Flag::Workers => {
                workers_given = true;
                long_lived
                    .get_or_insert_with(LongLivedOptions::default)
                    .workers = value
                    .parse()
                    .ok()
                    .filter(|count| (1..=MAX_WORKERS).contains(count))
                    .ok_or_else(|| {
                        format!("--workers takes a number from 1 to {MAX_WORKERS}, not {value:?}")
                    })?;
            }
            Flag::Processes
            | Flag::MaxRequests
            | Flag::RequestTimeout
            | Flag::StatusPath
            | Flag::SupervisedChild => {
                let options = long_lived.get_or_insert_with(LongLivedOptions::default);
                parse_pool_option(option.flag, value, options)?;
            }
            Flag::HeadTimeout | Flag::StallTimeout | Flag::StopGrace => {
                let bounds = &mut long_lived
                    .get_or_insert_with(LongLivedOptions::default)
                    .bounds;
                let seconds = parse_seconds(option.long, value)?;
                match option.flag {
                    Flag::HeadTimeout => bounds.head_timeout = seconds,
                    Flag::StallTimeout => bounds.stall_timeout = seconds,
                    _ => bounds.stop_grace = seconds,
                }
            }
            Flag::MaxParams | Flag::MaxParamCount => {
                let bounds = &mut long_lived
                    .get_or_insert_with(LongLivedOptions::default)
                    .bounds;
                let count = value
                    .parse()
                    .ok()
                    .filter(|count| *count >= 1)
                    .ok_or_else(|| format!("{arg} takes a whole number above 0, not {value:?}"))?;
                if option.flag == Flag::MaxParams {
                    bounds.max_params = count;
                } else {
                    bounds.max_param_count = count;
                }
            }
            Flag::SocketMode => {
                long_lived
                    .get_or_insert_with(LongLivedOptions::default)
                    .socket_mode = Some(
                    u32::from_str_radix(value, 8)
                        .ok()
                        .filter(|mode| *mode <= 0o777)
                        .ok_or_else(|| {
                            format!("--socket-mode takes octal permissions (660), not {value:?}")
                        })?,
                );
            }
        }
    }
    if let Some(options) = long_lived {
        if let Some(other) = request_argument.or(serve_argument) {
            return Err(format!(
                "{other:?} does not go with --fastcgi, --scgi or --workers"
            ));
        }
        let pool = &options.pool;
        if pool.processes.is_some() && workers_given {
            return Err(
                "--workers does not go with --processes: each process answers one request at a time"
                    .into(),
            );
        }
        if pool.processes.is_none() && pool.supervised_by.is_none() {
            for (given, option) in [
                (pool.max_requests.is_some(), "--max-requests"),
                (pool.request_timeout.is_some(), "--request-timeout"),
                (pool.status_path.is_some(), "--status-path"),
            ] {
                if given {
                    return Err(format!("{option} goes with --processes N"));
                }
            }
        }
        if options.socket_mode.is_some()
            && !options
                .address
                .as_deref()
                .is_some_and(|address| address.starts_with("unix:"))
        {
            return Err(
                "--socket-mode goes with a socket this process creates: --fastcgi unix:/PATH \
                 or --scgi unix:/PATH"
                    .into(),
            );
        }
        return Ok(Command::LongLived(options));
    }
    if let Some(address) = serve {
        if request_argument.is_some() {
            return Err("--serve takes only an address (and --trace)".into());
        }
        return Ok(Command::Serve { address, trace });
    }
    if trace {
        return Err("--trace goes with --serve".into());
    }
    let mut target = path.unwrap_or("/").to_owned();
    if target.starts_with('?') {
        target.insert(0, '/');
    }
    for pair in pairs {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        target.push(if target.contains('?') { '&' } else { '?' });
        crate::percent::encode_form_component(&mut target, name);
        target.push('=');
        crate::percent::encode_form_component(&mut target, value);
    }
    request.target = target;
    Ok(Command::Request(request))
}

/// The value of one of the pool's options.
fn parse_pool_option(
    flag: Flag,
    value: &str,
    options: &mut LongLivedOptions,
) -> Result<(), String> {
    let pool = &mut options.pool;
    match flag {
        Flag::Processes => {
            pool.processes = Some(
                value
                    .parse()
                    .ok()
                    .filter(|count| (1..=MAX_PROCESSES).contains(count))
                    .ok_or_else(|| {
                        format!(
                            "--processes takes a number from 1 to {MAX_PROCESSES}, not {value:?}"
                        )
                    })?,
            );
        }
        Flag::MaxRequests => {
            pool.max_requests = Some(value.parse().ok().filter(|count| *count >= 1).ok_or_else(
                || format!("--max-requests takes a number from 1 up, not {value:?}"),
            )?);
        }
        Flag::RequestTimeout => {
            pool.request_timeout = Some(
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|seconds| (0.001..=1e6).contains(seconds))
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| {
                        format!("--request-timeout takes seconds, such as 30 or 2.5, not {value:?}")
                    })?,
            );
        }
        Flag::StatusPath => {
            if !value.starts_with('/')
                || value.contains(|c: char| c == '?' || c.is_whitespace() || c.is_control())
            {
                return Err(format!(
                    "--status-path takes a path such as /status, not {value:?}"
                ));
            }
            pool.status_path = Some(value.to_owned());
        }
        Flag::SupervisedChild => {
            let (protocol, fd) = value
                .split_once(':')
                .and_then(|(protocol, fd)| Some((protocol, fd.parse().ok()?)))
                .ok_or_else(|| format!("--supervised-child takes PROTOCOL:FD, not {value:?}"))?;
            options.protocol = match protocol {
                "fastcgi" => Protocol::FastCgi,
                "scgi" => Protocol::Scgi,
                _ => return Err(format!("--supervised-child: no protocol {protocol:?}")),
            };
            pool.supervised_by = Some(fd);
        }
        _ => unreachable!("not an option of the pool"),
    }
    Ok(())
}

impl Default for LongLivedOptions {
    fn default() -> Self {
        LongLivedOptions {
            protocol: Protocol::FastCgi,
            address: None,
            workers: DEFAULT_WORKERS,
            pool: PoolOptions::default(),
            bounds: Bounds::default(),
            socket_mode: None,
        }
    }
}

impl Bounds {
    /// The flags that give another process of this program these bounds: a `--processes`
    /// supervisor passes its own on to its children, which read the same command line.
    pub(crate) fn as_arguments(&self) -> Vec<String> {
        let defaults = Bounds::default();
        let mut args = Vec::new();
        for (flag, value, default) in [
            ("--head-timeout", self.head_timeout, defaults.head_timeout),
            (
                "--stall-timeout",
                self.stall_timeout,
                defaults.stall_timeout,
            ),
            ("--stop-grace", self.stop_grace, defaults.stop_grace),
        ] {
            if value != default {
                let millis = value.subsec_millis();
                args.extend([flag.to_owned(), format!("{}.{millis:03}", value.as_secs())]);
            }
        }
        for (flag, value, default) in [
            ("--max-params", self.max_params, defaults.max_params),
            (
                "--max-param-count",
                self.max_param_count,
                defaults.max_param_count,
            ),
        ] {
            if value != default {
                args.extend([flag.to_owned(), value.to_string()]);
            }
        }
        args
    }
}

/// A number of seconds above 0 and at most a day, with up to three decimals (`0.5`).
/// Read by hand: parsing it as a float would add float parsing to every script.
fn parse_seconds(option: &str, value: &str) -> Result<Duration, String> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let all_digits = |text: &str| text.bytes().all(|byte| byte.is_ascii_digit());
    let millis = Some(())
        .filter(|()| {
            !(whole.is_empty() && fraction.is_empty())
                && all_digits(whole)
                && all_digits(fraction)
                && fraction.len() <= 3
        })
        .and_then(|()| {
            let whole: u64 = if whole.is_empty() {
                0
            } else {
                whole.parse().ok()?
            };
            let fraction: u64 = format!("{fraction:0<3}").parse().ok()?;
            whole.checked_mul(1000)?.checked_add(fraction)
        })
        .filter(|millis| (1..=86_400_000).contains(millis));
    millis.map(Duration::from_millis).ok_or_else(|| {
        format!("{option} takes seconds above 0 (10, 0.5) up to a day, not {value:?}")
    })
}

const INTRODUCTION: &str = "\
This program is a CGI script: a web server runs it, with the request in
environment variables (RFC 3875). Run from a terminal, it answers one request
built from its arguments and prints the raw CGI response, or serves itself to
a browser.
";

const EXAMPLES: &[(&str, &str)] = &[
    ("SCRIPT", "GET /"),
    ("SCRIPT '/items?id=7'", "GET that path and query"),
    (
        "SCRIPT name=Ada page=2",
        "GET /?name=Ada&page=2 (as Perl's CGI.pm)",
    ),
    ("SCRIPT -d 'name=Ada' /sign", "POST a form"),
    ("SCRIPT -d @form.txt", "POST the contents of a file"),
    ("SCRIPT -X DELETE /items/7", "another method"),
    ("SCRIPT -b 'sid=abc; theme=dark'", "send cookies"),
    (
        "SCRIPT --serve",
        "try it in a browser: http://127.0.0.1:8000/",
    ),
    (
        "SCRIPT --serve --trace",
        "...and see the CGI exchange of each request",
    ),
    (
        "SCRIPT --fastcgi 127.0.0.1:9000",
        "serve FastCGI (nginx's fastcgi_pass)",
    ),
    (
        "SCRIPT --scgi 127.0.0.1:4000",
        "serve SCGI (nginx's scgi_pass)",
    ),
    (
        "SCRIPT --fastcgi 127.0.0.1:9000 --processes 4",
        "four processes answering one request each at a time",
    ),
];

/// Started with a listening socket as standard input and no arguments, a script serves
/// FastCGI on it; `--help` says so.
const LONG_LIVED_NOTE: &str = "\
Started with a listening socket as standard input (lighttpd's bin-path,
spawn-fcgi, mod_fcgid), it serves FastCGI on it. SIGTERM finishes the
requests in flight (within --stop-grace) and exits.
";

/// The width `--help` wraps its descriptions to.
const WIDTH: usize = 80;

/// `--help`, generated from [`OPTIONS`]: the options this build has, each described once,
/// descriptions wrapped and aligned in one column.
pub(crate) fn help(program: &str, dev_server: bool) -> String {
    let shown = |option: &&OptionSpec| dev_server || option.section != Section::Serve;
    let names = |option: &OptionSpec| {
        let mut names = match option.short {
            Some(short) => format!("{short}, {}", option.long),
            None => option.long.to_owned(),
        };
        if let Some(value) = option.value.or(option.shown_value) {
            names.push(' ');
            names.push_str(value);
        }
        names
    };
    let mut out = String::new();
    out.push_str(INTRODUCTION);
    out.push_str("\nUsage:\n");
    let _ = writeln!(out, "  {program} [OPTIONS] [/PATH?QUERY] [NAME=VALUE ...]");
    if dev_server {
        let _ = writeln!(out, "  {program} --serve [ADDRESS] [--trace]");
    }
    let _ = writeln!(
        out,
        "  {program} --fastcgi ADDRESS | --scgi ADDRESS [--workers N]"
    );
    let _ = writeln!(
        out,
        "  {program} --fastcgi ADDRESS --processes N [--max-requests N]"
    );
    out.push_str("\nExamples:\n");
    let examples: Vec<(String, &str)> = EXAMPLES
        .iter()
        .filter(|(example, _)| dev_server || !example.contains("--serve"))
        .map(|(example, what)| (example.replace("SCRIPT", program), *what))
        .collect();
    write_columns(&mut out, &examples);
    for section in [
        Section::Request,
        Section::Serve,
        Section::LongLived,
        Section::General,
    ] {
        let rows: Vec<(String, &str)> = OPTIONS
            .iter()
            .filter(shown)
            .filter(|option| option.section == section)
            .map(|option| (names(option), option.help))
            .collect();
        if rows.is_empty() {
            continue;
        }
        out.push('\n');
        if !section.heading().is_empty() {
            let _ = writeln!(out, "{}", section.heading());
        }
        write_columns(&mut out, &rows);
        if section == Section::LongLived {
            out.push('\n');
            out.push_str(LONG_LIVED_NOTE);
        }
    }
    out
}

/// Two columns: the left one as wide as its widest entry (up to a limit: a longer entry
/// gets its description on the next line), the right one wrapped to [`WIDTH`].
fn write_columns(out: &mut String, rows: &[(String, &str)]) {
    const INDENT: usize = 2;
    const GAP: usize = 2;
    const MAX_LEFT: usize = 34;
    let left = rows
        .iter()
        .map(|(left, _)| left.len())
        .filter(|&len| len <= MAX_LEFT)
        .max()
        .unwrap_or(0);
    let column = INDENT + left + GAP;
    for (name, description) in rows {
        let _ = write!(out, "{:INDENT$}{name}", "");
        let mut line_length = INDENT + name.len();
        if name.len() > left {
            out.push('\n');
            line_length = 0;
        }
        let mut first_word = true;
        for word in description.split_whitespace() {
            let fits = line_length + 1 + word.len() <= WIDTH;
            if first_word || !fits {
                if !first_word {
                    out.push('\n');
                    line_length = 0;
                }
                let _ = write!(out, "{:1$}", "", column - line_length);
                line_length = column;
            } else {
                out.push(' ');
                line_length += 1;
            }
            out.push_str(word);
            line_length += word.len();
            first_word = false;
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Command, String> {
        parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    fn request(args: &[&str]) -> TerminalRequest {
        match parse_strs(args) {
            Ok(Command::Request(request)) => request,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn targets_and_pairs() {
        assert_eq!(request(&[]).target, "/");
        assert_eq!(request(&["/items?id=7"]).target, "/items?id=7");
        assert_eq!(request(&["?q=x"]).target, "/?q=x");
        assert_eq!(
            request(&["name=Ada Lovelace", "x=&"]).target,
            "/?name=Ada+Lovelace&x=%26"
        );
        assert_eq!(request(&["/p?a=1", "b=2"]).target, "/p?a=1&b=2");
    }

    #[test]
    fn curl_style_options() {
        let parsed = request(&[
            "-X",
            "PUT",
            "-d",
            "a=1",
            "--data",
            "@form.txt",
            "-d",
            "@-",
            "-H",
            "Accept:  text/html ",
            "-b",
            "sid=abc",
            "/x",
        ]);
        assert_eq!(parsed.method.as_deref(), Some("PUT"));
        assert_eq!(
            parsed.data,
            [
                Data::Text("a=1".into()),
                Data::File("form.txt".into()),
                Data::Stdin
            ]
        );
        assert_eq!(
            parsed.headers,
            [("Accept".to_owned(), "text/html".to_owned())]
        );
        assert_eq!(parsed.cookies, ["sid=abc"]);
        assert_eq!(parsed.target, "/x");
    }

    #[test]
    fn serve_with_or_without_an_address() {
        assert_eq!(
            parse_strs(&["--serve"]),
            Ok(Command::Serve {
                address: DEFAULT_SERVE_ADDRESS.into(),
                trace: false
            })
        );
        assert_eq!(
            parse_strs(&["--serve", "127.0.0.1:9999", "--trace"]),
            Ok(Command::Serve {
                address: "127.0.0.1:9999".into(),
                trace: true
            })
        );
        assert_eq!(parse_strs(&["--help"]), Ok(Command::Help));
    }

    #[test]
    fn long_lived_options_choose_the_protocol_address_and_workers() {
        assert_eq!(
            parse_strs(&["--fastcgi", "unix:/run/app.sock"]),
            Ok(Command::LongLived(LongLivedOptions {
                protocol: Protocol::FastCgi,
                address: Some("unix:/run/app.sock".into()),
                ..LongLivedOptions::default()
            }))
        );
        assert_eq!(
            parse_strs(&["--workers", "4", "--scgi", "127.0.0.1:4000"]),
            Ok(Command::LongLived(LongLivedOptions {
                protocol: Protocol::Scgi,
                address: Some("127.0.0.1:4000".into()),
                workers: 4,
                ..LongLivedOptions::default()
            }))
        );
        // A process manager's socket on stdin, with a worker count.
        assert_eq!(
            parse_strs(&["--workers", "2"]),
            Ok(Command::LongLived(LongLivedOptions {
                protocol: Protocol::FastCgi,
                address: None,
                workers: 2,
                ..LongLivedOptions::default()
            }))
        );
    }

    #[test]
    fn pool_options_are_read_and_checked() {
        let Ok(Command::LongLived(options)) = parse_strs(&[
            "--fastcgi",
            "127.0.0.1:9000",
            "--processes",
            "4",
            "--max-requests",
            "1000",
            "--request-timeout",
            "2.5",
            "--status-path",
            "/status",
        ]) else {
            panic!("not parsed");
        };
        assert_eq!(
            options.pool,
            PoolOptions {
                processes: Some(4),
                max_requests: Some(1000),
                request_timeout: Some(Duration::from_millis(2500)),
                status_path: Some("/status".into()),
                supervised_by: None,
            }
        );
        // What the supervisor gives its children.
        let Ok(Command::LongLived(child)) =
            parse_strs(&["--supervised-child", "scgi:7", "--max-requests", "5"])
        else {
            panic!("not parsed");
        };
        assert_eq!(
            (child.protocol, child.address, child.pool.supervised_by),
            (Protocol::Scgi, None, Some(7))
        );
        assert_eq!(child.pool.max_requests, Some(5));
        for (args, message) in [
            (&["--processes", "0"][..], "from 1 to 1024"),
            (&["--processes", "1025"], "from 1 to 1024"),
            (
                &["--processes", "2", "--workers", "4"],
                "--workers does not go with",
            ),
            (
                &["--fastcgi", "a:1", "--max-requests", "9"],
                "--max-requests goes with --processes",
            ),
            (&["--processes", "2", "--max-requests", "0"], "from 1 up"),
            (
                &["--fastcgi", "a:1", "--request-timeout", "1"],
                "--request-timeout goes with",
            ),
            (
                &["--processes", "2", "--request-timeout", "0"],
                "such as 30 or 2.5",
            ),
            (
                &["--processes", "2", "--request-timeout", "soon"],
                "such as 30 or 2.5",
            ),
            (
                &["--fastcgi", "a:1", "--status-path", "/s"],
                "--status-path goes with",
            ),
            (
                &["--processes", "2", "--status-path", "status"],
                "such as /status",
            ),
            (
                &["--processes", "2", "--status-path", "/a b"],
                "such as /status",
            ),
            (&["--supervised-child", "7"], "PROTOCOL:FD"),
            (&["--supervised-child", "http:7"], "no protocol"),
        ] {
            let error = parse_strs(args).unwrap_err();
            assert!(error.contains(message), "{args:?}: {error}");
        }
        // For the program's own use: not in --help.
        assert!(!help("greet", true).contains("--supervised-child"));
    }

    #[test]
    fn a_supervisors_children_get_its_bounds() {
        let bounds = Bounds {
            head_timeout: Duration::from_millis(2500),
            stall_timeout: Duration::from_secs(7),
            max_param_count: 50,
            ..Bounds::default()
        };
        let mut args = vec!["--supervised-child".to_owned(), "fastcgi:7".to_owned()];
        args.extend(bounds.as_arguments());
        let args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
        let Ok(Command::LongLived(child)) = parse(&args) else {
            panic!("not parsed: {args:?}");
        };
        assert_eq!(child.bounds, bounds);
        assert!(Bounds::default().as_arguments().is_empty());
    }

    #[test]
    fn every_bound_has_a_flag_and_the_socket_a_mode() {
        let Ok(Command::LongLived(options)) = parse_strs(&[
            "--scgi",
            "unix:/run/app.sock",
            "--head-timeout",
            "2.5",
            "--stall-timeout",
            "7",
            "--stop-grace",
            ".5",
            "--max-params",
            "4096",
            "--max-param-count",
            "50",
            "--socket-mode",
            "0660",
        ]) else {
            panic!("not parsed");
        };
        assert_eq!(
            options.bounds,
            Bounds {
                head_timeout: Duration::from_millis(2500),
                stall_timeout: Duration::from_secs(7),
                stop_grace: Duration::from_millis(500),
                max_params: 4096,
                max_param_count: 50,
            }
        );
        assert_eq!(options.socket_mode, Some(0o660));
        // The bounds alone, on a process manager's socket, are long-lived options too.
        assert!(matches!(
            parse_strs(&["--stall-timeout", "5"]),
            Ok(Command::LongLived(LongLivedOptions { address: None, .. }))
        ));
    }

    #[test]
    fn help_states_each_bounds_default() {
        let text = help("app", false)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let defaults = Bounds::default();
        for (option, default) in [
            ("--head-timeout", defaults.head_timeout.as_secs() as usize),
            ("--stall-timeout", defaults.stall_timeout.as_secs() as usize),
            ("--stop-grace", defaults.stop_grace.as_secs() as usize),
            ("--max-params", defaults.max_params),
            ("--max-param-count", defaults.max_param_count),
        ] {
            let row = &text[text.find(&format!("{option} ")).unwrap()..];
            let row = &row[..row[2..].find(" --").map_or(row.len(), |end| end + 2)];
            assert!(row.contains(&format!("(default {default})")), "{row}");
        }
        assert!(text.contains("--socket-mode OCTAL"), "{text}");
    }

    #[test]
    fn mistakes_are_explained() {
        for (args, message) in [
            (&["-Z"][..], "unexpected argument \"-Z\""),
            (&["-X"], "-X needs a value"),
            (&["-H", "no colon"], "-H needs 'Name: value'"),
            (&["/a", "/b"], "at most one path"),
            (&["--serve", "/a"], "--serve takes only an address"),
            (&["--trace"], "--trace goes with --serve"),
            (&["--fastcgi"], "--fastcgi needs a value"),
            (&["--fastcgi", "a:1", "--scgi", "b:2"], "give one of"),
            (&["--workers", "0", "--fastcgi", "a:1"], "from 1 to 4096"),
            (&["--workers", "many"], "from 1 to 4096"),
            (&["--fastcgi", "a:1", "/path"], "\"/path\" does not go with"),
            (
                &["--serve", "--scgi", "a:1"],
                "\"--serve\" does not go with",
            ),
            (&["-d", "x", "--workers", "2"], "\"-d\" does not go with"),
            (&["--head-timeout", "0"], "--head-timeout takes seconds"),
            (&["--stall-timeout", "-1"], "--stall-timeout takes seconds"),
            (&["--stop-grace", "soon"], "--stop-grace takes seconds"),
            (&["--stop-grace", "NaN"], "--stop-grace takes seconds"),
            (&["--stop-grace", "1e3"], "--stop-grace takes seconds"),
            (&["--stop-grace", "0.0001"], "--stop-grace takes seconds"),
            (&["--stop-grace", "86401"], "--stop-grace takes seconds"),
            (&["--stop-grace", "."], "--stop-grace takes seconds"),
            (&["--stop-grace", "0.000"], "--stop-grace takes seconds"),
            (&["--max-params", "0"], "--max-params takes a whole number"),
            (
                &["--max-param-count", "1e3"],
                "--max-param-count takes a whole",
            ),
            (&["--socket-mode", "rw-rw----"], "octal permissions"),
            (&["--socket-mode", "0o660"], "octal permissions"),
            (&["--socket-mode", "1660"], "octal permissions"),
            (&["--socket-mode", "668"], "octal permissions"),
            (
                &["--fastcgi", "127.0.0.1:9000", "--socket-mode", "660"],
                "--socket-mode goes with a socket this process creates",
            ),
            (&["--socket-mode", "660"], "--socket-mode goes with"),
        ] {
            let error = parse_strs(args).unwrap_err();
            assert!(error.contains(message), "{args:?}: {error}");
        }
    }

    #[test]
    fn help_describes_every_option_of_the_build_once() {
        let with_server = help("greet", true);
        for option in OPTIONS
            .iter()
            .filter(|option| option.section != Section::Hidden)
        {
            let rows = with_server
                .lines()
                .filter(|line| {
                    let line = line.trim_start();
                    line.starts_with(&format!("{} ", option.long))
                        || line == option.long
                        || option
                            .short
                            .is_some_and(|short| line.starts_with(&format!("{short}, ")))
                })
                .count();
            assert_eq!(rows, 1, "{}:\n{with_server}", option.long);
            // The whole description, however it was wrapped.
            let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                words(&with_server).contains(&words(option.help)),
                "{}'s description:\n{with_server}",
                option.long
            );
        }
        let without_server = help("greet", false);
        assert!(!without_server.contains("--serve"), "{without_server}");
        assert!(!without_server.contains("--trace"), "{without_server}");
        assert!(
            without_server.contains("--fastcgi ADDRESS"),
            "{without_server}"
        );
        assert!(!with_server.contains("SCRIPT"));
    }

    #[test]
    fn help_lines_fit_and_continuations_align() {
        let text = help("a-rather-long-script-name", true);
        // The column where the description of the row above starts.
        let mut description_column = None;
        let mut continuations = 0;
        for line in text.lines() {
            assert!(line.len() <= WIDTH, "{line:?} is longer than {WIDTH}");
            let indent = line.len() - line.trim_start().len();
            if indent == 2 {
                // A row: its description follows a gap of two spaces or more, if any.
                description_column = line[2..].find("  ").map(|gap| {
                    let after = &line[2 + gap..];
                    2 + gap + after.len() - after.trim_start().len()
                });
            } else if indent > 2 {
                continuations += 1;
                if let Some(column) = description_column {
                    assert_eq!(indent, column, "{line:?} in:\n{text}");
                }
                description_column = Some(indent);
            } else {
                description_column = None;
            }
        }
        assert!(continuations > 0, "nothing wrapped:\n{text}");
    }
}
