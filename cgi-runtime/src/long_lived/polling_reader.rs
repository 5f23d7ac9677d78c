//! Reading a connection that polls: sockets get a short read timeout so that an idle
//! worker can look whether the process stops; within a request, a timeout only counts
//! once the web server has sent nothing for [`READ_TIMEOUT`](super::READ_TIMEOUT).

use std::io::{self, Read};
use std::time::Instant;

/// A connection's reading side that waits through the polling timeouts.
#[derive(Debug)]
pub(crate) struct PollingReader<T> {
    inner: T,
    /// Between requests: a timeout goes to the caller, which decides whether to wait on.
    pub(crate) idle: bool,
}

impl<T> PollingReader<T> {
    pub(crate) fn new(inner: T) -> Self {
        PollingReader { inner, idle: false }
    }
}

impl<T: Read> Read for PollingReader<T> {
    /// One read, retried through timeouts for up to `READ_TIMEOUT` (per read: a server
    /// that sends a byte a minute keeps the worker, but web servers are trusted peers).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let started = Instant::now();
        loop {
            match self.inner.read(buf) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error)
                    if is_timeout(&error)
                        && !self.idle
                        && started.elapsed() < super::READ_TIMEOUT => {}
                result => return result,
            }
        }
    }
}

/// The error a read timeout gives (`EAGAIN` on Linux, `ETIMEDOUT` elsewhere).
pub(crate) fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Times out twice, then gives a byte.
    struct Slow(u8);

    impl Read for Slow {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 < 2 {
                self.0 += 1;
                std::thread::sleep(Duration::from_millis(1));
                return Err(io::ErrorKind::WouldBlock.into());
            }
            buf[0] = b'x';
            Ok(1)
        }
    }

    #[test]
    fn within_a_request_timeouts_are_waited_through_and_when_idle_reported() {
        let mut busy = PollingReader::new(Slow(0));
        assert_eq!(busy.read(&mut [0; 4]).unwrap(), 1);
        let mut idle = PollingReader::new(Slow(0));
        idle.idle = true;
        assert!(is_timeout(&idle.read(&mut [0; 4]).unwrap_err()));
    }
}
