//! Running a built example as a web server runs a CGI script: a cleared environment, the
//! request in variables, the body on a pipe, and what came out, within a time limit.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::cgi_response::{Cgi, Rules, parse_cgi};

/// This test binary's name as it appears in names of files and servers
/// (`dev_and_cli` → `dev-and-cli`).
fn crate_label() -> String {
    env!("CARGO_CRATE_NAME").replace('_', "-")
}

/// Bytes as an environment variable's name or value (not necessarily UTF-8).
pub(crate) fn os(bytes: &[u8]) -> OsString {
    OsString::from_vec(bytes.to_vec())
}

/// A fresh directory in the system's temporary directory, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(label: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "cgikit-{}-{label}-{}-{}",
            crate_label(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path).expect("a temporary directory");
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// The names of what the directory holds, sorted.
    pub(crate) fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok())
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// What the script's stdin does.
pub(crate) enum Stdin {
    /// Written by a helper thread, then closed (EOF).
    Bytes(Vec<u8>),
    /// Written, then held open (no EOF) until the script has exited: the client socket
    /// Python's http.server hands its scripts, or a client that stalls.
    HeldOpen(Vec<u8>),
    /// Written, held open this long (or until the script has exited), then closed: a slow
    /// client.
    ClosedAfter(Vec<u8>, Duration),
}

/// What happens to the script's stdout.
pub(crate) enum Stdout {
    /// Read to the end.
    Piped,
    /// This many bytes are read, then the reading end is closed (the client left).
    ClosedAfter(usize),
    /// A pipe whose reading end is closed before the script starts: every write fails
    /// with EPIPE, as when the client has gone.
    ReaderClosed,
}

/// A run of one built example, set up step by step, then [`Script::run`].
pub(crate) struct Script {
    name: String,
    program: PathBuf,
    args: Vec<OsString>,
    /// Applied in order to an empty environment; `None` removes the variable.
    env: Vec<(OsString, Option<OsString>)>,
    stdin: Stdin,
    stdout: Stdout,
    /// A script still running after this is killed and the test fails.
    timeout: Duration,
    measure_rss: bool,
    /// The script's own TMPDIR, if it has one.
    tmpdir: Option<TempDir>,
}

impl Script {
    /// The built example `name` (see [`super::example`]) with an empty environment, an
    /// empty closed stdin, and a time limit of 10 s.
    pub(crate) fn example(name: &str, examples: &[&str]) -> Self {
        Script {
            name: name.to_owned(),
            program: super::example(name, examples),
            args: Vec::new(),
            env: Vec::new(),
            stdin: Stdin::Bytes(Vec::new()),
            stdout: Stdout::Piped,
            timeout: Duration::from_secs(10),
            measure_rss: false,
            tmpdir: None,
        }
    }

    /// The variables every server sets for a GET of `/cgi-bin/<name><path_info>?<query>`
    /// (`PATH_INFO` only when not empty).
    pub(crate) fn cgi_get(self, path_info: &str, query: &str) -> Self {
        let script_name = format!("/cgi-bin/{}", self.name);
        let mut request_uri = format!("{script_name}{path_info}");
        if !query.is_empty() {
            request_uri = format!("{request_uri}?{query}");
        }
        let software = format!("{}-test", crate_label());
        let script = self.vars([
            ("GATEWAY_INTERFACE", "CGI/1.1"),
            ("REQUEST_METHOD", "GET"),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
            ("SERVER_SOFTWARE", software.as_str()),
            ("SERVER_NAME", "localhost"),
            ("SERVER_PORT", "80"),
            ("REMOTE_ADDR", "127.0.0.1"),
            ("HTTP_HOST", "localhost"),
            ("SCRIPT_NAME", script_name.as_str()),
            ("REQUEST_URI", request_uri.as_str()),
            ("QUERY_STRING", query),
        ]);
        if path_info.is_empty() {
            script
        } else {
            script.var("PATH_INFO", path_info)
        }
    }

    /// Makes the request a POST of `body` with a correct `CONTENT_LENGTH`.
    pub(crate) fn post(self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let body = body.into();
        self.var("REQUEST_METHOD", "POST")
            .var("CONTENT_TYPE", content_type)
            .var("CONTENT_LENGTH", body.len().to_string())
            .body(body)
    }

    pub(crate) fn var(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((name.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    pub(crate) fn vars<'a>(self, vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        vars.into_iter()
            .fold(self, |script, (name, value)| script.var(name, value))
    }

    pub(crate) fn without(mut self, name: &str) -> Self {
        self.env.push((name.into(), None));
        self
    }

    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub(crate) fn args<'a>(self, args: impl IntoIterator<Item = &'a str>) -> Self {
        args.into_iter().fold(self, Script::arg)
    }

    /// `body` on stdin, then EOF.
    pub(crate) fn body(self, body: impl Into<Vec<u8>>) -> Self {
        self.stdin(Stdin::Bytes(body.into()))
    }

    pub(crate) fn stdin(mut self, stdin: Stdin) -> Self {
        self.stdin = stdin;
        self
    }

    /// Keeps the body already set, but holds stdin open after it.
    pub(crate) fn held_open(mut self) -> Self {
        let bytes = match &mut self.stdin {
            Stdin::Bytes(bytes) | Stdin::HeldOpen(bytes) | Stdin::ClosedAfter(bytes, _) => {
                std::mem::take(bytes)
            }
        };
        self.stdin(Stdin::HeldOpen(bytes))
    }

    pub(crate) fn stdout_reader_closed(mut self) -> Self {
        self.stdout = Stdout::ReaderClosed;
        self
    }

    /// Reads `bytes` of stdout, then closes it (the client left).
    pub(crate) fn close_stdout_after(mut self, bytes: usize) -> Self {
        self.stdout = Stdout::ClosedAfter(bytes);
        self
    }

    /// Whether stdout is cut on purpose: the output is then only a prefix.
    pub(crate) fn cuts_stdout(&self) -> bool {
        matches!(self.stdout, Stdout::ClosedAfter(_))
    }

    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Measures the peak resident set size ([`Outcome::peak_rss_kib`]).
    pub(crate) fn measure_rss(mut self) -> Self {
        self.measure_rss = true;
        self
    }

    /// Gives the script a fresh, empty TMPDIR of its own ([`Outcome::tmpdir_left`]).
    pub(crate) fn own_tmpdir(mut self) -> Self {
        let tmpdir = TempDir::new("tmpdir");
        self = self.var("TMPDIR", tmpdir.path());
        self.tmpdir = Some(tmpdir);
        self
    }

    /// Runs the script to completion (killed, and the test failed, after the timeout).
    pub(crate) fn run(self) -> Outcome {
        let Script {
            name,
            program,
            args,
            env,
            stdin,
            stdout,
            timeout,
            measure_rss,
            tmpdir,
        } = self;
        let mut label = name.clone();
        if !args.is_empty() {
            let _ = write!(label, " {args:?}");
        }
        let environment = env_listing(&env);
        // Peak memory: GNU time's `%M` when installed, else /proc's VmHWM while it runs.
        let time = Path::new("/usr/bin/time");
        let rss_file = (measure_rss && time.is_file()).then(|| {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            std::env::temp_dir().join(format!(
                "cgikit-{}-rss-{}-{}",
                crate_label(),
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ))
        });
        let mut command = match &rss_file {
            Some(file) => {
                let mut command = Command::new(time);
                command
                    .arg("-f")
                    .arg("%M")
                    .arg("-o")
                    .arg(file)
                    .arg(&program);
                command
            }
            None => Command::new(&program),
        };
        command.args(&args).env_clear();
        for (variable, value) in env {
            match value {
                Some(value) => command.env(variable, value),
                None => command.env_remove(variable),
            };
        }
        command.stdin(Stdio::piped()).stderr(Stdio::piped());
        let stdout_limit = match stdout {
            Stdout::Piped => {
                command.stdout(Stdio::piped());
                None
            }
            Stdout::ClosedAfter(limit) => {
                command.stdout(Stdio::piped());
                Some(limit)
            }
            Stdout::ReaderClosed => {
                let (reader, writer) = io::pipe().expect("a pipe");
                drop(reader);
                command.stdout(writer);
                None
            }
        };
        let started = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {name}: {error}"));
        // Dropping `command` closes the parent's copy of a ReaderClosed pipe's writing end.
        drop(command);
        let pid = child.id();

        let mut pipe = child.stdin.take().expect("piped stdin");
        let (release, released) = mpsc::channel::<()>();
        let writer = thread::spawn(move || {
            let (bytes, hold) = match stdin {
                Stdin::Bytes(bytes) => (bytes, Some(Duration::ZERO)),
                Stdin::HeldOpen(bytes) => (bytes, None),
                Stdin::ClosedAfter(bytes, hold) => (bytes, Some(hold)),
            };
            let written = pipe.write_all(&bytes).and_then(|()| pipe.flush());
            match hold {
                Some(hold) if hold.is_zero() => {}
                // Until the script has exited (the sender is dropped then).
                Some(hold) => {
                    let _ = released.recv_timeout(hold);
                }
                None => {
                    let _ = released.recv();
                }
            }
            // Taken just BEFORE stdin is closed: a script that had exited by then answered
            // before it could have seen EOF.
            let closing = Instant::now();
            drop(pipe);
            (written, closing)
        });
        let stdout_reader = child.stdout.take().map(|mut stdout| {
            thread::spawn(move || {
                let mut bytes = Vec::new();
                match stdout_limit {
                    None => {
                        let _ = stdout.read_to_end(&mut bytes);
                    }
                    Some(limit) => {
                        let _ = (&mut stdout).take(limit as u64).read_to_end(&mut bytes);
                    }
                }
                // Dropping `stdout` here closes the reading end: the client has gone.
                bytes
            })
        });
        let stderr_reader = read_all(child.stderr.take().expect("piped stderr"));

        let mut polled_rss = None;
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for the script") {
                break status;
            }
            if measure_rss && rss_file.is_none() {
                polled_rss = vm_hwm_kib(pid).max(polled_rss);
            }
            if started.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{name} did not exit within {timeout:?}");
            }
            thread::sleep(Duration::from_millis(2));
        };
        let exited = Instant::now();
        let elapsed = started.elapsed();
        drop(release);
        let (stdin_written, closing) = writer.join().expect("the stdin writer");
        let stdout = stdout_reader
            .map(|reader| reader.join().expect("the stdout reader"))
            .unwrap_or_default();
        let stderr = stderr_reader.join().expect("the stderr reader");
        let peak_rss_kib = match &rss_file {
            Some(file) => {
                let report = fs::read_to_string(file).unwrap_or_default();
                let _ = fs::remove_file(file);
                report
                    .lines()
                    .rev()
                    .find_map(|line| line.trim().parse::<u64>().ok())
            }
            None => polled_rss,
        };
        Outcome {
            name,
            label,
            environment,
            code: status.code(),
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            elapsed,
            stdin_written,
            answered_before_eof: exited < closing,
            peak_rss_kib,
            tmpdir_left: tmpdir.as_ref().map(TempDir::entries),
        }
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// The environment as `NAME=value` lines for assertion messages, long values cut.
fn env_listing(env: &[(OsString, Option<OsString>)]) -> String {
    let mut listing = String::new();
    for (name, value) in env {
        let name = name.to_string_lossy();
        match value {
            Some(value) => {
                let value = value.to_string_lossy();
                let shown: String = value.chars().take(200).collect();
                let cut = if shown.len() < value.len() { "…" } else { "" };
                let _ = writeln!(listing, "{name}={shown}{cut}");
            }
            None => {
                let _ = writeln!(listing, "(no {name})");
            }
        }
    }
    listing
}

/// The peak resident set size of a running process, from /proc.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// What one run produced.
pub(crate) struct Outcome {
    /// The example's name.
    pub(crate) name: String,
    /// The name and the arguments, for messages.
    label: String,
    /// The variables set, for messages.
    environment: String,
    /// `None` if a signal ended the process.
    pub(crate) code: Option<i32>,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
    pub(crate) elapsed: Duration,
    /// Whether the whole body could be written to stdin: with more than a pipe holds
    /// (64 KiB) after the point where the script gives up, only if it drained the rest.
    pub(crate) stdin_written: io::Result<()>,
    /// The script exited while its stdin was still open.
    pub(crate) answered_before_eof: bool,
    /// The peak resident set size, in KiB, when measured ([`Script::measure_rss`]).
    pub(crate) peak_rss_kib: Option<u64>,
    /// What was left in the script's own TMPDIR ([`Script::own_tmpdir`]).
    pub(crate) tmpdir_left: Option<Vec<String>>,
}

impl Outcome {
    pub(crate) fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Context for assertion messages.
    pub(crate) fn dump(&self) -> String {
        let tmpdir = match &self.tmpdir_left {
            Some(left) => format!(", TMPDIR left: {left:?}"),
            None => String::new(),
        };
        format!(
            "{} exited with {:?} after {:?} (stdin written: {:?}{tmpdir})\n--- environment ---\n{}--- stdout ---\n{}\n--- stderr ---\n{}",
            self.label,
            self.code,
            self.elapsed,
            self.stdin_written,
            self.environment,
            self.stdout_text(),
            self.stderr
        )
    }

    /// The response to a GET or POST, strictly parsed; also checks the exit code is 0 and,
    /// if the script had its own TMPDIR, that nothing is left in it.
    pub(crate) fn response(&self) -> Cgi {
        self.parsed(Rules::default())
    }

    /// The response to a HEAD: headers only.
    pub(crate) fn head_response(&self) -> Cgi {
        self.parsed(Rules {
            head: true,
            ..Rules::default()
        })
    }

    fn parsed(&self, rules: Rules) -> Cgi {
        assert_eq!(self.code, Some(0), "{}", self.dump());
        if let Some(left) = &self.tmpdir_left {
            assert!(left.is_empty(), "temporary files survived: {}", self.dump());
        }
        parse_cgi(&self.stdout, rules)
            .unwrap_or_else(|error| panic!("invalid CGI output: {error}\n{}", self.dump()))
    }
}
