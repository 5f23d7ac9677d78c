//! Reads what a CGI script wrote (RFC 3875 §6), as a host does, strictly enough to catch a
//! broken script.

/// A script's response, before the host turns it into HTTP.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// A document or a client redirect: status, headers (without `Status`), body.
    Document {
        status: u16,
        /// Names as written, values as bytes (obs-text, bytes over 0x7F, is legal in a
        /// value), without the whitespace around them.
        headers: Vec<(String, Vec<u8>)>,
        body: Vec<u8>,
    },
    /// RFC 3875 §6.2.2: `Location: /path` alone; the host answers with that path instead.
    LocalRedirect(String),
}

/// Parses the output; `Err` says what is wrong with it (the host answers 502).
pub(crate) fn parse(raw: &[u8]) -> Result<Output, String> {
    if raw.is_empty() {
        return Err("the script wrote nothing".into());
    }
    let (head, body) =
        split_head(raw).ok_or("the script's headers do not end with a blank line")?;
    let mut status = None;
    let mut headers = Vec::new();
    for line in head
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
    {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = line
            .iter()
            .position(|&byte| byte == b':')
            .ok_or_else(|| format!("not a header line: {:?}", String::from_utf8_lossy(line)))?;
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.is_empty() || name.iter().any(|byte| !byte.is_ascii_graphic()) {
            return Err(format!(
                "not a header name: {:?}",
                String::from_utf8_lossy(name)
            ));
        }
        // Only ASCII graphic bytes, checked above.
        let name = String::from_utf8_lossy(name).into_owned();
        if name.eq_ignore_ascii_case("status") {
            let code = std::str::from_utf8(value)
                .ok()
                .and_then(|value| value.get(..3))
                .and_then(|code| code.parse::<u16>().ok())
                .filter(|code| (100..600).contains(code));
            let code = code.ok_or_else(|| {
                format!(
                    "a malformed Status line: {:?}",
                    String::from_utf8_lossy(value)
                )
            })?;
            if status.replace(code).is_some() {
                return Err("two Status lines".into());
            }
        } else {
            headers.push((name, value.to_vec()));
        }
    }
    let location = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("location"))
        .map(|(_, value)| String::from_utf8_lossy(value).into_owned());
    let has_content_type = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
    match (status, location) {
        (None, Some(location))
            if location.starts_with('/') && headers.len() == 1 && body.is_empty() =>
        {
            Ok(Output::LocalRedirect(location))
        }
        // §6.2.3: a client redirect without Status is a 302.
        (None, Some(_)) => Ok(Output::Document {
            status: 302,
            headers,
            body: body.to_vec(),
        }),
        (_, None) if !has_content_type && !body.is_empty() => {
            Err("the script sent a body without a Content-Type (RFC 3875 §6.3.1)".into())
        }
        (status, _) => Ok(Output::Document {
            status: status.unwrap_or(200),
            headers,
            body: body.to_vec(),
        }),
    }
}

/// The header block and the body: split at the first blank line (CRLF or bare LF).
pub(crate) fn split_head(raw: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut line_start = 0;
    while let Some(offset) = raw[line_start..].iter().position(|&byte| byte == b'\n') {
        let line_end = line_start + offset;
        let line = &raw[line_start..line_end];
        if line.is_empty() || line == b"\r" {
            return Some((&raw[..line_start], &raw[line_end + 1..]));
        }
        line_start = line_end + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Output {
        Output::Document {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec()))
                .collect(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn documents() {
        assert_eq!(
            parse(b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope"),
            Ok(document(404, &[("Content-Type", "text/plain")], b"nope"))
        );
        assert_eq!(
            parse(b"Content-Type: text/html\n\n<p>"),
            Ok(document(200, &[("Content-Type", "text/html")], b"<p>"))
        );
        assert_eq!(
            parse(b"Status: 204 No Content\r\n\r\n"),
            Ok(document(204, &[], b""))
        );
    }

    #[test]
    fn redirects() {
        assert_eq!(
            parse(b"Location: /other?x=1\r\n\r\n"),
            Ok(Output::LocalRedirect("/other?x=1".into()))
        );
        assert_eq!(
            parse(b"Location: http://example.com/\r\n\r\n"),
            Ok(document(302, &[("Location", "http://example.com/")], b""))
        );
        assert_eq!(
            parse(b"Status: 303 See Other\r\nLocation: /x\r\nContent-Type: text/html\r\n\r\n<a>"),
            Ok(document(
                303,
                &[("Location", "/x"), ("Content-Type", "text/html")],
                b"<a>"
            ))
        );
    }

    #[test]
    fn obs_text_in_a_value_is_not_an_error() {
        let parsed = parse(b"Content-Type: text/plain\r\nX-Name: caf\xe9\r\n\r\nok");
        assert!(
            matches!(parsed, Ok(Output::Document { status: 200, .. })),
            "{parsed:?}"
        );
    }

    #[test]
    fn broken_scripts() {
        for (raw, reason) in [
            (&b""[..], "wrote nothing"),
            (b"Hello, world!", "do not end with a blank line"),
            (b"Hello, world!\n\n", "not a header line"),
            (b"Status: 99 Weird\r\n\r\n", "malformed Status"),
            (b"Status: 200 OK\r\nStatus: 200 OK\r\n\r\n", "two Status"),
            (b"X-Test: 1\r\n\r\nbody", "without a Content-Type"),
            (b"Bad Name: 1\r\n\r\n", "not a header name"),
        ] {
            let error = parse(raw).unwrap_err();
            assert!(error.contains(reason), "{raw:?}: {error}");
        }
    }
}
