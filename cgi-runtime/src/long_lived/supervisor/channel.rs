//! What a pool's process and its supervisor tell each other, over a socket pair of their
//! own: neither standard output (handlers print there) nor the environment (handlers read
//! it). The child learns the descriptor's number from its command line.
//!
//! One line per message. From the child: `ready`, `begin <METHOD> <URI>` and `end` around
//! each request, `status` to ask for the pool's status document, and `stopping`. From the
//! supervisor: `status <JSON>`. The supervisor closes its writing side to ask the child to
//! stop; the child sees the same end of file if the supervisor dies.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileTypeExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use http::StatusCode;

use crate::response::Response;

/// How long a child waits for the status document before answering 503.
const STATUS_WAIT: Duration = Duration::from_secs(5);
/// The longest request line reported (for the slow log); the rest is cut.
const MAX_REQUEST_LINE: usize = 300;

/// A message from a child to its supervisor.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FromChild {
    Ready,
    Begin(String),
    End,
    Status,
    Stopping,
}

impl FromChild {
    pub(crate) fn parse(line: &str) -> Option<FromChild> {
        Some(match line {
            "ready" => FromChild::Ready,
            "end" => FromChild::End,
            "status" => FromChild::Status,
            "stopping" => FromChild::Stopping,
            _ => FromChild::Begin(line.strip_prefix("begin ")?.to_owned()),
        })
    }
}

/// `METHOD URI` of a request, from its meta-variables, for the supervisor's log: printable
/// ASCII only (the rest escaped), and cut at [`MAX_REQUEST_LINE`] bytes.
pub(crate) fn request_line(vars: &[(OsString, OsString)]) -> String {
    let var = |name: &str| {
        vars.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_encoded_bytes())
            .unwrap_or_default()
    };
    let mut target = var("REQUEST_URI").to_vec();
    if target.is_empty() {
        target = [var("SCRIPT_NAME"), var("PATH_INFO")].concat();
        let query = var("QUERY_STRING");
        if !query.is_empty() {
            target.push(b'?');
            target.extend_from_slice(query);
        }
    }
    let mut line = format!(
        "{} {}",
        var("REQUEST_METHOD").escape_ascii(),
        target.escape_ascii()
    );
    if line.len() > MAX_REQUEST_LINE {
        let mut end = MAX_REQUEST_LINE;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push_str("...");
    }
    line
}

/// A child's side: reports its requests, asks for the status, and stops when the
/// supervisor closes the channel.
#[derive(Debug)]
pub(crate) struct Supervised {
    to_supervisor: Mutex<File>,
    status_replies: Mutex<mpsc::Receiver<String>>,
    status_path: Option<String>,
    max_requests: Option<u64>,
    answered: AtomicU64,
}

impl Supervised {
    /// Takes over the channel descriptor `fd` the supervisor left open, and watches it:
    /// its end of file sets `stop`.
    pub(crate) fn connect(
        fd: RawFd,
        status_path: Option<String>,
        max_requests: Option<u64>,
        stop: &'static std::sync::atomic::AtomicBool,
    ) -> io::Result<Supervised> {
        let not_ours = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "--supervised-child is for the processes --processes starts",
            )
        };
        if fd < 3 || !super::process::is_open(fd) {
            return Err(not_ours());
        }
        #[allow(unsafe_code)]
        // SAFETY: the descriptor is open (checked above) and was left to this process by
        // the supervisor that started it, which named it on the command line; nothing
        // else in this process uses it.
        let inherited = unsafe { OwnedFd::from_raw_fd(fd) };
        let channel = File::from(inherited);
        if !channel.metadata()?.file_type().is_socket() {
            return Err(not_ours());
        }
        // A copy that closes on exec, so that the handler's own child processes do not
        // inherit the channel; the inherited number is closed.
        let channel = File::from(std::os::fd::AsFd::as_fd(&channel).try_clone_to_owned()?);
        let reader = channel.try_clone()?;
        let writer = channel.try_clone()?;
        let (replies, status_replies) = mpsc::channel();
        std::thread::Builder::new()
            .name("cgi-supervised".into())
            .spawn(move || watch(reader, writer, replies, stop))?;
        Ok(Supervised {
            to_supervisor: Mutex::new(channel),
            status_replies: Mutex::new(status_replies),
            status_path,
            max_requests,
            answered: AtomicU64::new(0),
        })
    }

    fn send(&self, line: &str) {
        let mut channel = self
            .to_supervisor
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // One write per line. A supervisor that is gone is noticed by the watcher.
        let _ = channel.write_all(format!("{line}\n").as_bytes());
    }

    pub(crate) fn ready(&self) {
        self.send("ready");
    }

    pub(crate) fn begin(&self, vars: &[(OsString, OsString)]) {
        self.send(&format!("begin {}", request_line(vars)));
    }

    /// Reports the end of a request; true once the process has answered its
    /// `--max-requests` and should stop.
    pub(crate) fn end(&self) -> bool {
        self.send("end");
        let answered = self.answered.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_requests.is_some_and(|max| answered >= max)
    }

    pub(crate) fn status_path(&self) -> Option<&str> {
        self.status_path.as_deref()
    }

    /// The pool's status document, from the supervisor; `None` if it does not answer.
    pub(crate) fn status(&self) -> Option<String> {
        let replies = self
            .status_replies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // A reply that came too late for an earlier request is stale.
        while replies.try_recv().is_ok() {}
        self.send("status");
        replies.recv_timeout(STATUS_WAIT).ok()
    }

    /// The answer to a request for `--status-path`: the status document, or `503` if the
    /// supervisor does not give it.
    pub(crate) fn status_response(&self) -> Response {
        match self.status() {
            Some(document) => Response::builder()
                .header("Content-Type", "application/json")
                .header("Cache-Control", "no-store")
                .body(document),
            None => Response::rejection(
                StatusCode::SERVICE_UNAVAILABLE,
                "The supervisor of this process did not answer.".into(),
            ),
        }
    }
}

/// The child's watcher thread: hands status documents over, and on end of file (a stop
/// asked for, or the supervisor gone) sets `stop` and says so.
fn watch(
    reader: File,
    mut writer: File,
    replies: mpsc::Sender<String>,
    stop: &std::sync::atomic::AtomicBool,
) {
    for line in BufReader::new(reader).lines() {
        let Ok(line) = line else { break };
        if let Some(document) = line.strip_prefix("status ") {
            let _ = replies.send(document.to_owned());
        }
    }
    stop.store(true, Ordering::Release);
    let _ = writer.write_all(b"stopping\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &[u8])]) -> Vec<(OsString, OsString)> {
        use std::os::unix::ffi::OsStringExt;
        pairs
            .iter()
            .map(|(name, value)| (OsString::from(name), OsString::from_vec(value.to_vec())))
            .collect()
    }

    #[test]
    fn messages_parse_and_request_lines_are_printable_and_bounded() {
        assert_eq!(FromChild::parse("ready"), Some(FromChild::Ready));
        assert_eq!(
            FromChild::parse("begin GET /a?b"),
            Some(FromChild::Begin("GET /a?b".into()))
        );
        assert_eq!(FromChild::parse("end"), Some(FromChild::End));
        assert_eq!(FromChild::parse("status"), Some(FromChild::Status));
        assert_eq!(FromChild::parse("stopping"), Some(FromChild::Stopping));
        assert_eq!(FromChild::parse("hello"), None);

        let line = request_line(&vars(&[
            ("REQUEST_METHOD", b"GET"),
            ("REQUEST_URI", b"/x?a=\n\xff"),
        ]));
        assert_eq!(line, "GET /x?a=\\n\\xff");
        let line = request_line(&vars(&[
            ("REQUEST_METHOD", b"POST"),
            ("SCRIPT_NAME", b"/app"),
            ("PATH_INFO", b"/items"),
            ("QUERY_STRING", b"id=7"),
        ]));
        assert_eq!(line, "POST /app/items?id=7");
        let long = vec![b'a'; 1000];
        let line = request_line(&vars(&[("REQUEST_METHOD", b"GET"), ("REQUEST_URI", &long)]));
        assert_eq!(line.len(), MAX_REQUEST_LINE + 3);
        assert!(line.ends_with("..."));
    }

    #[test]
    fn a_child_reports_asks_and_stops_when_the_supervisor_closes() {
        use std::io::Read;
        use std::os::fd::AsRawFd;
        static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let (supervisor, child) = super::super::process::socket_pair().unwrap();
        let number = child.as_raw_fd();
        std::mem::forget(child); // now the child side's, by number
        let supervised =
            Supervised::connect(number, Some("/status".into()), Some(2), &STOP).unwrap();
        let mut supervisor = File::from(supervisor);
        supervised.ready();
        supervised.begin(&vars(&[("REQUEST_METHOD", b"GET"), ("REQUEST_URI", b"/")]));
        assert!(!supervised.end());
        assert!(supervised.end(), "the second of --max-requests 2");
        supervisor
            .write_all(b"status {\"stale\":1}\nstatus {\"ok\":1}\n")
            .unwrap();
        // Replies nobody waits for yet (a late one for an earlier request) are dropped:
        // the status asked next gets the answer to its own "status" line.
        std::thread::sleep(Duration::from_millis(50));
        let answerer = {
            let mut supervisor = supervisor.try_clone().unwrap();
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                let mut byte = [0u8; 1];
                while !String::from_utf8_lossy(&seen).contains("status\n") {
                    supervisor.read_exact(&mut byte).unwrap();
                    seen.push(byte[0]);
                }
                supervisor.write_all(b"status {\"fresh\":1}\n").unwrap();
                String::from_utf8(seen).unwrap()
            })
        };
        assert_eq!(supervised.status().as_deref(), Some("{\"fresh\":1}"));
        let said = answerer.join().unwrap();
        assert_eq!(said, "ready\nbegin GET /\nend\nend\nstatus\n");
        assert!(!STOP.load(Ordering::Acquire));
        std::net::TcpStream::from(OwnedFd::from(supervisor.try_clone().unwrap()))
            .shutdown(std::net::Shutdown::Write)
            .unwrap();
        drop(supervised);
        let mut rest = String::new();
        supervisor.read_to_string(&mut rest).unwrap_or_default();
        assert_eq!(rest, "stopping\n");
        assert!(STOP.load(Ordering::Acquire));
        assert!(matches!(
            Supervised::connect(0, None, None, &STOP),
            Err(error) if error.kind() == io::ErrorKind::InvalidInput
        ));
    }
}
