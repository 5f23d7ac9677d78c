//! The FastCGI responder (FastCGI 1.0): one connection's conversation with the web server.
//!
//! Requests on a connection are answered one after the other (`FCGI_MPXS_CONNS` is 0):
//! `FCGI_PARAMS` become the meta-variables, `FCGI_STDIN` streams into the same bounded
//! body as CGI's stdin, and the core's CGI response goes out in `FCGI_STDOUT` records,
//! followed by `FCGI_END_REQUEST`.

pub(crate) mod record;

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStringExt;
use std::sync::{Arc, Mutex, MutexGuard};

use http::StatusCode;

use super::{Context, Transport};
use crate::body::Leftover;
use crate::response::{Response, write::write_cgi};
use crate::serve::{Exchange, serve};
use record::{BeginRequest, HEADER_LEN, Header, MAX_CONTENT, ProtocolStatus, kind};

/// The most meta-variable bytes one request may bring (nginx sends a few KiB; Apache
/// at most about 800 KiB of headers).
const MAX_PARAMS: usize = 1024 * 1024;

/// How the conversation ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The web server closed the connection, or the process is stopping between requests.
    Closed,
    /// A request without `FCGI_KEEP_CONN` was answered: the application closes.
    Answered,
}

/// Answers the requests that arrive on one connection until it ends. Fails when the
/// connection breaks or the web server breaks the protocol (logged by the caller).
pub(crate) fn converse<T: Transport>(
    input: T,
    output: &mut dyn Write,
    context: &Context<'_>,
) -> io::Result<Ending> {
    let incoming = Arc::new(Mutex::new(Incoming {
        records: BufReader::with_capacity(16 * 1024, Patient::new(input)),
        replies: Vec::new(),
        stdin: StdinState::default(),
        max_requests: context.workers.to_string(),
    }));
    loop {
        let header = {
            let mut incoming = lock(&incoming);
            incoming.finish_stdin_record()?;
            let Some(header) = incoming.next_header_when_idle(context)? else {
                return Ok(Ending::Closed);
            };
            if header.kind != kind::BEGIN_REQUEST || header.request_id == 0 {
                incoming.answer_other(header)?;
                let replies = std::mem::take(&mut incoming.replies);
                drop(incoming);
                output.write_all(&replies)?;
                output.flush()?;
                continue;
            }
            header
        };
        let begin =
            BeginRequest::parse(&lock(&incoming).content(header)?).map_err(io::Error::other)?;
        let mut out = Vec::new();
        if begin.role != record::ROLE_RESPONDER {
            record::push_end_request(&mut out, header.request_id, 0, ProtocolStatus::UnknownRole);
        } else {
            respond(&incoming, header.request_id, output, context)?;
        }
        out.append(&mut lock(&incoming).replies);
        output.write_all(&out)?;
        output.flush()?;
        if !begin.keep_conn {
            return Ok(Ending::Answered);
        }
        if context.stopping() {
            return Ok(Ending::Closed);
        }
    }
}

/// One request, from its `FCGI_PARAMS` to its `FCGI_END_REQUEST`.
fn respond<T: Transport>(
    incoming: &Arc<Mutex<Incoming<T>>>,
    id: u16,
    output: &mut dyn Write,
    context: &Context<'_>,
) -> io::Result<()> {
    let params = match lock(incoming).read_params(id)? {
        Params::Complete(params) => params,
        Params::Aborted => {
            let mut end = Vec::new();
            record::push_end_request(&mut end, id, 0, ProtocolStatus::RequestComplete);
            return output.write_all(&end);
        }
        Params::TooLarge => {
            let mut stdout = StdoutRecords::new(id, incoming, output);
            let response = Response::rejection(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!("The request's headers are larger than {MAX_PARAMS} bytes."),
            );
            write_cgi(response, false, &mut stdout, &mut |line| {
                eprintln!("{}: {line}", context.program);
            })?;
            return stdout.end();
        }
    };
    let vars = match record::parse_name_values(&params) {
        Ok(pairs) => pairs
            .into_iter()
            .map(|(name, value)| {
                (
                    OsString::from_vec(name.to_vec()),
                    OsString::from_vec(value.to_vec()),
                )
            })
            .collect(),
        Err(reason) => return Err(io::Error::other(format!("FCGI_PARAMS: {reason}"))),
    };
    lock(incoming).stdin = StdinState {
        request_id: id,
        ..StdinState::default()
    };
    let body = StdinStream {
        incoming: Arc::clone(incoming),
    };
    let mut stdout = StdoutRecords::new(id, incoming, output);
    let mut log = io::stderr();
    let exchange = Exchange {
        program: context.program,
        input: Box::new(body),
        output: &mut stdout,
        log: &mut log,
        panic_hook_logs: context.panic_hook_logs,
        leftover: Leftover::Discard,
    };
    serve(vars, exchange, context.limits, context.handler)?;
    stdout.end()
}

/// What `FCGI_PARAMS` brought.
enum Params {
    Complete(Vec<u8>),
    Aborted,
    TooLarge,
}

/// The reading side of the connection, shared by the conversation and the request body
/// (which the handler may read, or drop unread).
struct Incoming<T> {
    records: BufReader<Patient<T>>,
    /// Answers to management records and refused requests that arrived meanwhile.
    replies: Vec<u8>,
    stdin: StdinState,
    /// `FCGI_MAX_CONNS` and `FCGI_MAX_REQS`: one request per worker.
    max_requests: String,
}

/// Where the current request's `FCGI_STDIN` stream is.
#[derive(Debug, Default)]
struct StdinState {
    request_id: u16,
    /// Content bytes of the current `FCGI_STDIN` record not read yet, then its padding.
    left_in_record: usize,
    padding: usize,
    ended: bool,
    aborted: bool,
}

impl<T: Transport> Incoming<T> {
    /// Waits for the next record, checking between polls whether the process is stopping.
    /// `None` when the connection closed or the process stops.
    fn next_header_when_idle(&mut self, context: &Context<'_>) -> io::Result<Option<Header>> {
        self.records.get_mut().idle = true;
        let waited = loop {
            match self.records.fill_buf() {
                Ok([]) => break None,
                Ok(_) => break Some(()),
                Err(error) if is_timeout(&error) && !context.stopping() => {}
                Err(error) if is_timeout(&error) => break None,
                Err(error) => {
                    self.records.get_mut().idle = false;
                    return Err(error);
                }
            }
        };
        self.records.get_mut().idle = false;
        match waited {
            Some(()) => self.next_header().map(Some),
            None => Ok(None),
        }
    }

    fn next_header(&mut self) -> io::Result<Header> {
        let mut bytes = [0u8; HEADER_LEN];
        self.records.read_exact(&mut bytes)?;
        Header::parse(bytes).map_err(io::Error::other)
    }

    /// The record's content, its padding skipped.
    fn content(&mut self, header: Header) -> io::Result<Vec<u8>> {
        let mut content = vec![0u8; usize::from(header.content_length)];
        self.records.read_exact(&mut content)?;
        self.skip(usize::from(header.padding_length))?;
        Ok(content)
    }

    fn skip(&mut self, mut count: usize) -> io::Result<()> {
        while count > 0 {
            let available = match self.records.fill_buf()? {
                [] => return Err(io::ErrorKind::UnexpectedEof.into()),
                available => available.len(),
            };
            let skipped = available.min(count);
            self.records.consume(skipped);
            count -= skipped;
        }
        Ok(())
    }

    /// Handles a record outside a request: management records get their answer,
    /// anything for a request no longer active (the rest of an answered request's stdin,
    /// a late abort) is skipped.
    fn answer_other(&mut self, header: Header) -> io::Result<()> {
        let content = self.content(header)?;
        if header.request_id == 0 {
            self.answer_management(header.kind, &content);
        }
        Ok(())
    }

    fn answer_management(&mut self, record_kind: u8, content: &[u8]) {
        if record_kind != kind::GET_VALUES {
            let mut body = [0u8; 8];
            body[0] = record_kind;
            record::push_record(&mut self.replies, kind::UNKNOWN_TYPE, 0, &body);
            return;
        }
        let mut values = Vec::new();
        // Only the variables asked for, and only those this application knows (§4.1).
        for (name, _) in record::parse_name_values(content).unwrap_or_default() {
            let value: &[u8] = match name {
                b"FCGI_MAX_CONNS" | b"FCGI_MAX_REQS" => self.max_requests.as_bytes(),
                b"FCGI_MPXS_CONNS" => b"0",
                _ => continue,
            };
            record::push_name_value(&mut values, name, value);
        }
        values.truncate(MAX_CONTENT);
        record::push_record(&mut self.replies, kind::GET_VALUES_RESULT, 0, &values);
    }

    /// Collects `FCGI_PARAMS` for `id` up to its empty record.
    fn read_params(&mut self, id: u16) -> io::Result<Params> {
        let mut params = Vec::new();
        let mut too_large = false;
        loop {
            let header = self.next_header()?;
            match (header.kind, header.request_id) {
                (kind::PARAMS, request) if request == id => {
                    if header.content_length == 0 {
                        return Ok(if too_large {
                            Params::TooLarge
                        } else {
                            Params::Complete(params)
                        });
                    }
                    let content = self.content(header)?;
                    if params.len() + content.len() > MAX_PARAMS {
                        too_large = true;
                        params = Vec::new();
                    } else if !too_large {
                        params.extend_from_slice(&content);
                    }
                }
                (kind::ABORT_REQUEST, request) if request == id => {
                    self.content(header)?;
                    return Ok(Params::Aborted);
                }
                _ => self.interleaved(header, id)?,
            }
        }
    }

    /// A record that is not part of the active request's streams: management records are
    /// answered, a second request is refused (no multiplexing), others are skipped.
    fn interleaved(&mut self, header: Header, active: u16) -> io::Result<()> {
        let content = self.content(header)?;
        if header.request_id == 0 {
            self.answer_management(header.kind, &content);
        } else if header.kind == kind::BEGIN_REQUEST && header.request_id != active {
            record::push_end_request(
                &mut self.replies,
                header.request_id,
                0,
                ProtocolStatus::CantMultiplex,
            );
        }
        Ok(())
    }

    /// Skips whatever is left of an `FCGI_STDIN` record the handler stopped reading in.
    fn finish_stdin_record(&mut self) -> io::Result<()> {
        let left = self.stdin.left_in_record + self.stdin.padding;
        self.stdin.left_in_record = 0;
        self.stdin.padding = 0;
        self.skip(left)
    }

    /// Reads the active request's `FCGI_STDIN` content into `buf`.
    fn read_stdin(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.stdin.aborted {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the web server aborted the request",
                ));
            }
            if self.stdin.ended || buf.is_empty() {
                return Ok(0);
            }
            if self.stdin.left_in_record > 0 {
                let wanted = buf.len().min(self.stdin.left_in_record);
                let read = self.records.read(&mut buf[..wanted])?;
                if read == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                self.stdin.left_in_record -= read;
                return Ok(read);
            }
            let padding = std::mem::take(&mut self.stdin.padding);
            self.skip(padding)?;
            let header = self.next_header()?;
            let id = self.stdin.request_id;
            match (header.kind, header.request_id) {
                (kind::STDIN, request) if request == id => {
                    if header.content_length == 0 {
                        self.skip(usize::from(header.padding_length))?;
                        self.stdin.ended = true;
                    } else {
                        self.stdin.left_in_record = usize::from(header.content_length);
                        self.stdin.padding = usize::from(header.padding_length);
                    }
                }
                (kind::ABORT_REQUEST, request) if request == id => {
                    self.content(header)?;
                    self.stdin.aborted = true;
                }
                _ => self.interleaved(header, id)?,
            }
        }
    }
}

/// The request body: the active request's `FCGI_STDIN` stream.
struct StdinStream<T> {
    incoming: Arc<Mutex<Incoming<T>>>,
}

impl<T: Transport> Read for StdinStream<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        lock(&self.incoming).read_stdin(buf)
    }
}

/// The response: CGI bytes in, `FCGI_STDOUT` records out. Nothing is sent for a request
/// the web server aborted.
struct StdoutRecords<'a, T> {
    id: u16,
    incoming: &'a Arc<Mutex<Incoming<T>>>,
    output: &'a mut dyn Write,
    header: Vec<u8>,
}

impl<'a, T: Transport> StdoutRecords<'a, T> {
    fn new(id: u16, incoming: &'a Arc<Mutex<Incoming<T>>>, output: &'a mut dyn Write) -> Self {
        StdoutRecords {
            id,
            incoming,
            output,
            header: Vec::with_capacity(HEADER_LEN),
        }
    }

    /// Ends the stream and the request.
    fn end(self) -> io::Result<()> {
        let mut end = Vec::with_capacity(2 * HEADER_LEN + 8);
        if !lock(self.incoming).stdin.aborted {
            record::push_record(&mut end, kind::STDOUT, self.id, &[]);
        }
        record::push_end_request(&mut end, self.id, 0, ProtocolStatus::RequestComplete);
        self.output.write_all(&end)
    }
}

impl<T: Transport> Write for StdoutRecords<'_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if lock(self.incoming).stdin.aborted {
            return Ok(buf.len());
        }
        let content = &buf[..buf.len().min(MAX_CONTENT)];
        self.header.clear();
        record::push_record(&mut self.header, kind::STDOUT, self.id, &[]);
        let length = u16::try_from(content.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes();
        self.header[4..6].copy_from_slice(&length);
        self.output.write_all(&self.header)?;
        self.output.write_all(content)?;
        Ok(content.len())
    }

    /// The caller flushes the connection after `FCGI_END_REQUEST`: one write for most
    /// answers.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn lock<T>(incoming: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding it can only come from a handler reading its body; the state
    // is still consistent record-wise, and the request is over anyway.
    incoming
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The connection's reading side. Sockets poll with a short read timeout so that an idle
/// connection notices a stop; within a request a timeout is only an error once the web
/// server has sent nothing for [`READ_TIMEOUT`](super::READ_TIMEOUT).
struct Patient<T> {
    inner: T,
    /// Between requests: a timeout goes to the caller, which checks for a stop.
    idle: bool,
}

impl<T> Patient<T> {
    fn new(inner: T) -> Self {
        Patient { inner, idle: false }
    }
}

impl<T: Read> Read for Patient<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let started = std::time::Instant::now();
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
