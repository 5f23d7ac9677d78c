//! Reading a connection that polls: sockets get a short read timeout ([`POLL`]) so that
//! an idle worker can look whether the process stops. Within a request, polls are waited
//! through up to the limits: the head's deadline, the stall limit, the end of the stop's
//! grace period.
//!
//! [`POLL`]: super::patience::POLL

use std::io::{self, Read};
use std::time::{Duration, Instant};

use super::patience::{GaveUp, Patience, is_timeout};

/// A connection's reading side that waits through the polling timeouts.
#[derive(Debug)]
pub(crate) struct PollingReader<T> {
    inner: T,
    patience: Patience,
    /// Between requests: a poll that saw nothing goes to the caller (see [`is_idle_poll`]),
    /// which decides whether to wait on.
    pub(crate) idle: bool,
    /// While a request's head arrives: when it must be complete.
    pub(crate) deadline: Option<Deadline>,
    /// Once it gave up, every later read fails at once: a stalled peer is not waited for
    /// twice (by the handler's body, then by the connection skipping the rest).
    gave_up: Option<GaveUp>,
}

/// When a request's head must have arrived, and the limit that set it (for the log).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Instant,
    limit: Duration,
}

impl Deadline {
    pub(crate) fn after(limit: Duration) -> Self {
        Deadline {
            at: Instant::now() + limit,
            limit,
        }
    }

    fn passed(self) -> bool {
        Instant::now() >= self.at
    }
}

impl<T> PollingReader<T> {
    pub(crate) fn new(inner: T, patience: Patience) -> Self {
        PollingReader {
            inner,
            patience,
            idle: false,
            deadline: None,
            gave_up: None,
        }
    }

    /// The limit reached by a read that started at `started` and has seen nothing since.
    fn limit_reached(&self, started: Instant) -> Option<GaveUp> {
        if let Some(deadline) = self.deadline.filter(|deadline| deadline.passed()) {
            return Some(GaveUp::Head(deadline.limit));
        }
        if self.patience.is_abandoned() {
            return Some(GaveUp::Stopped);
        }
        (!self.idle && started.elapsed() >= self.patience.stall)
            .then_some(GaveUp::Reading(self.patience.stall))
    }
}

impl<T: Read> Read for PollingReader<T> {
    /// One read, retried through the polls until a byte comes or a limit is reached
    /// (a `TimedOut` error, and from then on every read fails so).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Checked before reading too: a head that trickles in faster than the polls
        // never times a read out.
        if let Some(gave_up) = self.gave_up {
            return Err(gave_up.error());
        }
        if let Some(deadline) = self.deadline.filter(|deadline| deadline.passed()) {
            self.gave_up = Some(GaveUp::Head(deadline.limit));
            return Err(self.patience.give_up(GaveUp::Head(deadline.limit)));
        }
        let started = Instant::now();
        loop {
            match self.inner.read(buf) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if is_timeout(&error) => {
                    if let Some(gave_up) = self.limit_reached(started) {
                        self.gave_up = Some(gave_up);
                        return Err(self.patience.give_up(gave_up));
                    }
                    if self.idle {
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                }
                result => return result,
            }
        }
    }
}

/// Whether an idle reader's error is only a poll that saw nothing.
pub(crate) fn is_idle_poll(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::WouldBlock
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    /// Times out `timeouts` times, a millisecond each, then gives a byte; forever if
    /// `None`.
    struct Slow(Option<u32>);

    impl Read for Slow {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match &mut self.0 {
                Some(0) => {
                    buf[0] = b'x';
                    Ok(1)
                }
                left => {
                    if let Some(left) = left {
                        *left -= 1;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                    Err(io::ErrorKind::WouldBlock.into())
                }
            }
        }
    }

    fn patience(stall_ms: u64) -> Patience {
        Patience::new(Duration::from_millis(stall_ms), Default::default())
    }

    #[test]
    fn within_a_request_timeouts_are_waited_through_and_when_idle_reported() {
        let mut busy = PollingReader::new(Slow(Some(2)), patience(10_000));
        assert_eq!(busy.read(&mut [0; 4]).unwrap(), 1);
        let mut idle = PollingReader::new(Slow(Some(2)), patience(10_000));
        idle.idle = true;
        assert!(is_idle_poll(&idle.read(&mut [0; 4]).unwrap_err()));
        // Idle connections have no stall limit: the caller decides.
        let mut idle = PollingReader::new(Slow(None), patience(0));
        idle.idle = true;
        assert!(is_idle_poll(&idle.read(&mut [0; 4]).unwrap_err()));
    }

    #[test]
    fn a_stalled_read_gives_up_and_stays_given_up() {
        let patience = patience(30);
        let mut reader = PollingReader::new(Slow(None), patience.clone());
        let started = Instant::now();
        assert!(!patience.is_over());
        let error = reader.read(&mut [0; 4]).unwrap_err();
        assert!(patience.is_over());
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(error.to_string().contains("--stall-timeout"), "{error}");
        // The next read does not wait again.
        reader.inner = Slow(Some(0));
        assert!(reader.read(&mut [0; 4]).is_err());
    }

    #[test]
    fn the_head_deadline_counts_across_reads_and_while_idle() {
        // Each read makes progress, but the head as a whole is late: with polls (a byte
        // after three timeouts), and without (a byte at once, a millisecond apart).
        for timeouts in [3, 0] {
            let mut reader = PollingReader::new(Slow(Some(timeouts)), patience(10_000));
            reader.deadline = Some(Deadline::after(Duration::from_millis(20)));
            let (mut got, started) = (0, Instant::now());
            let error = loop {
                assert!(
                    started.elapsed() < Duration::from_secs(2),
                    "{timeouts} timeouts a read: no deadline after 2 s"
                );
                std::thread::sleep(Duration::from_millis(1));
                reader.inner = Slow(Some(timeouts));
                match reader.read(&mut [0; 1]) {
                    Ok(read) => got += read,
                    Err(error) => break error,
                }
            };
            assert!(got > 0);
            assert!(error.to_string().contains("--head-timeout"), "{error}");
        }
        // An SCGI connection that sends nothing is idle, and still bound by its deadline.
        let mut idle = PollingReader::new(Slow(None), patience(10_000));
        idle.idle = true;
        idle.deadline = Some(Deadline::after(Duration::ZERO));
        let error = idle.read(&mut [0; 1]).unwrap_err();
        assert!(!is_idle_poll(&error) && error.to_string().contains("head"));
    }

    #[test]
    fn an_abandoned_read_gives_up_at_the_next_poll() {
        let patience = patience(10_000);
        patience.abandoned.store(true, Ordering::Release);
        let mut reader = PollingReader::new(Slow(None), patience);
        let error = reader.read(&mut [0; 1]).unwrap_err();
        assert!(error.to_string().contains("grace period"), "{error}");
    }
}
