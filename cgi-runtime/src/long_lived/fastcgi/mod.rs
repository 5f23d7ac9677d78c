//! The FastCGI responder (FastCGI 1.0): one connection's conversation with the web server.
//!
//! Requests on a connection are answered one after the other (`FCGI_MPXS_CONNS` is 0):
//! `FCGI_PARAMS` become the meta-variables, `FCGI_STDIN` streams into the same bounded
//! body as CGI's stdin, and the core's CGI response goes out in `FCGI_STDOUT` records,
//! followed by `FCGI_END_REQUEST`.
//!
//! What one connection holds is bounded whatever the web server sends: the meta-variables
//! by `--max-params` and `--max-param-count`, and the answers to management records and
//! refused requests are written as they come (between the handler's own records), never
//! kept for later.

pub(crate) mod record;

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStringExt;
use std::sync::{Arc, Mutex, MutexGuard};

use http::StatusCode;

use super::polling_reader::{Deadline, PollingReader};
use super::{Context, Transport};
use crate::command_line::Bounds;
use crate::exchange::write_response;
use crate::response::Response;
use record::{
    BeginRequest, HEADER_LEN, Header, MAX_CONTENT, NameValues, ProtocolStatus, ROLE_RESPONDER, kind,
};

/// How the conversation ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The web server closed the connection, or the process is stopping between requests.
    Closed,
    /// A request without `FCGI_KEEP_CONN` was answered: the application closes.
    Answered,
}

/// Answers the requests that arrive on one connection until it ends. Fails when the
/// connection breaks, a limit of time is reached, or the web server breaks the protocol
/// (logged by the caller).
pub(crate) fn converse<T: Transport>(
    input: PollingReader<T>,
    output: Box<dyn Write + Send>,
    context: &Context<'_>,
) -> io::Result<Ending> {
    let connection = Arc::new(Mutex::new(Connection {
        records: BufReader::with_capacity(16 * 1024, input),
        output,
        stdin: StdinState::default(),
        max_requests: context.workers,
    }));
    loop {
        let (id, begin) = {
            let mut connection = lock(&connection);
            connection.records.get_mut().deadline = None;
            connection.finish_stdin_record()?;
            if !super::wait_for_request(&mut connection.records, context)? {
                return Ok(Ending::Closed);
            }
            // From its first byte, a record between requests (a request's head most
            // often) has its deadline.
            connection.records.get_mut().deadline =
                Some(Deadline::after(context.bounds.head_timeout));
            let header = connection.next_header()?;
            if header.kind != kind::BEGIN_REQUEST || header.request_id == 0 {
                connection.answer_other(header)?;
                continue;
            }
            let begin =
                BeginRequest::parse(&connection.content(header)?).map_err(io::Error::other)?;
            if begin.role != ROLE_RESPONDER {
                connection.end_request(header.request_id, ProtocolStatus::UnknownRole)?;
            }
            (header.request_id, begin)
        };
        if begin.role == ROLE_RESPONDER {
            respond(&connection, id, context)?;
        }
        if !begin.keep_conn {
            return Ok(Ending::Answered);
        }
        if context.stopping() {
            return Ok(Ending::Closed);
        }
    }
}

/// One connection over bytes, for the unit tests and the fuzz target: what the web server
/// sent in, what the application answered out, and how the conversation ended.
#[cfg(any(test, fuzzing))]
pub(crate) fn converse_bytes(
    input: &[u8],
    workers: usize,
    limits: &crate::limits::Limits,
    handler: &(dyn Fn(crate::request::Request) -> Response + Sync),
) -> (Vec<u8>, io::Result<Ending>) {
    converse_bytes_within(input, workers, &Bounds::default(), limits, handler)
}

/// [`converse_bytes`] within other bounds.
#[cfg(any(test, fuzzing))]
fn converse_bytes_within(
    input: &[u8],
    workers: usize,
    bounds: &Bounds,
    limits: &crate::limits::Limits,
    handler: &(dyn Fn(crate::request::Request) -> Response + Sync),
) -> (Vec<u8>, io::Result<Ending>) {
    let stop = std::sync::atomic::AtomicBool::new(false);
    let context = Context {
        program: "test",
        limits,
        handler,
        workers,
        bounds,
        panic_hook_logs: false,
        stop: &super::Stop::new("test", &stop, None),
        free_workers: &std::sync::atomic::AtomicUsize::new(1),
        supervised: None,
    };
    let output = SharedBytes::default();
    let input = PollingReader::new(io::Cursor::new(input.to_vec()), context.patience());
    let ending = converse(input, Box::new(output.clone()), &context);
    let answered = std::mem::take(&mut *lock(&output.0));
    (answered, ending)
}

/// Bytes written from wherever the conversation writes them, read once it is over.
#[cfg(any(test, fuzzing))]
#[derive(Clone, Default)]
struct SharedBytes(Arc<Mutex<Vec<u8>>>);

#[cfg(any(test, fuzzing))]
impl Write for SharedBytes {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One request, from its `FCGI_PARAMS` to its `FCGI_END_REQUEST`.
fn respond<T: Transport>(
    connection: &Arc<Mutex<Connection<T>>>,
    id: u16,
    context: &Context<'_>,
) -> io::Result<()> {
    let (generation, params) = {
        let mut connection = lock(connection);
        let generation = connection.stdin.generation.wrapping_add(1);
        connection.stdin = StdinState {
            request_id: id,
            generation,
            ..StdinState::default()
        };
        let params = connection.read_params(id, context.bounds)?;
        // The head is in: from now on only the stall limit bounds the reads.
        connection.records.get_mut().deadline = None;
        (generation, params)
    };
    let vars = match params {
        Params::Complete(vars) => vars,
        Params::Aborted => {
            return lock(connection).end_request(id, ProtocolStatus::RequestComplete);
        }
        Params::TooLarge(reason) => {
            let mut stdout = StdoutRecords { id, connection };
            let response = Response::rejection(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, reason);
            write_response(
                &context.program,
                response,
                false,
                &mut stdout,
                &mut io::stderr(),
            )?;
            return stdout.end();
        }
        Params::Malformed(reason) => {
            return Err(io::Error::other(format!("FCGI_PARAMS: {reason}")));
        }
    };
    let body = StdinStream {
        connection: Arc::clone(connection),
        generation,
    };
    let mut stdout = StdoutRecords { id, connection };
    match context.serve(vars, Box::new(body), &mut stdout) {
        // The rest of the answer has nowhere to go; the request still ends properly.
        Err(_) if lock(connection).stdin.aborted => {}
        served => served?,
    }
    stdout.end()
}

/// What `FCGI_PARAMS` brought.
enum Params {
    Complete(Vec<(OsString, OsString)>),
    Aborted,
    /// Past `--max-params` or `--max-param-count`: answered `431`, with the reason.
    TooLarge(String),
    /// A pair announcing more bytes than the stream holds: the connection ends.
    Malformed(String),
}

/// The meta-variables of a complete `FCGI_PARAMS` stream: each pair is copied once into
/// its own strings, and no more than `max_count` of them.
fn meta_variables(stream: &[u8], max_count: usize) -> Params {
    let mut vars = Vec::new();
    for pair in NameValues::new(stream) {
        match pair {
            Err(reason) => return Params::Malformed(reason),
            Ok(_) if vars.len() == max_count => {
                return Params::TooLarge(format!(
                    "The request has more than {max_count} headers and variables."
                ));
            }
            Ok((name, value)) => vars.push((
                OsString::from_vec(name.to_vec()),
                OsString::from_vec(value.to_vec()),
            )),
        }
    }
    Params::Complete(vars)
}

/// One connection: its reading side and its writing side, shared by the conversation,
/// the request body (which the handler may read, or drop unread) and the answer.
struct Connection<T> {
    records: BufReader<PollingReader<T>>,
    output: Box<dyn Write + Send>,
    stdin: StdinState,
    /// `FCGI_MAX_CONNS` and `FCGI_MAX_REQS`: one request per worker.
    max_requests: usize,
}

/// Where the current request's `FCGI_STDIN` stream is.
#[derive(Debug, Default)]
struct StdinState {
    request_id: u16,
    /// Counts the connection's requests, so that a body kept past its request (by a
    /// thread the handler started, say) cannot read the next request's records.
    generation: u64,
    /// Content bytes of the current `FCGI_STDIN` record not read yet, then its padding.
    left_in_record: usize,
    padding: usize,
    ended: bool,
    aborted: bool,
}

impl<T: Transport> Connection<T> {
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

    /// Sends an answer the application owes outside the active request's STDOUT (to a
    /// management record, a refused request) now, as Go's `net/http/fcgi` does: records
    /// are written whole under the connection's lock, so it goes between the handler's.
    /// A web server that sends such records and reads nothing stalls the writing, which
    /// gives up after the stall limit.
    fn reply(&mut self, records: &[u8]) -> io::Result<()> {
        self.output.write_all(records)?;
        self.output.flush()
    }

    /// Ends request `id` with `status` (and no STDOUT): an unknown role, an abort
    /// before the handler ran.
    fn end_request(&mut self, id: u16, status: ProtocolStatus) -> io::Result<()> {
        let mut end = Vec::with_capacity(HEADER_LEN + 8);
        record::push_end_request(&mut end, id, 0, status);
        self.output.write_all(&end)?;
        self.output.flush()
    }

    /// Handles a record outside a request: management records get their answer,
    /// anything for a request no longer active (the rest of an answered request's stdin,
    /// a late abort) is skipped.
    fn answer_other(&mut self, header: Header) -> io::Result<()> {
        let content = self.content(header)?;
        if header.request_id == 0 {
            self.answer_management(header.kind, &content)?;
        }
        Ok(())
    }

    fn answer_management(&mut self, record_kind: u8, content: &[u8]) -> io::Result<()> {
        let mut answer = Vec::new();
        if record_kind != kind::GET_VALUES {
            let mut body = [0u8; 8];
            body[0] = record_kind;
            record::push_record(&mut answer, kind::UNKNOWN_TYPE, 0, &body);
            return self.reply(&answer);
        }
        let mut values = Vec::new();
        let max_requests = self.max_requests.to_string();
        // Only the variables asked for, each once, and only those this application knows
        // (§4.1): the answer always fits one record.
        let known: [(&[u8], &[u8]); 3] = [
            (b"FCGI_MAX_CONNS", max_requests.as_bytes()),
            (b"FCGI_MAX_REQS", max_requests.as_bytes()),
            (b"FCGI_MPXS_CONNS", b"0"),
        ];
        for (name, value) in known {
            let asked = NameValues::new(content)
                .map_while(Result::ok)
                .any(|(asked, _)| asked == name);
            if asked {
                record::push_name_value(&mut values, name, value);
            }
        }
        record::push_record(&mut answer, kind::GET_VALUES_RESULT, 0, &values);
        self.reply(&answer)
    }

    /// Collects `FCGI_PARAMS` for `id` up to its empty record, within the bounds: a
    /// stream past `--max-params` is skipped rather than kept.
    fn read_params(&mut self, id: u16, bounds: &Bounds) -> io::Result<Params> {
        let mut params = Vec::new();
        let mut too_large = false;
        loop {
            let header = self.next_header()?;
            match (header.kind, header.request_id) {
                (kind::PARAMS, request) if request == id => {
                    if header.content_length == 0 {
                        self.skip(usize::from(header.padding_length))?;
                        return Ok(if too_large {
                            Params::TooLarge(format!(
                                "The request's headers are larger than {} bytes.",
                                bounds.max_params
                            ))
                        } else {
                            meta_variables(&params, bounds.max_param_count)
                        });
                    }
                    let length = usize::from(header.content_length);
                    if too_large || params.len() + length > bounds.max_params {
                        too_large = true;
                        params = Vec::new();
                        self.skip(length)?;
                    } else {
                        // Read into place: no copy through a record-sized buffer.
                        let start = params.len();
                        params.resize(start + length, 0);
                        self.records.read_exact(&mut params[start..])?;
                    }
                    self.skip(usize::from(header.padding_length))?;
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
            self.answer_management(header.kind, &content)?;
        } else if header.kind == kind::BEGIN_REQUEST && header.request_id != active {
            let mut refusal = Vec::with_capacity(HEADER_LEN + 8);
            record::push_end_request(
                &mut refusal,
                header.request_id,
                0,
                ProtocolStatus::CantMultiplex,
            );
            self.reply(&refusal)?;
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
    connection: Arc<Mutex<Connection<T>>>,
    generation: u64,
}

impl<T: Transport> Read for StdinStream<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut connection = lock(&self.connection);
        if connection.stdin.generation != self.generation {
            return Err(io::Error::other("the request this body belongs to is over"));
        }
        connection.read_stdin(buf)
    }
}

/// The response: CGI bytes in, `FCGI_STDOUT` records out. Nothing is sent for a request
/// the web server aborted.
struct StdoutRecords<'a, T> {
    id: u16,
    connection: &'a Arc<Mutex<Connection<T>>>,
}

impl<T: Transport> StdoutRecords<'_, T> {
    /// Ends the stream and the request, and sends what is left of the answer.
    fn end(self) -> io::Result<()> {
        let mut connection = lock(self.connection);
        let mut end = Vec::with_capacity(2 * HEADER_LEN + 8);
        if !connection.stdin.aborted {
            record::push_record(&mut end, kind::STDOUT, self.id, &[]);
        }
        record::push_end_request(&mut end, self.id, 0, ProtocolStatus::RequestComplete);
        connection.output.write_all(&end)?;
        connection.output.flush()
    }
}

impl<T: Transport> Write for StdoutRecords<'_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut connection = lock(self.connection);
        if connection.stdin.aborted {
            // Fails rather than swallowing: a streamed body would otherwise go on forever.
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the web server aborted the request",
            ));
        }
        let content = &buf[..buf.len().min(MAX_CONTENT)];
        let length = u16::try_from(content.len()).expect("at most MAX_CONTENT");
        // Header and content under one lock: a reply to a management record never goes
        // between them.
        connection
            .output
            .write_all(&record::header(kind::STDOUT, self.id, length))?;
        connection.output.write_all(content)?;
        Ok(content.len())
    }

    /// Only a streamed body flushes (after each piece); [`StdoutRecords::end`] flushes the
    /// connection after `FCGI_END_REQUEST`, so an answer in memory goes out in one write.
    fn flush(&mut self) -> io::Result<()> {
        lock(self.connection).output.flush()
    }
}

fn lock<T>(shared: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding it can only come from a handler reading its body; the state
    // is still consistent record-wise, and the request is over anyway.
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::request::Request;
    use crate::response::IntoResponse;
    use record::{ROLE_RESPONDER, push_name_value, push_record};

    /// A record as the web server sees it.
    #[derive(Debug, PartialEq, Eq)]
    struct Seen {
        kind: u8,
        id: u16,
        content: Vec<u8>,
    }

    fn begin(out: &mut Vec<u8>, id: u16, role: u16, keep_conn: bool) {
        let role = role.to_be_bytes();
        let content = [role[0], role[1], u8::from(keep_conn), 0, 0, 0, 0, 0];
        push_record(out, kind::BEGIN_REQUEST, id, &content);
    }

    fn params(out: &mut Vec<u8>, id: u16, pairs: &[(&str, &str)]) {
        let mut stream = Vec::new();
        for (name, value) in pairs {
            push_name_value(&mut stream, name.as_bytes(), value.as_bytes());
        }
        // Split across records, as servers may, to cross a pair's boundary.
        let (first, second) = stream.split_at(stream.len() / 2);
        push_record(out, kind::PARAMS, id, first);
        push_record(out, kind::PARAMS, id, second);
        push_record(out, kind::PARAMS, id, &[]);
    }

    fn stdin(out: &mut Vec<u8>, id: u16, body: &[u8]) {
        for chunk in body.chunks(3) {
            push_record(out, kind::STDIN, id, chunk);
        }
        push_record(out, kind::STDIN, id, &[]);
    }

    fn get(out: &mut Vec<u8>, id: u16, keep_conn: bool, query: &str) {
        begin(out, id, ROLE_RESPONDER, keep_conn);
        params(
            out,
            id,
            &[("REQUEST_METHOD", "GET"), ("QUERY_STRING", query)],
        );
        stdin(out, id, b"");
    }

    fn converse_with(
        input: Vec<u8>,
        limits: &Limits,
        handler: &(dyn Fn(Request) -> Response + Sync),
    ) -> (io::Result<Ending>, Vec<Seen>) {
        let (output, ending) = converse_bytes(&input, 3, limits, handler);
        (ending, records(&output))
    }

    fn records(output: &[u8]) -> Vec<Seen> {
        let mut seen = Vec::new();
        let mut rest = output;
        while !rest.is_empty() {
            let header = Header::parse(rest[..HEADER_LEN].try_into().unwrap()).unwrap();
            let end = HEADER_LEN + usize::from(header.content_length);
            seen.push(Seen {
                kind: header.kind,
                id: header.request_id,
                content: rest[HEADER_LEN..end].to_vec(),
            });
            rest = &rest[end + usize::from(header.padding_length)..];
        }
        seen
    }

    fn echo(mut request: Request) -> Response {
        let query = request.uri().query().unwrap_or("").to_owned();
        match request.body_mut().read_to_vec() {
            Ok(body) => format!("{query}|{}", String::from_utf8_lossy(&body)).into_response(),
            Err(rejection) => rejection.into_response(),
        }
    }

    fn stdout_of(seen: &[Seen], id: u16) -> String {
        let bytes: Vec<u8> = seen
            .iter()
            .filter(|record| record.kind == kind::STDOUT && record.id == id)
            .flat_map(|record| record.content.clone())
            .collect();
        String::from_utf8(bytes).unwrap()
    }

    fn end_of(seen: &[Seen], id: u16) -> Option<u8> {
        seen.iter()
            .find(|record| record.kind == kind::END_REQUEST && record.id == id)
            .map(|record| record.content[4])
    }

    #[test]
    fn a_request_is_answered_in_stdout_records_then_ended() {
        let mut input = Vec::new();
        begin(&mut input, 1, ROLE_RESPONDER, false);
        params(
            &mut input,
            1,
            &[
                ("REQUEST_METHOD", "POST"),
                ("QUERY_STRING", "q=1"),
                ("CONTENT_LENGTH", "11"),
            ],
        );
        stdin(&mut input, 1, b"hello world");
        let (ending, seen) = converse_with(input, &Limits::default(), &echo);
        assert_eq!(ending.unwrap(), Ending::Answered);
        let stdout = stdout_of(&seen, 1);
        assert!(stdout.starts_with("Status: 200 OK\r\n"), "{stdout}");
        assert!(stdout.ends_with("\r\n\r\nq=1|hello world"), "{stdout}");
        // The stream's end, then the request's, and nothing after.
        let tail: Vec<(u8, usize)> = seen[seen.len() - 2..]
            .iter()
            .map(|record| (record.kind, record.content.len()))
            .collect();
        assert_eq!(tail, [(kind::STDOUT, 0), (kind::END_REQUEST, 8)]);
        assert_eq!(
            end_of(&seen, 1),
            Some(ProtocolStatus::RequestComplete as u8)
        );
    }

    #[test]
    fn keep_conn_serves_request_after_request_even_when_bodies_go_unread() {
        let mut input = Vec::new();
        // The handler ignores this body: its records must be skipped, not taken for
        // the next request's.
        begin(&mut input, 1, ROLE_RESPONDER, true);
        params(
            &mut input,
            1,
            &[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "10")],
        );
        stdin(&mut input, 1, b"0123456789");
        get(&mut input, 2, true, "second");
        get(&mut input, 1, true, "third");
        let (ending, seen) = converse_with(input, &Limits::default(), &|_request: Request| {
            "ignored the body".into_response()
        });
        assert_eq!(ending.unwrap(), Ending::Closed);
        let ends: Vec<u16> = seen
            .iter()
            .filter(|record| record.kind == kind::END_REQUEST)
            .map(|record| record.id)
            .collect();
        assert_eq!(ends, [1, 2, 1]);
        assert!(stdout_of(&seen, 2).ends_with("ignored the body"));
    }

    #[test]
    fn management_records_and_other_roles_get_their_answers() {
        let mut input = Vec::new();
        let mut asked = Vec::new();
        for name in [
            "FCGI_MAX_CONNS",
            "FCGI_MAX_REQS",
            "FCGI_MPXS_CONNS",
            "UNHEARD_OF",
        ] {
            push_name_value(&mut asked, name.as_bytes(), b"");
        }
        push_record(&mut input, kind::GET_VALUES, 0, &asked);
        push_record(&mut input, 200, 0, b"");
        begin(&mut input, 5, 2, true); // an authorizer
        get(&mut input, 6, false, "");
        let (_, seen) = converse_with(input, &Limits::default(), &echo);
        let values = &seen[0];
        assert_eq!((values.kind, values.id), (kind::GET_VALUES_RESULT, 0));
        let pairs = record::parse_name_values(&values.content).unwrap();
        assert_eq!(
            pairs,
            [
                (&b"FCGI_MAX_CONNS"[..], &b"3"[..]),
                (b"FCGI_MAX_REQS", b"3"),
                (b"FCGI_MPXS_CONNS", b"0")
            ]
        );
        assert_eq!(
            seen[1],
            Seen {
                kind: kind::UNKNOWN_TYPE,
                id: 0,
                content: vec![200, 0, 0, 0, 0, 0, 0, 0]
            }
        );
        assert_eq!(end_of(&seen, 5), Some(ProtocolStatus::UnknownRole as u8));
        assert!(stdout_of(&seen, 5).is_empty());
        assert_eq!(
            end_of(&seen, 6),
            Some(ProtocolStatus::RequestComplete as u8)
        );
    }

    #[test]
    fn a_second_request_while_one_is_active_is_refused() {
        let mut input = Vec::new();
        begin(&mut input, 1, ROLE_RESPONDER, true);
        params(
            &mut input,
            1,
            &[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "6")],
        );
        push_record(&mut input, kind::STDIN, 1, b"abc");
        begin(&mut input, 2, ROLE_RESPONDER, true);
        push_record(&mut input, kind::STDIN, 1, b"def");
        push_record(&mut input, kind::STDIN, 1, b"");
        let (_, seen) = converse_with(input, &Limits::default(), &echo);
        assert_eq!(end_of(&seen, 2), Some(ProtocolStatus::CantMultiplex as u8));
        assert!(stdout_of(&seen, 1).ends_with("|abcdef"));
        assert_eq!(
            end_of(&seen, 1),
            Some(ProtocolStatus::RequestComplete as u8)
        );
    }

    #[test]
    fn replies_to_records_that_come_during_a_request_go_out_at_once() {
        // While request 1's body arrives: an unknown management record, FCGI_GET_VALUES
        // and a second request. Their answers go out as they come, before request 1's
        // own: none waits in memory for the request to end.
        let mut input = Vec::new();
        begin(&mut input, 1, ROLE_RESPONDER, false);
        params(
            &mut input,
            1,
            &[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "6")],
        );
        push_record(&mut input, kind::STDIN, 1, b"abc");
        push_record(&mut input, 77, 0, b"");
        let mut asked = Vec::new();
        push_name_value(&mut asked, b"FCGI_MPXS_CONNS", b"");
        push_record(&mut input, kind::GET_VALUES, 0, &asked);
        begin(&mut input, 2, ROLE_RESPONDER, false);
        push_record(&mut input, kind::STDIN, 1, b"def");
        push_record(&mut input, kind::STDIN, 1, b"");
        let (ending, seen) = converse_with(input, &Limits::default(), &echo);
        assert_eq!(ending.unwrap(), Ending::Answered);
        let order: Vec<(u8, u16)> = seen.iter().map(|record| (record.kind, record.id)).collect();
        assert_eq!(
            order[..4],
            [
                (kind::UNKNOWN_TYPE, 0),
                (kind::GET_VALUES_RESULT, 0),
                (kind::END_REQUEST, 2),
                (kind::STDOUT, 1)
            ]
        );
        assert_eq!(end_of(&seen, 2), Some(ProtocolStatus::CantMultiplex as u8));
        assert!(stdout_of(&seen, 1).ends_with("|abcdef"));
    }

    #[test]
    fn parameters_are_bounded_in_bytes_and_in_count() {
        let many = |count: usize| -> Vec<u8> {
            let mut stream = Vec::new();
            push_name_value(&mut stream, b"REQUEST_METHOD", b"GET");
            for index in 1..count {
                push_name_value(&mut stream, format!("HTTP_X_{index}").as_bytes(), b"v");
            }
            stream
        };
        let request = |id: u16, stream: &[u8], input: &mut Vec<u8>| {
            begin(input, id, ROLE_RESPONDER, true);
            for chunk in stream.chunks(1000) {
                push_record(input, kind::PARAMS, id, chunk);
            }
            push_record(input, kind::PARAMS, id, &[]);
            stdin(input, id, b"");
        };
        let bounds = Bounds {
            max_params: 2000,
            max_param_count: 20,
            ..Bounds::default()
        };
        let mut input = Vec::new();
        request(1, &many(20), &mut input);
        request(2, &many(21), &mut input);
        request(3, &[b'x'; 2001], &mut input);
        let (output, ending) = converse_bytes_within(&input, 3, &bounds, &Limits::default(), &echo);
        assert_eq!(ending.unwrap(), Ending::Closed);
        let seen = records(&output);
        assert!(stdout_of(&seen, 1).starts_with("Status: 200 OK"));
        let count = stdout_of(&seen, 2);
        assert!(count.starts_with("Status: 431 "), "{count}");
        assert!(count.contains("more than 20 headers"), "{count}");
        let size = stdout_of(&seen, 3);
        assert!(size.starts_with("Status: 431 "), "{size}");
        assert!(size.contains("larger than 2000 bytes"), "{size}");
        // The defaults: 1000 variables.
        let mut input = Vec::new();
        request(1, &many(1000), &mut input);
        request(2, &many(1001), &mut input);
        let (_, seen) = converse_with(input, &Limits::default(), &echo);
        assert!(stdout_of(&seen, 1).starts_with("Status: 200 OK"));
        assert!(stdout_of(&seen, 2).contains("more than 1000 headers"));
    }

    #[test]
    fn an_abort_ends_the_request_and_the_connection_goes_on() {
        let mut input = Vec::new();
        begin(&mut input, 1, ROLE_RESPONDER, true);
        params(
            &mut input,
            1,
            &[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "100")],
        );
        push_record(&mut input, kind::STDIN, 1, b"only part");
        push_record(&mut input, kind::ABORT_REQUEST, 1, b"");
        // Aborted before its parameters were complete.
        begin(&mut input, 2, ROLE_RESPONDER, true);
        params_without_end(&mut input, 2, "half of the parameters");
        push_record(&mut input, kind::ABORT_REQUEST, 2, b"");
        get(&mut input, 3, false, "after");
        let (ending, seen) = converse_with(input, &Limits::default(), &echo);
        assert_eq!(ending.unwrap(), Ending::Answered);
        // Nothing of request 1's answer was sent, only its end.
        assert!(stdout_of(&seen, 1).is_empty());
        assert_eq!(
            end_of(&seen, 1),
            Some(ProtocolStatus::RequestComplete as u8)
        );
        assert!(
            seen.iter()
                .all(|record| record.id != 2 || record.kind == kind::END_REQUEST)
        );
        assert!(stdout_of(&seen, 3).ends_with("after|"));
    }

    #[test]
    fn a_streamed_body_stops_at_an_abort() {
        /// An endless body that counts its reads: after an abort they must stop.
        struct Endless(std::sync::Arc<std::sync::atomic::AtomicUsize>);
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let reads = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                assert!(reads < 100, "the body is still read after the abort");
                buf.fill(b'x');
                Ok(buf.len())
            }
        }
        let reads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut input = Vec::new();
        begin(&mut input, 1, ROLE_RESPONDER, true);
        params(
            &mut input,
            1,
            &[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "100")],
        );
        push_record(&mut input, kind::STDIN, 1, b"only part");
        push_record(&mut input, kind::ABORT_REQUEST, 1, b"");
        get(&mut input, 2, false, "after");
        let counter = std::sync::Arc::clone(&reads);
        let handler = move |mut request: Request| {
            if request.uri().query() == Some("after") {
                return echo(request);
            }
            // Reading the body meets the abort.
            let _ = request.body_mut().read_to_vec();
            Response::builder().body(crate::response::Body::from_reader(
                Endless(std::sync::Arc::clone(&counter)),
                None,
            ))
        };
        let (ending, seen) = converse_with(input, &Limits::default(), &handler);
        assert_eq!(ending.unwrap(), Ending::Answered);
        // The head's write already fails: the body is never read.
        assert_eq!(reads.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert_eq!(
            end_of(&seen, 1),
            Some(ProtocolStatus::RequestComplete as u8)
        );
        assert!(stdout_of(&seen, 2).ends_with("after|"));
    }

    #[test]
    fn limits_and_panics_end_the_request_not_the_connection() {
        let mut input = Vec::new();
        begin(&mut input, 1, ROLE_RESPONDER, true);
        params(
            &mut input,
            1,
            &[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "50")],
        );
        stdin(&mut input, 1, &[b'x'; 50]);
        get(&mut input, 2, true, "panic");
        get(&mut input, 3, true, "fine");
        let limits = Limits::default().max_body(10);
        let (_, seen) = converse_with(input, &limits, &|request: Request| {
            if request.uri().query() == Some("panic") {
                panic!("a handler bug");
            }
            echo(request)
        });
        assert!(stdout_of(&seen, 1).starts_with("Status: 413 "));
        assert!(stdout_of(&seen, 2).starts_with("Status: 500 "));
        assert!(stdout_of(&seen, 3).ends_with("fine|"));
    }

    #[test]
    fn oversized_parameters_are_431_and_broken_ones_end_the_connection() {
        let mut input = Vec::new();
        begin(&mut input, 1, ROLE_RESPONDER, true);
        let big = "v".repeat(60_000);
        for _ in 0..20 {
            params_without_end(&mut input, 1, &big);
        }
        push_record(&mut input, kind::PARAMS, 1, &[]);
        stdin(&mut input, 1, b"");
        get(&mut input, 2, true, "next");
        // A pair announcing more bytes than its stream holds.
        begin(&mut input, 3, ROLE_RESPONDER, true);
        push_record(&mut input, kind::PARAMS, 3, &[5, 100, b'A']);
        push_record(&mut input, kind::PARAMS, 3, &[]);
        let (ending, seen) = converse_with(input, &Limits::default(), &echo);
        assert!(stdout_of(&seen, 1).starts_with("Status: 431 "));
        assert!(stdout_of(&seen, 2).ends_with("next|"));
        let error = ending.unwrap_err();
        assert!(error.to_string().contains("FCGI_PARAMS"), "{error}");
    }

    #[test]
    fn review_cases_padding_dedupe_and_state_after_an_abort() {
        let mut input = Vec::new();
        // An empty PARAMS record with padding (§3.3 allows it on any record).
        begin(&mut input, 1, ROLE_RESPONDER, true);
        let mut stream = Vec::new();
        push_name_value(&mut stream, b"REQUEST_METHOD", b"GET");
        push_record(&mut input, kind::PARAMS, 1, &stream);
        input.extend_from_slice(&[1, kind::PARAMS, 0, 1, 0, 0, 5, 0, 0, 0, 0, 0, 0]);
        push_record(&mut input, kind::STDIN, 1, &[]);
        // The same name asked 4000 times is answered once.
        let mut asked = Vec::new();
        for _ in 0..4000 {
            push_name_value(&mut asked, b"FCGI_MAX_CONNS", b"");
        }
        push_record(&mut input, kind::GET_VALUES, 0, &asked);
        // An aborted request, then one whose parameters are too large: the 431 is sent.
        begin(&mut input, 2, ROLE_RESPONDER, true);
        params(
            &mut input,
            2,
            &[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "9")],
        );
        push_record(&mut input, kind::STDIN, 2, b"abc");
        push_record(&mut input, kind::ABORT_REQUEST, 2, b"");
        begin(&mut input, 3, ROLE_RESPONDER, false);
        for _ in 0..20 {
            params_without_end(&mut input, 3, &"v".repeat(60_000));
        }
        push_record(&mut input, kind::PARAMS, 3, &[]);
        let (ending, seen) = converse_with(input, &Limits::default(), &echo);
        assert_eq!(ending.unwrap(), Ending::Answered);
        assert!(stdout_of(&seen, 1).starts_with("Status: 200 OK"));
        let values = seen
            .iter()
            .find(|record| record.kind == kind::GET_VALUES_RESULT)
            .unwrap();
        assert_eq!(
            record::parse_name_values(&values.content).unwrap(),
            [(&b"FCGI_MAX_CONNS"[..], &b"3"[..])]
        );
        assert!(stdout_of(&seen, 3).starts_with("Status: 431 "));
    }

    #[test]
    fn a_body_kept_past_its_request_cannot_read_the_next_one() {
        let mut input = Vec::new();
        begin(&mut input, 1, ROLE_RESPONDER, true);
        params(
            &mut input,
            1,
            &[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "4")],
        );
        stdin(&mut input, 1, b"abcd");
        get(&mut input, 1, false, "second");
        let kept = Mutex::new(None);
        let (_, seen) = converse_with(input, &Limits::default(), &|mut request: Request| {
            let mut kept = kept.lock().unwrap();
            if kept.is_none() {
                *kept = Some(std::mem::replace(
                    request.body_mut(),
                    crate::request::RequestBody::empty(),
                ));
                return "kept the body".into_response();
            }
            // The first request's body, read during the second request.
            let mut old = kept.take().unwrap();
            let mut bytes = Vec::new();
            match old.read_to_end(&mut bytes) {
                Ok(_) => format!("read {bytes:?}").into_response(),
                Err(error) => format!("refused: {error}").into_response(),
            }
        });
        let second = stdout_of(&seen, 1);
        assert!(
            second.contains("refused: the request this body belongs to is over"),
            "{second}"
        );
    }

    fn params_without_end(out: &mut Vec<u8>, id: u16, value: &str) {
        let mut stream = Vec::new();
        push_name_value(&mut stream, b"HTTP_X", value.as_bytes());
        push_record(out, kind::PARAMS, id, &stream);
    }

    #[test]
    fn other_versions_and_truncated_records_are_errors_not_hangs() {
        let (ending, _) = converse_with(vec![2, 1, 0, 1, 0, 8, 0, 0], &Limits::default(), &echo);
        assert!(ending.unwrap_err().to_string().contains("version 2"));
        let mut input = Vec::new();
        begin(&mut input, 1, ROLE_RESPONDER, true);
        input.truncate(input.len() - 3);
        let (ending, seen) = converse_with(input, &Limits::default(), &echo);
        assert_eq!(ending.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert!(seen.is_empty());
    }
}
