//! How long a connection's reads and writes wait on a web server that sends or reads
//! nothing: sockets block for one short poll at a time (see [`POLL`]), and between polls
//! the connection looks at the time it has gone without progress and at the stop.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long one blocking read or write on a connection waits before it looks around:
/// whether the process stops, whether a limit is reached.
pub(crate) const POLL: Duration = Duration::from_millis(250);

/// What every read and write of one connection checks between polls, shared by its
/// reading and writing sides.
#[derive(Debug, Clone)]
pub(crate) struct Patience {
    /// The longest a read or a write may go without moving a byte.
    pub(crate) stall: Duration,
    /// The process's: set when the stop's grace period is over, so that reads and writes
    /// still waiting give up.
    pub(crate) abandoned: Arc<AtomicBool>,
    /// The connection's: set when one of its reads or writes gave up, after which the
    /// peer is not waited for again (no lingering at the close).
    gave_up: Arc<AtomicBool>,
}

impl Patience {
    /// The patience of a new connection of a process whose stop sets `abandoned`.
    pub(crate) fn new(stall: Duration, abandoned: Arc<AtomicBool>) -> Self {
        Patience {
            stall,
            abandoned,
            gave_up: Arc::new(AtomicBool::new(false)),
        }
    }

    pub(crate) fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }

    /// Records that the connection gave up on its peer, and why.
    pub(crate) fn give_up(&self, why: GaveUp) -> io::Error {
        self.gave_up.store(true, Ordering::Release);
        why.error()
    }

    /// Whether the connection is over waiting: it gave up, or the stop abandoned it.
    pub(crate) fn is_over(&self) -> bool {
        self.gave_up.load(Ordering::Acquire) || self.is_abandoned()
    }
}

/// The error a socket timeout gives (`EAGAIN` on Linux, `ETIMEDOUT` elsewhere).
pub(crate) fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Why a connection gave up waiting, as the error its reads or writes return from then
/// on (`TimedOut`; the log shows the reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GaveUp {
    /// The request head did not arrive within its deadline.
    Head(Duration),
    /// Nothing arrived for the stall limit.
    Reading(Duration),
    /// The web server read nothing of the answer for the stall limit.
    Writing(Duration),
    /// The process stopped and its grace period is over.
    Stopped,
}

impl GaveUp {
    pub(crate) fn error(self) -> io::Error {
        let reason = match self {
            GaveUp::Head(limit) => format!(
                "the request's head did not arrive within {} (--head-timeout)",
                seconds(limit)
            ),
            GaveUp::Reading(limit) => {
                format!("nothing arrived for {} (--stall-timeout)", seconds(limit))
            }
            GaveUp::Writing(limit) => format!(
                "the web server read nothing of the answer for {} (--stall-timeout)",
                seconds(limit)
            ),
            GaveUp::Stopped => "the process is stopping and its grace period is over".to_owned(),
        };
        io::Error::new(io::ErrorKind::TimedOut, reason)
    }
}

/// `1.5 s`, `30 s` (limits come in milliseconds; integers only: formatting a float
/// would add its code to every script).
fn seconds(duration: Duration) -> String {
    let millis = duration.as_millis();
    let (whole, fraction) = (millis / 1000, millis % 1000);
    if fraction == 0 {
        return format!("{whole} s");
    }
    let fraction = format!("{fraction:03}");
    format!("{whole}.{} s", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn giving_up_says_why_and_names_the_option() {
        let error = GaveUp::Writing(Duration::from_millis(1500)).error();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(
            error.to_string(),
            "the web server read nothing of the answer for 1.5 s (--stall-timeout)"
        );
        assert!(
            GaveUp::Reading(Duration::from_millis(250))
                .error()
                .to_string()
                .contains("for 0.25 s")
        );
        assert!(
            GaveUp::Head(Duration::from_secs(10))
                .error()
                .to_string()
                .contains("within 10 s (--head-timeout)")
        );
        let patience = Patience::new(Duration::from_secs(1), Arc::default());
        let writing_side = patience.clone();
        assert!(!patience.is_over());
        let error = writing_side.give_up(GaveUp::Reading(Duration::from_secs(1)));
        assert!(
            error.to_string().contains("nothing arrived for 1 s"),
            "{error}"
        );
        assert!(patience.is_over() && !patience.is_abandoned());
        let other = Patience::new(Duration::from_secs(1), Arc::clone(&patience.abandoned));
        patience.abandoned.store(true, Ordering::Release);
        assert!(other.is_abandoned() && other.is_over());
    }
}
