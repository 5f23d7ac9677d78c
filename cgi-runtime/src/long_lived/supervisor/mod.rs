//! `--processes N`: a supervisor and N processes of the same program, as php-fpm, uWSGI
//! and gunicorn run theirs. The supervisor binds the socket and accepts nothing itself;
//! each child gets the listening socket as its standard input (as any FastCGI process
//! manager passes it) and answers one request at a time. A child that dies, however
//! (abort, stack overflow, a C library's segfault, the OOM killer), takes only its own
//! request with it and is replaced; one that has answered `--max-requests` stops and is
//! replaced; one whose request runs past `--request-timeout` is killed and replaced.
//!
//! Each child reports its requests over a channel of its own ([`channel`]), from which
//! the supervisor keeps the pool's state ([`pool`]) and answers the status requests that
//! children pass on. SIGTERM stops the children gracefully (their channel closes), and
//! the supervisor exits once they have.

mod channel;
mod pool;
mod process;

use std::ffi::CString;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::process::ExitStatus;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use super::Listener;
use super::signals;
use crate::command_line::{LongLivedOptions, Protocol};
use channel::FromChild;
pub(crate) use channel::Supervised;
use pool::{Member, Pool, State};
pub(crate) use process::SUPPORTED;
use process::{COULD_NOT_RUN, Process, Program};

/// How often the supervisor looks at its children's clocks and at the stop flag (a
/// child that ends wakes it at once).
const TICK: Duration = Duration::from_millis(20);
/// How often it looks for a child whose channel has closed, until the kernel reports it
/// ended: the child's descriptors close a moment before its exit can be collected, and
/// its slot, empty till then, answers no request (`--max-requests` makes that often).
const EXITING_TICK: Duration = Duration::from_millis(1);
/// A child that ends sooner than this after its start, without success, is restarted
/// after a growing delay (a program that cannot start must not fork in a loop).
const YOUNG: Duration = Duration::from_secs(1);
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);
/// How long a stopping pool waits for its children to say they stop accepting before it
/// closes the listening socket anyway.
const STOP_ACKNOWLEDGE: Duration = Duration::from_secs(1);

/// A child process and what the supervisor holds of it.
#[derive(Debug)]
struct Child {
    process: Process,
    /// The supervisor's end of the channel: shut for writing to ask the child to stop.
    channel: OwnedFd,
    started: Instant,
    /// Killed for running past `--request-timeout` (the log has said so).
    timed_out: bool,
}

/// When a slot gets its next process.
#[derive(Debug, Clone, Copy)]
struct Restart {
    at: Instant,
    /// Children in a row that ended young and without success.
    failures: u32,
}

/// Runs the pool on `listener` until SIGTERM or SIGINT, then stops every child gracefully.
pub(crate) fn run(program: &str, options: &LongLivedOptions, listener: Listener) {
    let processes = options.pool.processes.unwrap_or(1);
    signals::stop_on_termination();
    let launcher = Launcher::new(options);
    eprintln!(
        "{program}: serving {} on {listener} with {processes} processes",
        options.protocol.name()
    );
    let pool = Arc::new(Mutex::new(Pool::new(processes)));
    // The children (slot and process id) that closed their channel: ending.
    let (wake, woken) = mpsc::channel::<(usize, u32)>();
    let mut children: Vec<Option<Child>> = (0..processes).map(|_| None).collect();
    let now = Instant::now();
    let mut restarts: Vec<Restart> = vec![
        Restart {
            at: now,
            failures: 0,
        };
        processes
    ];
    let mut stopping_since: Option<Instant> = None;
    let mut listening = true;
    let mut exiting = vec![false; processes];
    loop {
        let tick = if exiting.contains(&true) {
            EXITING_TICK
        } else {
            TICK
        };
        if let Ok(first) = woken.recv_timeout(tick) {
            // Unless it was collected meanwhile, and its slot has another child.
            for (slot, pid) in std::iter::once(first).chain(woken.try_iter()) {
                if children[slot]
                    .as_ref()
                    .is_some_and(|child| child.process.id() == pid)
                {
                    exiting[slot] = true;
                }
            }
        }
        let stopping = signals::STOP.load(Ordering::Acquire);
        reap(program, &mut children, &mut restarts, &pool, stopping);
        for (slot, child) in children.iter().enumerate() {
            if child.is_none() {
                exiting[slot] = false;
            }
        }
        if let Some(timeout) = options.pool.request_timeout {
            kill_overdue(program, timeout, &mut children, &pool);
        }
        if stopping {
            let since = *stopping_since.get_or_insert_with(|| {
                eprintln!(
                    "{program}: {}: stopping the processes once their requests are answered \
                     (send it again to stop now)",
                    signals::received()
                );
                for child in children.iter().flatten() {
                    ask_to_stop(child);
                }
                Instant::now()
            });
            // Once no child accepts any more, a socket this process bound refuses new
            // connections (a web server then tries another backend).
            if listening && (all_stopping(&lock(&pool)) || since.elapsed() > STOP_ACKNOWLEDGE) {
                listener.stop_listening();
                listening = false;
            }
            if children.iter().all(Option::is_none) {
                break;
            }
            continue;
        }
        for (slot, child) in children.iter_mut().enumerate() {
            if child.is_none() && restarts[slot].at <= Instant::now() {
                *child = launcher.start(program, slot, &listener, &pool, &wake);
                if child.is_none() {
                    restarts[slot].at = Instant::now() + LAST_RETRY;
                }
            }
        }
    }
    listener.remove_file();
    eprintln!("{program}: stopped");
}

fn lock(pool: &Mutex<Pool>) -> MutexGuard<'_, Pool> {
    pool.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether every child left has said it accepts no more.
fn all_stopping(pool: &Pool) -> bool {
    pool.slots
        .iter()
        .flatten()
        .all(|member| member.state == State::Stopping)
}

fn ask_to_stop(child: &Child) {
    if let Ok(fd) = child.channel.try_clone() {
        let _ = TcpStream::from(fd).shutdown(Shutdown::Write);
    }
}

/// Collects the children that ended: says why when it is news, and schedules their
/// replacement unless the pool is stopping.
fn reap(
    program: &str,
    children: &mut [Option<Child>],
    restarts: &mut [Restart],
    pool: &Mutex<Pool>,
    stopping: bool,
) {
    for (slot, entry) in children.iter_mut().enumerate() {
        let Some(child) = entry else { continue };
        let status = match child.process.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) => continue,
            Err(error) => {
                eprintln!(
                    "{program}: waiting for process {}: {error}",
                    child.process.id()
                );
                continue;
            }
        };
        let pid = child.process.id();
        let mut pool = lock(pool);
        let member = pool.slots[slot].take();
        if !stopping {
            pool.replaced += 1;
        }
        drop(pool);
        let request = match member.map(|member| member.state) {
            Some(State::Busy { request, .. }) => Some(request),
            _ => None,
        };
        // News: a process that failed, or ended in the middle of a request (a process
        // that stopped idle and cleanly was recycled, or told to stop); one killed for its
        // timeout has its line already.
        let routine = status.success() && request.is_none();
        if !child.timed_out && !routine {
            eprintln!(
                "{program}: process {pid} {}{}",
                describe(status),
                match &request {
                    Some(request) => format!(" while answering \"{request}\""),
                    None => String::new(),
                }
            );
        }
        let young = child.started.elapsed() < YOUNG && !status.success();
        let restart = &mut restarts[slot];
        if young {
            restart.failures += 1;
            let delay = FIRST_RETRY
                .saturating_mul(1 << restart.failures.min(6))
                .min(LAST_RETRY);
            restart.at = Instant::now() + delay;
        } else {
            restart.failures = 0;
            restart.at = Instant::now();
        }
        *entry = None;
    }
}

/// How a child ended, for the log.
fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(COULD_NOT_RUN), _) => {
            format!("could not run this program again (exit status {COULD_NOT_RUN})")
        }
        (Some(code), _) => format!("exited with status {code}"),
        (_, Some(signal)) => format!(
            "was ended by signal {signal}{}{}",
            signal_name(signal).map_or(String::new(), |name| format!(" ({name})")),
            if status.core_dumped() {
                ", core dumped"
            } else {
                ""
            }
        ),
        _ => format!("ended: {status}"),
    }
}

fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL (the OOM killer, or someone's kill -9)",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// Kills the children whose request has run past `timeout`, each with a line in the log
/// that names the request and how long it ran.
fn kill_overdue(
    program: &str,
    timeout: Duration,
    children: &mut [Option<Child>],
    pool: &Mutex<Pool>,
) {
    let mut pool = lock(pool);
    for (slot, entry) in children.iter_mut().enumerate() {
        let Some(child) = entry else { continue };
        if child.timed_out {
            continue;
        }
        let Some(Member {
            state: State::Busy { since, request },
            ..
        }) = &pool.slots[slot]
        else {
            continue;
        };
        let elapsed = since.elapsed();
        if elapsed <= timeout {
            continue;
        }
        let request = request.clone();
        let pid = child.process.id();
        match child.process.kill() {
            Ok(()) => {
                eprintln!(
                    "{program}: slow request: \"{request}\" ran {:.2} s, past \
                     --request-timeout {}: killed process {pid}",
                    elapsed.as_secs_f64(),
                    seconds(timeout)
                );
                pool.timed_out += 1;
                child.timed_out = true;
            }
            Err(error) => eprintln!("{program}: killing process {pid}: {error}"),
        }
    }
}

/// `30`, or `2.5`: as the option was written.
fn seconds(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds.fract() == 0.0 {
        format!("{seconds:.0}")
    } else {
        format!("{seconds}")
    }
}

/// What every child is started with.
#[derive(Debug)]
struct Launcher {
    path: CString,
    /// This program's own name for itself, kept as the children's `argv[0]`.
    name: CString,
    /// The options after `--supervised-child PROTOCOL:FD`.
    options: Vec<CString>,
    env: Vec<CString>,
    protocol: &'static str,
}

impl Launcher {
    fn new(options: &LongLivedOptions) -> Launcher {
        // The running program itself, even once a deploy has replaced its file: every
        // child runs the supervisor's version.
        let path = if std::path::Path::new("/proc/self/exe").exists() {
            CString::new("/proc/self/exe").ok()
        } else {
            std::env::current_exe()
                .ok()
                .and_then(|path| CString::new(path.as_os_str().as_bytes()).ok())
        };
        let name = std::env::args_os()
            .next()
            .and_then(|name| CString::new(name.as_bytes()).ok());
        let mut args = Vec::new();
        if let Some(max) = options.pool.max_requests {
            args.extend(["--max-requests".to_owned(), max.to_string()]);
        }
        if let Some(path) = &options.pool.status_path {
            args.extend(["--status-path".to_owned(), path.clone()]);
        }
        args.extend(options.bounds.as_arguments());
        Launcher {
            path: path.unwrap_or_default(),
            name: name.unwrap_or_else(|| c"cgi".to_owned()),
            options: args
                .into_iter()
                .filter_map(|arg| CString::new(arg).ok())
                .collect(),
            env: std::env::vars_os()
                .filter_map(|(name, value)| {
                    let mut pair = name.as_bytes().to_vec();
                    pair.push(b'=');
                    pair.extend_from_slice(value.as_bytes());
                    CString::new(pair).ok()
                })
                .collect(),
            protocol: match options.protocol {
                Protocol::FastCgi => "fastcgi",
                Protocol::Scgi => "scgi",
            },
        }
    }

    /// Starts the child of `slot`, and the thread that reads its channel. `None` (said
    /// in the log) when it could not be started.
    fn start(
        &self,
        program: &str,
        slot: usize,
        listener: &Listener,
        pool: &Arc<Mutex<Pool>>,
        wake: &mpsc::Sender<(usize, u32)>,
    ) -> Option<Child> {
        let started = (|| {
            let (ours, theirs) = process::socket_pair()?;
            let stdin = listener.fd()?;
            let mut args = vec![
                self.name.clone(),
                c"--supervised-child".to_owned(),
                CString::new(format!("{}:{}", self.protocol, theirs.as_raw_fd()))?,
            ];
            args.extend(self.options.iter().cloned());
            let program = Program {
                path: self.path.clone(),
                args,
                env: self.env.clone(),
            };
            let process = Process::spawn(&program, stdin.as_fd(), theirs.as_fd())?;
            std::io::Result::Ok((process, ours))
        })();
        let (process, channel) = match started {
            Ok(started) => started,
            Err(error) => {
                eprintln!("{program}: could not start a process: {error}");
                return None;
            }
        };
        let pid = process.id();
        lock(pool).slots[slot] = Some(Member {
            pid,
            state: State::Starting,
            requests: 0,
        });
        let reader = channel.try_clone().map(File::from);
        let writer = channel.try_clone().map(File::from);
        let child = Child {
            process,
            channel,
            started: Instant::now(),
            timed_out: false,
        };
        match (reader, writer) {
            (Ok(reader), Ok(writer)) => {
                let (pool, wake, name) = (Arc::clone(pool), wake.clone(), program.to_owned());
                let spawned = thread::Builder::new()
                    .name(format!("cgi-child-{slot}"))
                    .spawn(move || listen(&name, slot, pid, reader, writer, &pool, &wake));
                if let Err(error) = spawned {
                    eprintln!("{program}: cannot watch process {pid}: {error}");
                    ask_to_stop(&child);
                }
            }
            (Err(error), _) | (_, Err(error)) => {
                eprintln!("{program}: cannot watch process {pid}: {error}");
                ask_to_stop(&child);
            }
        }
        Some(child)
    }
}

/// Reads one child's messages until its channel closes (it ended), then wakes the
/// supervisor to collect it.
fn listen(
    program: &str,
    slot: usize,
    pid: u32,
    reader: File,
    mut writer: File,
    pool: &Mutex<Pool>,
    wake: &mpsc::Sender<(usize, u32)>,
) {
    for line in BufReader::new(reader).lines() {
        let Ok(line) = line else { break };
        match FromChild::parse(&line) {
            Some(FromChild::Status) => {
                let document = lock(pool).to_json(program);
                let _ = writer.write_all(format!("status {document}\n").as_bytes());
            }
            Some(message) => lock(pool).apply(slot, pid, message),
            None => {}
        }
    }
    let _ = wake.send((slot, pid));
}
