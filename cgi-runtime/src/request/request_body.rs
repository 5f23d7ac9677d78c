//! The request body: how long it is (RFC 3875 §4.1.2, §4.2), and a reader that never reads
//! past that length.

use std::io::{self, Read};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use http::StatusCode;

use crate::limits::Limits;
use crate::rejection::BodyRejection;
use crate::response::Response;

/// The request body, read lazily from standard input (or whatever the host supplied).
///
/// It yields exactly `CONTENT_LENGTH` bytes and never asks its source for more
/// (RFC 3875 §4.2: the script MUST NOT read past it; some hosts hand over the client socket,
/// where reading on would wait forever). If the source ends early, reading fails with
/// [`io::ErrorKind::UnexpectedEof`]. Whatever the handler leaves unread is drained when
/// the body is dropped, before the response is written, so that servers which write the
/// whole body before reading the answer do not stall.
///
/// Extractors such as [`Form`](crate::Form) read it for you; a handler that takes the whole
/// [`Request`](crate::Request) can read it itself:
///
/// ```
/// use std::io::Read;
///
/// fn echo(mut request: cgi::Request) -> String {
///     let mut text = String::new();
///     match request.body_mut().read_to_string(&mut text) {
///         Ok(_) => text,
///         Err(error) => format!("could not read the body: {error}"),
///     }
/// }
///
/// let response = cgi::test::TestRequest::post("/").body("ping").call(echo);
/// assert_eq!(response.text(), "ping");
/// ```
pub struct RequestBody {
    source: Option<Box<dyn Read + Send>>,
    length: u64,
    remaining: u64,
    /// How long draining the unread rest may take (`Limits::drain_timeout`).
    drain_timeout: Duration,
    leftover: Leftover,
}

impl RequestBody {
    pub(crate) fn new(
        source: Box<dyn Read + Send>,
        length: u64,
        drain_timeout: Duration,
        leftover: Leftover,
    ) -> Self {
        RequestBody {
            source: Some(source),
            length,
            remaining: length,
            drain_timeout,
            leftover,
        }
    }

    pub(crate) fn empty() -> Self {
        RequestBody {
            source: None,
            length: 0,
            remaining: 0,
            leftover: Leftover::Drain,
            drain_timeout: Duration::ZERO,
        }
    }

    /// The announced length (`CONTENT_LENGTH`), `0` when the request has no body.
    ///
    /// ```
    /// fn size(request: cgi::Request) -> String {
    ///     request.body().len().to_string()
    /// }
    /// let response = cgi::test::TestRequest::post("/").body("abc").call(size);
    /// assert_eq!(response.text(), "3");
    /// ```
    pub fn len(&self) -> u64 {
        self.length
    }

    /// Whether the request has no body.
    ///
    /// ```
    /// fn empty(request: cgi::Request) -> String {
    ///     request.body().is_empty().to_string()
    /// }
    /// assert_eq!(cgi::test::TestRequest::get("/").call(empty).text(), "true");
    /// ```
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Reads the whole body into memory.
    ///
    /// ```
    /// fn count(mut request: cgi::Request) -> String {
    ///     match request.body_mut().read_to_vec() {
    ///         Ok(bytes) => format!("{} bytes", bytes.len()),
    ///         Err(rejection) => rejection.to_string(),
    ///     }
    /// }
    /// let response = cgi::test::TestRequest::post("/").body(vec![0u8; 10]).call(count);
    /// assert_eq!(response.text(), "10 bytes");
    /// ```
    ///
    /// # Errors
    ///
    /// [`BodyRejection`] (`400 Bad Request`) when the body ends before `CONTENT_LENGTH`
    /// bytes or cannot be read.
    pub fn read_to_vec(&mut self) -> Result<Vec<u8>, BodyRejection> {
        let capacity = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        let mut bytes = Vec::with_capacity(capacity);
        match self.read_to_end(&mut bytes) {
            Ok(_) => Ok(bytes),
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Err(
                BodyRejection::ended_early(self.length, self.length - self.remaining),
            ),
            Err(error) => Err(BodyRejection::read_failed(&error)),
        }
    }

    /// Reads and discards what is left (within the limit), giving up after the drain
    /// timeout: a host may hand over a socket on which the announced bytes never come.
    fn drain(&mut self) {
        // Most requests have no body, or a fully read one.
        if self.remaining == 0 {
            return;
        }
        if let Some(source) = self.source.take() {
            self.leftover
                .dispose(source, self.remaining, self.drain_timeout);
        }
    }
}

impl Read for RequestBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let Some(source) = self.source.as_mut() else {
            return Ok(0);
        };
        let wanted = usize::try_from(self.remaining).map_or(buf.len(), |left| left.min(buf.len()));
        let read = loop {
            match source.read(&mut buf[..wanted]) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                result => break result?,
            }
        };
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the request body ended after {} of {} bytes",
                    self.length - self.remaining,
                    self.length
                ),
            ));
        }
        self.remaining -= read as u64;
        Ok(read)
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        self.drain();
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBody")
            .field("length", &self.length)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

impl BodyRejection {
    fn ended_early(expected: u64, received: u64) -> Self {
        BodyRejection::new(
            StatusCode::BAD_REQUEST,
            format!(
                "The request body ended early: CONTENT_LENGTH is {expected} bytes, but only {received} arrived."
            ),
        )
    }

    fn read_failed(error: &io::Error) -> Self {
        BodyRejection::new(
            StatusCode::BAD_REQUEST,
            "The request body could not be read.".to_owned(),
        )
        .with_detail(error)
    }
}

/// How the request frames its body, decided from the meta-variables before any byte is read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body: stdin is never touched.
    None,
    /// Exactly this many bytes.
    Length(u64),
}

/// Decides the framing, or the rejection a malformed or oversized body gets (whose
/// [`drain_and_answer`](FramingRejection::drain_and_answer) needs the reader).
pub(crate) fn framing(
    content_length: Option<&[u8]>,
    transfer_encoding: Option<&[u8]>,
    limits: &Limits,
) -> Result<Framing, FramingRejection> {
    let Some(raw) = content_length else {
        // RFC 3875 §4.2: the server must remove transfer-codings and set CONTENT_LENGTH.
        // Apache de-chunks without a length; busybox and Python pass raw chunks. Either way
        // the script cannot know where the body ends.
        return match transfer_encoding {
            Some(_) => Err(FramingRejection::LengthRequired),
            None => Ok(Framing::None),
        };
    };
    if !raw.iter().all(u8::is_ascii_digit) {
        return Err(FramingRejection::InvalidLength);
    }
    // All digits, so the only parse failure left is overflow: longer than any limit.
    let length = std::str::from_utf8(raw)
        .ok()
        .and_then(|digits| digits.parse::<u64>().ok());
    match length {
        Some(0) => Ok(Framing::None),
        Some(length) if length <= limits.get_max_body() => Ok(Framing::Length(length)),
        Some(length) => Err(FramingRejection::TooLarge {
            length: Some(length),
        }),
        None => Err(FramingRejection::TooLarge { length: None }),
    }
}

/// A body the request cannot have.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FramingRejection {
    InvalidLength,
    TooLarge { length: Option<u64> },
    LengthRequired,
}

impl FramingRejection {
    /// Drains what the client sent, within the limits (this may take up to the drain
    /// timeout), then builds the answer.
    pub(crate) fn drain_and_answer(
        self,
        input: Box<dyn Read + Send>,
        limits: &Limits,
        leftover: Leftover,
    ) -> Response {
        let drain = |cap: u64| leftover.dispose(input, cap, limits.get_drain_timeout());
        match self {
            FramingRejection::InvalidLength => {
                drain(limits.get_drain_cap());
                Response::rejection(
                    StatusCode::BAD_REQUEST,
                    "CONTENT_LENGTH is not a number of bytes.".to_owned(),
                )
            }
            FramingRejection::TooLarge { length } => {
                let cap = length.map_or(limits.get_drain_cap(), |length| {
                    length.min(limits.get_drain_cap())
                });
                drain(cap);
                let announced =
                    length.map_or_else(|| "more than 2^64".to_owned(), |length| length.to_string());
                Response::rejection(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "The request body is too large: {announced} bytes, and this script accepts at most {}.",
                        limits.get_max_body()
                    ),
                )
            }
            FramingRejection::LengthRequired => {
                drain(limits.get_drain_cap());
                Response::rejection(
                    StatusCode::LENGTH_REQUIRED,
                    "The request body has no CONTENT_LENGTH; send it with a Content-Length header."
                        .to_owned(),
                )
            }
        }
    }
}

/// Who reads what the handler left unread of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leftover {
    /// The script, before it answers: a CGI server writes the whole body into the pipe
    /// and fails (EPIPE, a 502 on nginx + fcgiwrap) when it is not read.
    Drain,
    /// The connection, after the answer: FastCGI skips the rest record by record and
    /// SCGI reads it while closing, so the request need not wait for it.
    Discard,
}

impl Leftover {
    /// Disposes of what is left of `input`: reads and discards up to `cap` bytes (within
    /// `timeout`) when that is the script's job, else leaves it to the connection.
    pub(crate) fn dispose(self, input: Box<dyn Read + Send>, cap: u64, timeout: Duration) {
        if self == Leftover::Drain {
            drain_with_deadline(input, cap, timeout);
        }
    }
}

/// Reads and discards up to `cap` bytes, giving up after `timeout`: a host may hand over a
/// socket that never ends. The reading happens on a helper thread so that a blocked read
/// cannot hold up the answer; the process exits after answering, which ends the thread.
///
/// The helper reports back through a condition variable, not a channel: a channel keeps a
/// per-thread context in a thread-local with a destructor, and the C functions that needs
/// (`__cxa_thread_atexit_impl`, `sched_yield`) would be bound at every CGI start-up.
pub(crate) fn drain_with_deadline(mut input: Box<dyn Read + Send>, cap: u64, timeout: Duration) {
    let state = Arc::new(Drained::default());
    let done = Done(Arc::clone(&state));
    let spawned = thread::Builder::new()
        .name("cgi-drain".into())
        .spawn(move || {
            // Dropped when the copy ends, or if it panics: either way the wait is over.
            let _done = done;
            let _ = io::copy(&mut (&mut input).take(cap), &mut io::sink());
        });
    if spawned.is_ok() {
        let finished = state
            .finished
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let _ = state
            .changed
            .wait_timeout_while(finished, timeout, |finished| !*finished);
    }
}

#[derive(Default)]
struct Drained {
    finished: Mutex<bool>,
    changed: Condvar,
}

/// Marks the drain finished when dropped.
struct Done(Arc<Drained>);

impl Drop for Done {
    fn drop(&mut self) {
        *self
            .0
            .finished
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.0.changed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default().max_body(100)
    }

    #[test]
    fn unset_length_means_no_body() {
        assert_eq!(framing(None, None, &limits()), Ok(Framing::None));
        assert_eq!(framing(Some(b"0"), None, &limits()), Ok(Framing::None));
        assert_eq!(framing(Some(b"000"), None, &limits()), Ok(Framing::None));
    }

    #[test]
    fn digits_within_the_limit_frame_the_body() {
        assert_eq!(framing(Some(b"5"), None, &limits()), Ok(Framing::Length(5)));
        assert_eq!(
            framing(Some(b"0100"), None, &limits()),
            Ok(Framing::Length(100))
        );
        // A length wins over a transfer-encoding the server already removed (nginx).
        assert_eq!(
            framing(Some(b"16"), Some(b"chunked"), &limits()),
            Ok(Framing::Length(16))
        );
    }

    #[test]
    fn anything_but_digits_is_rejected() {
        // The one table of malformed lengths: the other test layers send one of them
        // through the test kit and the process.
        for bad in [
            &b"abc"[..],
            b"-1",
            b"-0",
            b"+5",
            b" 5",
            b"5 ",
            b"\t5",
            b"0x10",
            b"1e3",
            b"5e0",
            b"5.0",
            b"5,0",
            b"1_6",
            "\u{FF15}".as_bytes(),
            b"5\0",
            b"5\xff",
        ] {
            assert_eq!(
                framing(Some(bad), None, &limits()),
                Err(FramingRejection::InvalidLength),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn over_the_limit_or_overflowing_is_too_large() {
        assert_eq!(
            framing(Some(b"101"), None, &limits()),
            Err(FramingRejection::TooLarge { length: Some(101) })
        );
        for overflowing in [
            &b"99999999999999999999999"[..],
            b"18446744073709551616",
            "9".repeat(100).as_bytes(),
        ] {
            assert_eq!(
                framing(Some(overflowing), None, &limits()),
                Err(FramingRejection::TooLarge { length: None }),
                "{overflowing:?}"
            );
        }
        assert_eq!(
            framing(Some(b"18446744073709551615"), None, &limits()),
            Err(FramingRejection::TooLarge {
                length: Some(u64::MAX)
            })
        );
        // Leading zeros are digits like any other.
        assert_eq!(
            framing(Some(b"00000000000000000000000005"), None, &limits()),
            Ok(Framing::Length(5))
        );
    }

    #[test]
    fn a_transfer_encoding_without_length_requires_a_length() {
        assert_eq!(
            framing(None, Some(b"chunked"), &limits()),
            Err(FramingRejection::LengthRequired)
        );
    }

    /// A source that fails the test if it is read past the announced length.
    struct Exact {
        data: Vec<u8>,
        position: usize,
        announced: usize,
    }

    impl Read for Exact {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            assert!(self.position < self.announced, "read past CONTENT_LENGTH");
            let n = buf.len().min(self.data.len() - self.position);
            buf[..n].copy_from_slice(&self.data[self.position..self.position + n]);
            self.position += n;
            Ok(n)
        }
    }

    #[test]
    fn never_reads_past_the_length() {
        let source = Exact {
            data: b"hello, and then some more".to_vec(),
            position: 0,
            announced: 5,
        };
        let mut body =
            RequestBody::new(Box::new(source), 5, Duration::from_secs(5), Leftover::Drain);
        assert_eq!(body.read_to_vec().unwrap(), b"hello");
        let mut more = [0u8; 4];
        assert_eq!(body.read(&mut more).unwrap(), 0);
    }

    #[test]
    fn a_short_body_is_an_error_not_a_hang() {
        let mut body = RequestBody::new(
            Box::new(&b"abc"[..]),
            10,
            Duration::from_secs(5),
            Leftover::Drain,
        );
        let rejection = body.read_to_vec().unwrap_err();
        assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
        assert!(
            rejection.to_string().contains("only 3 arrived"),
            "{rejection}"
        );
    }

    #[test]
    fn a_rejection_passed_on_keeps_its_detail_for_the_log() {
        let unreadable = BodyRejection::read_failed(&io::Error::other("disk on fire"));
        let form = crate::FormRejection::from_parts(unreadable.into_parts());
        assert_eq!(form.status(), StatusCode::BAD_REQUEST);
        let response = crate::IntoResponse::into_response(form);
        let mut log = Vec::new();
        crate::response::write::write_cgi(response, false, &mut Vec::new(), &mut |line| {
            log.push(line.to_owned());
        })
        .unwrap();
        assert!(
            log.iter().any(|line| line.contains("disk on fire")),
            "{log:?}"
        );
    }

    #[test]
    fn dropping_drains_the_rest() {
        use std::sync::{Arc, Mutex};
        struct Counting(Arc<Mutex<usize>>);
        impl Read for Counting {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(3);
                *self.0.lock().unwrap() += n;
                Ok(n)
            }
        }
        let consumed = Arc::new(Mutex::new(0));
        drop(RequestBody::new(
            Box::new(Counting(consumed.clone())),
            50,
            Duration::from_secs(5),
            Leftover::Drain,
        ));
        assert_eq!(*consumed.lock().unwrap(), 50);
    }

    #[test]
    fn a_body_the_connection_discards_is_not_drained() {
        struct Untouchable;
        impl Read for Untouchable {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                panic!("a FastCGI or SCGI body must be left to the connection");
            }
        }
        drop(RequestBody::new(
            Box::new(Untouchable),
            50,
            Duration::from_secs(5),
            Leftover::Discard,
        ));
        let rejection = FramingRejection::TooLarge {
            length: Some(1 << 30),
        };
        let response =
            rejection.drain_and_answer(Box::new(Untouchable), &limits(), Leftover::Discard);
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn dropping_a_body_whose_bytes_never_come_gives_up() {
        struct Silent;
        impl Read for Silent {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                thread::sleep(Duration::from_secs(60));
                Ok(0)
            }
        }
        let started = std::time::Instant::now();
        drop(RequestBody::new(
            Box::new(Silent),
            10,
            Duration::from_millis(50),
            Leftover::Drain,
        ));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn draining_gives_up_on_a_source_that_never_ends() {
        struct Stalled;
        impl Read for Stalled {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                thread::sleep(Duration::from_secs(60));
                Ok(0)
            }
        }
        let started = std::time::Instant::now();
        drain_with_deadline(Box::new(Stalled), 1000, Duration::from_millis(50));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
