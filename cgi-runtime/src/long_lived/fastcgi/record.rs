//! FastCGI 1.0 records and name-value pairs: bytes in, values out, and back.
//!
//! Pure functions over byte slices, so the fuzz target and the unit tests reach every
//! branch without a socket.

/// The only version of the protocol.
pub(crate) const VERSION_1: u8 = 1;
/// Header bytes before each record's content.
pub(crate) const HEADER_LEN: usize = 8;
/// The largest content one record can carry.
pub(crate) const MAX_CONTENT: usize = u16::MAX as usize;

/// Record types (FastCGI 1.0 §8).
pub(crate) mod kind {
    pub(crate) const BEGIN_REQUEST: u8 = 1;
    pub(crate) const ABORT_REQUEST: u8 = 2;
    pub(crate) const END_REQUEST: u8 = 3;
    pub(crate) const PARAMS: u8 = 4;
    pub(crate) const STDIN: u8 = 5;
    pub(crate) const STDOUT: u8 = 6;
    pub(crate) const GET_VALUES: u8 = 9;
    pub(crate) const GET_VALUES_RESULT: u8 = 10;
    pub(crate) const UNKNOWN_TYPE: u8 = 11;
}

/// The one role this responder plays; authorizers and filters are refused.
pub(crate) const ROLE_RESPONDER: u16 = 1;
/// `FCGI_BEGIN_REQUEST` flag: keep the connection open after the request.
pub(crate) const FLAG_KEEP_CONN: u8 = 1;

/// `FCGI_END_REQUEST` protocol statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProtocolStatus {
    RequestComplete = 0,
    CantMultiplex = 1,
    UnknownRole = 3,
}

/// A record's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) kind: u8,
    pub(crate) request_id: u16,
    pub(crate) content_length: u16,
    pub(crate) padding_length: u8,
}

impl Header {
    /// Reads a header; only the version can be wrong (every other value is meaningful).
    pub(crate) fn parse(bytes: [u8; HEADER_LEN]) -> Result<Header, String> {
        if bytes[0] != VERSION_1 {
            return Err(format!(
                "a FastCGI record of version {} (only version 1 exists)",
                bytes[0]
            ));
        }
        Ok(Header {
            kind: bytes[1],
            request_id: u16::from_be_bytes([bytes[2], bytes[3]]),
            content_length: u16::from_be_bytes([bytes[4], bytes[5]]),
            padding_length: bytes[6],
        })
    }
}

/// Appends one record (no padding: the spec only recommends alignment, and every server
/// reads unpadded records).
///
/// # Panics
///
/// If `content` is longer than [`MAX_CONTENT`]; callers split first.
pub(crate) fn push_record(out: &mut Vec<u8>, kind: u8, request_id: u16, content: &[u8]) {
    let length = u16::try_from(content.len()).expect("callers split content into records");
    out.extend_from_slice(&header(kind, request_id, length));
    out.extend_from_slice(content);
}

/// The header of a record with `content_length` bytes of content and no padding.
pub(crate) fn header(kind: u8, request_id: u16, content_length: u16) -> [u8; HEADER_LEN] {
    let [id_high, id_low] = request_id.to_be_bytes();
    let [length_high, length_low] = content_length.to_be_bytes();
    [
        VERSION_1,
        kind,
        id_high,
        id_low,
        length_high,
        length_low,
        0,
        0,
    ]
}

/// Appends `FCGI_END_REQUEST`.
pub(crate) fn push_end_request(
    out: &mut Vec<u8>,
    request_id: u16,
    app_status: u32,
    status: ProtocolStatus,
) {
    let app = app_status.to_be_bytes();
    push_record(
        out,
        kind::END_REQUEST,
        request_id,
        &[app[0], app[1], app[2], app[3], status as u8, 0, 0, 0],
    );
}

/// `FCGI_BEGIN_REQUEST`'s body: the role and the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BeginRequest {
    pub(crate) role: u16,
    pub(crate) keep_conn: bool,
}

impl BeginRequest {
    pub(crate) fn parse(content: &[u8]) -> Result<BeginRequest, String> {
        match content {
            [role_high, role_low, flags, _, _, _, _, _] => Ok(BeginRequest {
                role: u16::from_be_bytes([*role_high, *role_low]),
                keep_conn: flags & FLAG_KEEP_CONN != 0,
            }),
            _ => Err(format!(
                "an FCGI_BEGIN_REQUEST record of {} bytes (it has 8)",
                content.len()
            )),
        }
    }
}

/// A name and its value, borrowed from the stream.
pub(crate) type NameValue<'a> = (&'a [u8], &'a [u8]);

/// The pairs of a name-value pair stream (FastCGI 1.0 §3.4), one at a time (nothing is
/// kept but the position): each length is one byte below 128, else four bytes with the
/// top bit set. After an error, the iterator ends.
#[derive(Debug, Clone)]
pub(crate) struct NameValues<'a> {
    rest: &'a [u8],
}

impl<'a> NameValues<'a> {
    pub(crate) fn new(stream: &'a [u8]) -> Self {
        NameValues { rest: stream }
    }

    fn next_pair(&mut self) -> Result<NameValue<'a>, String> {
        let name_length = take_length(&mut self.rest)?;
        let value_length = take_length(&mut self.rest)?;
        let name = take(&mut self.rest, name_length)?;
        let value = take(&mut self.rest, value_length)?;
        Ok((name, value))
    }
}

impl<'a> Iterator for NameValues<'a> {
    type Item = Result<NameValue<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let pair = self.next_pair();
        if pair.is_err() {
            self.rest = &[];
        }
        Some(pair)
    }
}

/// Every pair of a stream, or the first error.
#[cfg(test)]
pub(crate) fn parse_name_values(bytes: &[u8]) -> Result<Vec<NameValue<'_>>, String> {
    NameValues::new(bytes).collect()
}

fn take_length(bytes: &mut &[u8]) -> Result<usize, String> {
    match *bytes {
        [short, rest @ ..] if *short < 0x80 => {
            *bytes = rest;
            Ok(usize::from(*short))
        }
        [b0, b1, b2, b3, rest @ ..] => {
            *bytes = rest;
            let length = u32::from_be_bytes([b0 & 0x7f, *b1, *b2, *b3]);
            usize::try_from(length).map_err(|_| "a name-value length too large".to_owned())
        }
        _ => Err("a name-value pair cut short in its length".to_owned()),
    }
}

fn take<'a>(bytes: &mut &'a [u8], length: usize) -> Result<&'a [u8], String> {
    if bytes.len() < length {
        return Err(format!(
            "a name-value pair announces {length} bytes but {} remain",
            bytes.len()
        ));
    }
    let (taken, rest) = bytes.split_at(length);
    *bytes = rest;
    Ok(taken)
}

/// Appends one name-value pair.
pub(crate) fn push_name_value(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    for length in [name.len(), value.len()] {
        match u8::try_from(length) {
            Ok(short) if short < 0x80 => out.push(short),
            _ => {
                // Lengths come from our own short names and numbers, far below 2^31.
                let long = u32::try_from(length).unwrap_or(u32::MAX >> 1) | 0x8000_0000;
                out.extend_from_slice(&long.to_be_bytes());
            }
        }
    }
    out.extend_from_slice(name);
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_reject_other_versions() {
        let mut out = Vec::new();
        push_record(&mut out, kind::STDOUT, 0x0102, b"hello");
        let header = Header::parse(out[..HEADER_LEN].try_into().unwrap()).unwrap();
        assert_eq!(
            header,
            Header {
                kind: kind::STDOUT,
                request_id: 0x0102,
                content_length: 5,
                padding_length: 0
            }
        );
        assert_eq!(&out[HEADER_LEN..], b"hello");
        let error = Header::parse([2, 1, 0, 1, 0, 0, 0, 0]).unwrap_err();
        assert!(error.contains("version 2"), "{error}");
    }

    #[test]
    fn begin_request_reads_role_and_keep_conn() {
        assert_eq!(
            BeginRequest::parse(&[0, 1, 1, 0, 0, 0, 0, 0]),
            Ok(BeginRequest {
                role: ROLE_RESPONDER,
                keep_conn: true
            })
        );
        assert_eq!(
            BeginRequest::parse(&[0, 2, 0, 0, 0, 0, 0, 0]),
            Ok(BeginRequest {
                role: 2,
                keep_conn: false
            })
        );
        assert!(BeginRequest::parse(&[0, 1, 1]).is_err());
    }

    #[test]
    fn name_values_use_short_and_long_lengths() {
        let long_value = vec![b'v'; 300];
        let mut stream = Vec::new();
        push_name_value(&mut stream, b"REQUEST_METHOD", b"GET");
        push_name_value(&mut stream, b"HTTP_X", &long_value);
        push_name_value(&mut stream, b"EMPTY", b"");
        // 300 needs the four-byte form: high bit set.
        assert_eq!(&stream[20..24], &[0x80, 0, 0x01, 0x2c]);
        let pairs = parse_name_values(&stream).unwrap();
        assert_eq!(
            pairs,
            vec![
                (&b"REQUEST_METHOD"[..], &b"GET"[..]),
                (&b"HTTP_X"[..], &long_value[..]),
                (&b"EMPTY"[..], &b""[..]),
            ]
        );
    }

    #[test]
    fn name_values_come_one_at_a_time_and_end_after_an_error() {
        let mut stream = Vec::new();
        push_name_value(&mut stream, b"A", b"1");
        stream.extend_from_slice(&[5, 100, b'B']);
        let mut pairs = NameValues::new(&stream);
        assert_eq!(pairs.next(), Some(Ok((&b"A"[..], &b"1"[..]))));
        let error = pairs.next().unwrap().unwrap_err();
        assert!(error.contains("announces 5 bytes"), "{error}");
        assert_eq!(pairs.next(), None);
    }

    #[test]
    fn truncated_name_values_are_errors() {
        for broken in [
            &[5u8][..],                    // a value length missing
            &[0x80, 0, 0][..],             // a four-byte length cut short
            &[3, 1, b'a', b'b'][..],       // the value missing
            &[0x80, 0, 0, 9, 0, b'a'][..], // a name shorter than announced
        ] {
            assert!(parse_name_values(broken).is_err(), "{broken:?}");
        }
    }

    #[test]
    fn end_request_carries_both_statuses() {
        let mut out = Vec::new();
        push_end_request(&mut out, 7, 0x0102_0304, ProtocolStatus::UnknownRole);
        assert_eq!(out, [1, 3, 0, 7, 0, 8, 0, 0, 1, 2, 3, 4, 3, 0, 0, 0]);
    }
}
