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

/// What every read and write of one connection checks between polls.
#[derive(Debug, Clone)]
pub(crate) struct Patience {
    /// The longest a read or a write may go without moving a byte.
    pub(crate) stall: Duration,
    /// Set when the stop's grace period is over: reads and writes still waiting give up.
    pub(crate) abandoned: Arc<AtomicBool>,
}

impl Patience {
    #[cfg(test)]
    pub(crate) fn new(stall: Duration) -> Self {
        Patience {
            stall,
            abandoned: Arc::new(AtomicBool::new(false)),
        }
    }

    pub(crate) fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
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

/// `1.5 s`, `30 s`.
fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
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
            GaveUp::Head(Duration::from_secs(10))
                .error()
                .to_string()
                .contains("within 10 s (--head-timeout)")
        );
        let patience = Patience::new(Duration::from_secs(1));
        assert!(!patience.is_abandoned());
        patience.abandoned.store(true, Ordering::Release);
        assert!(patience.clone().is_abandoned());
    }
}
