//! Writing a connection that polls: sockets get a short write timeout ([`POLL`]), and a
//! write that moves no byte for the stall limit (or is still waiting when the stop's grace
//! period ends) gives up and hangs the connection up.
//!
//! A plain socket send timeout would not do: a `write` that sends a few bytes returns
//! them at the timeout, the next one waits a fresh timeout, and a buffered writer tries to
//! flush again as it is dropped, so a peer that reads a byte now and then holds the
//! worker for several timeouts. Hanging up makes every later write fail at once.
//!
//! [`POLL`]: super::patience::POLL

use std::io::{self, Write};
use std::time::Instant;

use super::patience::{GaveUp, Patience, is_timeout};

/// A connection that can be hung up on from its writing side.
pub(crate) trait HangUp {
    /// Shuts the connection down both ways: blocked and later reads and writes end.
    fn hang_up(&self);
}

/// A connection's writing side that waits through the polling timeouts.
#[derive(Debug)]
pub(crate) struct PollingWriter<W> {
    inner: W,
    patience: Patience,
    gave_up: Option<GaveUp>,
}

impl<W> PollingWriter<W> {
    pub(crate) fn new(inner: W, patience: Patience) -> Self {
        PollingWriter {
            inner,
            patience,
            gave_up: None,
        }
    }
}

impl<W: Write + HangUp> Write for PollingWriter<W> {
    /// One write, retried through the polls until a byte moves or a limit is reached.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(gave_up) = self.gave_up {
            return Err(gave_up.error());
        }
        let started = Instant::now();
        loop {
            match self.inner.write(buf) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if is_timeout(&error) => {
                    let gave_up = if self.patience.is_abandoned() {
                        GaveUp::Stopped
                    } else if started.elapsed() >= self.patience.stall {
                        GaveUp::Writing(self.patience.stall)
                    } else {
                        continue;
                    };
                    self.inner.hang_up();
                    self.gave_up = Some(gave_up);
                    return Err(self.patience.give_up(gave_up));
                }
                result => return result,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::io::BufWriter;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    /// A peer that takes `accepts` bytes, then none (each try a millisecond's timeout).
    struct Peer {
        accepts: usize,
        written: usize,
        tries: Cell<usize>,
        hung_up: Cell<bool>,
    }

    impl Peer {
        fn new(accepts: usize) -> Self {
            Peer {
                accepts,
                written: 0,
                tries: Cell::new(0),
                hung_up: Cell::new(false),
            }
        }
    }

    impl Write for Peer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.tries.set(self.tries.get() + 1);
            if self.hung_up.get() {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let room = self.accepts - self.written;
            if room == 0 {
                std::thread::sleep(Duration::from_millis(1));
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let wrote = room.min(buf.len());
            self.written += wrote;
            Ok(wrote)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl HangUp for Peer {
        fn hang_up(&self) {
            self.hung_up.set(true);
        }
    }

    #[test]
    fn a_peer_that_stops_reading_is_hung_up_on_once() {
        let writer = PollingWriter::new(
            Peer::new(100),
            Patience::new(Duration::from_millis(30), Default::default()),
        );
        let mut buffered = BufWriter::with_capacity(64, writer);
        let started = Instant::now();
        let error = buffered.write_all(&[b'x'; 1000]).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(error.to_string().contains("read nothing"), "{error}");
        let writer = buffered.get_ref();
        assert_eq!(writer.inner.written, 100);
        assert!(writer.inner.hung_up.get());
        // Later writes, the buffer's flush on drop among them, fail without waiting.
        let tries = writer.inner.tries.get();
        buffered.write_all(b"kept in the buffer").unwrap();
        let started = Instant::now();
        assert!(buffered.flush().is_err());
        assert!(started.elapsed() < Duration::from_millis(30));
        assert_eq!(buffered.get_ref().inner.tries.get(), tries);
    }

    #[test]
    fn progress_is_no_stall_and_a_stop_abandons_at_the_next_poll() {
        let mut writer = PollingWriter::new(
            Peer::new(10_000),
            Patience::new(Duration::from_millis(1), Default::default()),
        );
        for _ in 0..100 {
            writer.write_all(&[b'x'; 100]).unwrap();
        }
        let patience = Patience::new(Duration::from_secs(60), Default::default());
        patience.abandoned.store(true, Ordering::Release);
        let mut writer = PollingWriter::new(Peer::new(0), patience);
        let error = writer.write(b"x").unwrap_err();
        assert!(error.to_string().contains("grace period"), "{error}");
        assert!(writer.inner.hung_up.get());
    }
}
