//! A small, strict, synchronous FastCGI 1.0 client and an SCGI client, for the tests that run
//! scripts as long-lived processes (`tests/long_lived.rs`): whole requests with their
//! answers checked against the FastCGI specification, and raw records for protocol tests.
//!
//! Declared by the test file itself (`#[path = "support/gateway_client.rs"] mod ...`), not
//! from `support/mod.rs`, so that the other test binaries do not compile it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::Duration;

// Record types (FastCGI 1.0 §8).
pub(crate) const BEGIN_REQUEST: u8 = 1;
pub(crate) const ABORT_REQUEST: u8 = 2;
pub(crate) const END_REQUEST: u8 = 3;
pub(crate) const PARAMS: u8 = 4;
pub(crate) const STDIN: u8 = 5;
pub(crate) const STDOUT: u8 = 6;
pub(crate) const STDERR: u8 = 7;
pub(crate) const GET_VALUES: u8 = 9;
pub(crate) const GET_VALUES_RESULT: u8 = 10;
pub(crate) const UNKNOWN_TYPE: u8 = 11;

// Roles.
pub(crate) const RESPONDER: u16 = 1;
pub(crate) const AUTHORIZER: u16 = 2;
pub(crate) const FILTER: u16 = 3;

/// The `flags` bit of BEGIN_REQUEST that asks the application to keep the connection open.
pub(crate) const KEEP_CONN: u8 = 1;

// protocolStatus values of END_REQUEST.
pub(crate) const REQUEST_COMPLETE: u8 = 0;
pub(crate) const CANT_MPX_CONN: u8 = 1;
pub(crate) const UNKNOWN_ROLE: u8 = 3;

/// The largest content of one record.
const MAX_CONTENT: usize = 65_535;

/// Name-value pairs, as bytes.
pub(crate) type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// One record as it came off the wire (the padding read and dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) kind: u8,
    pub(crate) request_id: u16,
    pub(crate) content: Vec<u8>,
}

/// The body of an END_REQUEST record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EndRequest {
    pub(crate) app_status: u32,
    pub(crate) protocol_status: u8,
}

impl EndRequest {
    /// Parses the 8-byte body strictly (the three reserved bytes must be zero).
    pub(crate) fn parse(content: &[u8]) -> Result<Self, String> {
        let body: [u8; 8] = content
            .try_into()
            .map_err(|_| format!("END_REQUEST body of {} bytes, not 8", content.len()))?;
        if body[5..] != [0, 0, 0] {
            return Err(format!("END_REQUEST reserved bytes {:?}", &body[5..]));
        }
        Ok(EndRequest {
            app_status: u32::from_be_bytes([body[0], body[1], body[2], body[3]]),
            protocol_status: body[4],
        })
    }
}

/// What the application answered to one request.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    pub(crate) end: EndRequest,
    /// The STDOUT stream was ended by an empty STDOUT record before END_REQUEST.
    pub(crate) stdout_closed: bool,
}

/// A request to send: the meta-variables (FCGI_PARAMS) and the body (FCGI_STDIN).
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) id: u16,
    pub(crate) role: u16,
    pub(crate) keep_conn: bool,
    pub(crate) params: Pairs,
    pub(crate) stdin: Vec<u8>,
    /// The size of each PARAMS and STDIN record's content (the last one may be shorter):
    /// small sizes split names, values and the body across records.
    pub(crate) record_size: usize,
}

impl Request {
    /// A RESPONDER request with id 1, without KEEP_CONN, no variables and no body.
    pub(crate) fn new() -> Self {
        Request {
            id: 1,
            role: RESPONDER,
            keep_conn: false,
            params: Vec::new(),
            stdin: Vec::new(),
            record_size: MAX_CONTENT,
        }
    }

    pub(crate) fn param(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.params
            .push((name.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }

    pub(crate) fn stdin(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.stdin = body.into();
        self
    }

    pub(crate) fn id(mut self, id: u16) -> Self {
        self.id = id;
        self
    }

    pub(crate) fn role(mut self, role: u16) -> Self {
        self.role = role;
        self
    }

    pub(crate) fn keep_conn(mut self, keep_conn: bool) -> Self {
        self.keep_conn = keep_conn;
        self
    }

    pub(crate) fn record_size(mut self, size: usize) -> Self {
        assert!((1..=MAX_CONTENT).contains(&size), "record size {size}");
        self.record_size = size;
        self
    }

    /// BEGIN_REQUEST's body: role, flags and five reserved bytes.
    pub(crate) fn begin_body(&self) -> [u8; 8] {
        let role = self.role.to_be_bytes();
        let flags = if self.keep_conn { KEEP_CONN } else { 0 };
        [role[0], role[1], flags, 0, 0, 0, 0, 0]
    }

    /// Every record of the request, in order: BEGIN_REQUEST, PARAMS then an empty PARAMS,
    /// STDIN then an empty STDIN.
    pub(crate) fn records(&self) -> Vec<Record> {
        let mut records = vec![Record {
            kind: BEGIN_REQUEST,
            request_id: self.id,
            content: self.begin_body().to_vec(),
        }];
        let pairs = encode_pairs(&self.params);
        for (kind, stream) in [(PARAMS, &pairs), (STDIN, &self.stdin)] {
            for chunk in stream.chunks(self.record_size) {
                records.push(Record {
                    kind,
                    request_id: self.id,
                    content: chunk.to_vec(),
                });
            }
            records.push(Record {
                kind,
                request_id: self.id,
                content: Vec::new(),
            });
        }
        records
    }

    /// The whole request as bytes on the wire.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for record in self.records() {
            bytes.extend_from_slice(&record_bytes(
                record.kind,
                record.request_id,
                &record.content,
            ));
        }
        bytes
    }
}

/// One record on the wire: the 8-byte header, the content, and padding to a multiple of 8
/// (as the specification recommends).
pub(crate) fn record_bytes(kind: u8, request_id: u16, content: &[u8]) -> Vec<u8> {
    assert!(content.len() <= MAX_CONTENT, "record content too long");
    let padding = (8 - content.len() % 8) % 8;
    let mut bytes = Vec::with_capacity(8 + content.len() + padding);
    bytes.extend_from_slice(&[1, kind]);
    bytes.extend_from_slice(&request_id.to_be_bytes());
    bytes.extend_from_slice(&(content.len() as u16).to_be_bytes());
    bytes.extend_from_slice(&[padding as u8, 0]);
    bytes.extend_from_slice(content);
    bytes.resize(bytes.len() + padding, 0);
    bytes
}

/// Name-value pairs (FastCGI 1.0 §3.4): each length in 1 byte below 128, else in 4 bytes
/// big-endian with the high bit set.
pub(crate) fn encode_pairs(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    fn length(bytes: &mut Vec<u8>, length: usize) {
        if length < 128 {
            bytes.push(length as u8);
        } else {
            let length = u32::try_from(length).expect("a length below 2^31") | 0x8000_0000;
            bytes.extend_from_slice(&length.to_be_bytes());
        }
    }
    let mut bytes = Vec::new();
    for (name, value) in pairs {
        length(&mut bytes, name.len());
        length(&mut bytes, value.len());
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(value);
    }
    bytes
}

/// The inverse of [`encode_pairs`], strict: a truncated pair is an error.
pub(crate) fn decode_pairs(mut bytes: &[u8]) -> Result<Pairs, String> {
    fn length(bytes: &mut &[u8]) -> Result<usize, String> {
        let (&first, rest) = bytes.split_first().ok_or("a pair cut short")?;
        if first < 0x80 {
            *bytes = rest;
            return Ok(usize::from(first));
        }
        let four: [u8; 4] = bytes
            .get(..4)
            .and_then(|four| four.try_into().ok())
            .ok_or("a 4-byte length cut short")?;
        *bytes = &bytes[4..];
        Ok((u32::from_be_bytes(four) & 0x7FFF_FFFF) as usize)
    }
    let mut pairs = Vec::new();
    while !bytes.is_empty() {
        let name_length = length(&mut bytes)?;
        let value_length = length(&mut bytes)?;
        if bytes.len() < name_length + value_length {
            return Err("a name or value cut short".to_owned());
        }
        let (name, rest) = bytes.split_at(name_length);
        let (value, rest) = rest.split_at(value_length);
        pairs.push((name.to_vec(), value.to_vec()));
        bytes = rest;
    }
    Ok(pairs)
}

/// A connection to a FastCGI or SCGI application, over TCP or a unix socket.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    /// Connects to `127.0.0.1:PORT` (any `host:port`) or `unix:/path`, with `timeout` on
    /// every read and write.
    pub(crate) fn connect(address: &str, timeout: Duration) -> io::Result<Self> {
        let stream = match address.strip_prefix("unix:") {
            Some(path) => Stream::Unix(UnixStream::connect(path)?),
            None => Stream::Tcp(TcpStream::connect(address)?),
        };
        stream.set_timeout(timeout)?;
        Ok(stream)
    }

    pub(crate) fn set_timeout(&self, timeout: Duration) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) => {
                stream.set_read_timeout(Some(timeout))?;
                stream.set_write_timeout(Some(timeout))
            }
            Stream::Unix(stream) => {
                stream.set_read_timeout(Some(timeout))?;
                stream.set_write_timeout(Some(timeout))
            }
        }
    }

    /// Closes the writing half: the application reads EOF.
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) => stream.shutdown(Shutdown::Write),
            Stream::Unix(stream) => stream.shutdown(Shutdown::Write),
        }
    }

    /// Writes one record.
    pub(crate) fn send_record(
        &mut self,
        kind: u8,
        request_id: u16,
        content: &[u8],
    ) -> io::Result<()> {
        self.write_all(&record_bytes(kind, request_id, content))
    }

    /// Writes a whole request (see [`Request::records`]) in one go.
    pub(crate) fn send_request(&mut self, request: &Request) -> io::Result<()> {
        self.write_all(&request.to_bytes())
    }

    /// Reads one record; `Ok(None)` on EOF before its first byte (the application closed
    /// the connection between records). Strict: version 1, reserved byte 0, padding below
    /// 256 as the header allows, and no EOF inside a record.
    pub(crate) fn read_record(&mut self) -> io::Result<Option<Record>> {
        let mut header = [0u8; 8];
        let mut filled = 0;
        while filled < header.len() {
            match self.read(&mut header[filled..]) {
                Ok(0) if filled == 0 => return Ok(None),
                Ok(0) => return Err(invalid("EOF inside a record header")),
                Ok(n) => filled += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        let (version, kind, padding, reserved) = (header[0], header[1], header[6], header[7]);
        if version != 1 {
            return Err(invalid(format!("record version {version}")));
        }
        if reserved != 0 {
            return Err(invalid(format!("record reserved byte {reserved}")));
        }
        let request_id = u16::from_be_bytes([header[2], header[3]]);
        let length = usize::from(u16::from_be_bytes([header[4], header[5]]));
        let mut content = vec![0u8; length + usize::from(padding)];
        self.read_exact(&mut content)
            .map_err(|error| match error.kind() {
                io::ErrorKind::UnexpectedEof => invalid("EOF inside a record's content"),
                _ => error,
            })?;
        content.truncate(length);
        Ok(Some(Record {
            kind,
            request_id,
            content,
        }))
    }

    /// Reads records until the END_REQUEST of request `id`, strictly: only STDOUT, STDERR
    /// and END_REQUEST records, all for `id`; nothing in a stream after its empty record;
    /// EOF before END_REQUEST is an error.
    pub(crate) fn read_reply(&mut self, id: u16) -> io::Result<Reply> {
        let mut replies = self.read_replies(&[id])?;
        Ok(replies.remove(0))
    }

    /// Reads records until every request of `ids` has had its END_REQUEST, in whatever
    /// order the application interleaves them, each as strictly as [`Stream::read_reply`];
    /// a record for another id is an error. The replies come in the order of `ids`.
    pub(crate) fn read_replies(&mut self, ids: &[u16]) -> io::Result<Vec<Reply>> {
        #[derive(Default)]
        struct Pending {
            stdout: Vec<u8>,
            stderr: Vec<u8>,
            stdout_closed: bool,
            stderr_closed: bool,
            end: Option<EndRequest>,
        }
        let mut pending: Vec<Pending> = ids.iter().map(|_| Pending::default()).collect();
        while pending.iter().any(|reply| reply.end.is_none()) {
            let record = self
                .read_record()?
                .ok_or_else(|| invalid("EOF before END_REQUEST"))?;
            let reply = ids
                .iter()
                .position(|&id| id == record.request_id)
                .map(|index| &mut pending[index])
                .filter(|reply| reply.end.is_none())
                .ok_or_else(|| {
                    invalid(format!(
                        "a record for request {} while reading {ids:?}: {record:?}",
                        record.request_id
                    ))
                })?;
            let (stream, closed, name) = match record.kind {
                STDOUT => (&mut reply.stdout, &mut reply.stdout_closed, "STDOUT"),
                STDERR => (&mut reply.stderr, &mut reply.stderr_closed, "STDERR"),
                END_REQUEST => {
                    reply.end = Some(EndRequest::parse(&record.content).map_err(invalid)?);
                    continue;
                }
                other => {
                    return Err(invalid(format!(
                        "record type {other} in a reply: {record:?}"
                    )));
                }
            };
            if *closed {
                return Err(invalid(format!("{name} data after the stream's end")));
            }
            if record.content.is_empty() {
                *closed = true;
            }
            stream.extend_from_slice(&record.content);
        }
        Ok(pending
            .into_iter()
            .map(|reply| Reply {
                stdout: reply.stdout,
                stderr: reply.stderr,
                end: reply.end.expect("every request ended"),
                stdout_closed: reply.stdout_closed,
            })
            .collect())
    }

    /// Sends `request` and reads its reply.
    pub(crate) fn request(&mut self, request: &Request) -> io::Result<Reply> {
        self.send_request(request)?;
        self.read_reply(request.id)
    }

    /// Sends FCGI_GET_VALUES for `names` and returns the GET_VALUES_RESULT pairs.
    pub(crate) fn get_values(&mut self, names: &[&str]) -> io::Result<Pairs> {
        let query: Pairs = names
            .iter()
            .map(|name| (name.as_bytes().to_vec(), Vec::new()))
            .collect();
        self.send_record(GET_VALUES, 0, &encode_pairs(&query))?;
        let record = self
            .read_record()?
            .ok_or_else(|| invalid("EOF instead of GET_VALUES_RESULT"))?;
        if record.kind != GET_VALUES_RESULT || record.request_id != 0 {
            return Err(invalid(format!(
                "expected GET_VALUES_RESULT for id 0, got {record:?}"
            )));
        }
        decode_pairs(&record.content).map_err(invalid)
    }

    /// Reads until EOF (the application closed the connection); an error if a read times
    /// out or fails first.
    pub(crate) fn read_to_eof(&mut self) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

impl Read for Stream {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(stream) => stream.read(buffer),
            Stream::Unix(stream) => stream.read(buffer),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(stream) => stream.write(bytes),
            Stream::Unix(stream) => stream.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) => stream.flush(),
            Stream::Unix(stream) => stream.flush(),
        }
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// An SCGI request (SCGI 1): a netstring of NUL-terminated names and values,
/// `CONTENT_LENGTH` first and `SCGI=1` with it, then the body.
pub(crate) fn scgi_request_bytes(headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let length = body.len().to_string();
    let mut block = Vec::new();
    for (name, value) in [("CONTENT_LENGTH", length.as_str()), ("SCGI", "1")]
        .into_iter()
        .chain(headers.iter().copied())
    {
        block.extend_from_slice(name.as_bytes());
        block.push(0);
        block.extend_from_slice(value.as_bytes());
        block.push(0);
    }
    let mut bytes = format!("{}:", block.len()).into_bytes();
    bytes.extend_from_slice(&block);
    bytes.push(b',');
    bytes.extend_from_slice(body);
    bytes
}

/// Sends `bytes` on a new SCGI connection and reads the answer to EOF (the application
/// closes the connection after one request); every read and write within `timeout`.
pub(crate) fn scgi_exchange(address: &str, bytes: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    let mut stream = Stream::connect(address, timeout)?;
    stream.write_all(bytes)?;
    stream.read_to_eof()
}
