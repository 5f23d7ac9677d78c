//! Uploads: streaming `multipart/form-data` (RFC 7578) with bounded memory.

mod disposition;
mod form;
mod parser;
mod upload;

use std::io::{self, Read, Write};

use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};

use crate::extract::private::ViaRequest;
use crate::extract::{FromRequest, media_type, media_type_parameter, unsupported_media_type};
use crate::limits::Limits;
use crate::rejection::MultipartError;
use crate::request::Request;
use crate::request::RequestBody;
use parser::{ParseError, Parts};
use upload::TempFile;

pub use form::MultipartForm;
pub use upload::Upload;

/// The parts of a `multipart/form-data` body (an HTML form with
/// `enctype="multipart/form-data"`, usually to upload files), read one by one as they
/// arrive on standard input. Nothing is held in memory beyond one 64 KiB buffer unless you
/// ask for it, whatever the body's size. It reads the body, so it must be the last
/// argument.
///
/// Raise the body limit for uploads: `#[cgi::main(max_body = 100 << 20)]` (the default is
/// 2 MiB). The [`Limits`] on parts, fields, file sizes and part headers apply too; going
/// over one answers `413`, a malformed body `400`, and a body that is not
/// `multipart/form-data` `415`. For a form whose text fields go into a struct and whose
/// files are spooled to temporary files, see [`MultipartForm`].
///
/// ```
/// use std::io::Read;
/// use cgi::{Multipart, MultipartError};
///
/// fn sizes(mut multipart: Multipart) -> Result<String, MultipartError> {
///     let mut report = String::new();
///     while let Some(mut field) = multipart.next_field()? {
///         let name = field.name().unwrap_or("?").to_owned();
///         let mut size = 0;
///         let mut chunk = [0u8; 8192];
///         loop {
///             let n = field.read(&mut chunk).map_err(MultipartError::from_io)?;
///             if n == 0 { break; }
///             size += n; // ...hash, store or inspect the chunk here
///         }
///         report.push_str(&format!("{name}: {size} bytes\n"));
///     }
///     Ok(report)
/// }
///
/// let response = cgi::test::TestRequest::post("/")
///     .multipart(cgi::test::MultipartBody::new().text("title", "Notes").file("doc", "notes.txt", "text/plain", b"abc"))
///     .call(sizes);
/// assert_eq!(response.text(), "title: 5 bytes\ndoc: 3 bytes\n");
/// ```
pub struct Multipart {
    parts: Parts<RequestBody>,
    limits: Limits,
    count: usize,
    /// A structural error ends the stream: every later call reports it again.
    failed: Option<MultipartError>,
}

impl MultipartError {
    /// The `MultipartError` behind an error from [`Field`]'s `Read` (a limit, a malformed
    /// body); any other I/O error (the handler's own writer failing) is a generic `500`.
    ///
    /// ```
    /// let error = cgi::MultipartError::from_io(std::io::Error::other("disk full"));
    /// assert_eq!(error.status(), cgi::StatusCode::INTERNAL_SERVER_ERROR);
    /// ```
    pub fn from_io(error: io::Error) -> Self {
        match error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<ReadFailure>())
        {
            Some(ReadFailure(inner)) => inner.clone(),
            // Not the body's fault: the handler's own writer failed (a full disk, say).
            None => MultipartError::storage(&error),
        }
    }

    fn malformed(reason: impl std::fmt::Display) -> Self {
        MultipartError::new(
            StatusCode::BAD_REQUEST,
            format!("Malformed multipart body: {reason}."),
        )
    }

    fn too_large(reason: impl std::fmt::Display) -> Self {
        MultipartError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The upload is too large: {reason}."),
        )
    }

    fn from_parse(error: ParseError) -> Self {
        match error {
            ParseError::Malformed(reason) => Self::malformed(reason),
            ParseError::HeadersTooLarge(limit) => {
                Self::too_large(format!("a part's headers exceed {limit} bytes"))
            }
            ParseError::Io(reason) => Self::unreadable(reason),
        }
    }

    /// The server could not keep the upload: a 500 that says no more to the client.
    fn storage(error: &io::Error) -> Self {
        MultipartError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The upload could not be stored.".to_owned(),
        )
        .with_detail(error)
    }

    fn unreadable(detail: impl std::fmt::Display) -> Self {
        MultipartError::new(
            StatusCode::BAD_REQUEST,
            "The upload could not be read.".to_owned(),
        )
        .with_detail(detail)
    }
}

/// Carries a `MultipartError` through `io::Read`, which can only return `io::Error`.
#[derive(Debug)]
struct ReadFailure(MultipartError);

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ReadFailure {}

impl FromRequest<ViaRequest> for Multipart {
    type Rejection = MultipartError;

    fn from_request(request: Request) -> Result<Self, Self::Rejection> {
        let boundary = boundary(request.content_type())?;
        let (body, limits) = request.into_body_and_limits();
        Ok(Multipart {
            parts: Parts::new(body, &boundary),
            limits,
            count: 0,
            failed: None,
        })
    }
}

/// The `boundary` parameter of a `multipart/form-data` media type (RFC 2046 §5.1.1: 1 to
/// 70 characters, possibly quoted).
fn boundary(content_type: Option<&str>) -> Result<String, MultipartError> {
    let media_type = content_type.map_or("", media_type);
    if !media_type.eq_ignore_ascii_case("multipart/form-data") {
        let reason = unsupported_media_type("an upload", "multipart/form-data", content_type);
        return Err(MultipartError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            reason,
        ));
    }
    let boundary = content_type
        .and_then(|content_type| media_type_parameter(content_type, "boundary"))
        .map(str::to_owned);
    let is_bchar = |c: char| c.is_ascii_alphanumeric() || "'()+_,-./:=? ".contains(c);
    match boundary {
        Some(boundary)
            if (1..=70).contains(&boundary.len())
                && boundary.chars().all(is_bchar)
                && !boundary.ends_with(' ') =>
        {
            Ok(boundary)
        }
        _ => Err(MultipartError::malformed(
            "the Content-Type has no valid boundary",
        )),
    }
}

impl Multipart {
    /// The next part, or `None` after the last. What is left unread of the previous part is
    /// skipped.
    ///
    /// ```
    /// fn names(mut multipart: cgi::Multipart) -> Result<String, cgi::MultipartError> {
    ///     let mut names = Vec::new();
    ///     while let Some(field) = multipart.next_field()? {
    ///         names.push(field.name().unwrap_or("").to_owned());
    ///     }
    ///     Ok(names.join(","))
    /// }
    /// let body = cgi::test::MultipartBody::new().text("a", "1").text("b", "2");
    /// assert_eq!(cgi::test::TestRequest::post("/").multipart(body).call(names).text(), "a,b");
    /// ```
    ///
    /// # Errors
    ///
    /// A malformed body (`400`), more parts or larger part headers than the [`Limits`]
    /// allow (`413`).
    pub fn next_field(&mut self) -> Result<Option<Field<'_>>, MultipartError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        match self.advance() {
            Ok(Some((headers, disposition))) => Ok(Some(Field {
                name: disposition.name,
                file_name: disposition.file_name,
                headers,
                size: 0,
                multipart: self,
            })),
            Ok(None) => Ok(None),
            Err(error) => {
                self.failed = Some(error.clone());
                Err(error)
            }
        }
    }

    fn advance(&mut self) -> Result<Option<(HeaderMap, disposition::Disposition)>, MultipartError> {
        let Some(headers) = self
            .parts
            .next_part(self.limits.get_max_part_headers())
            .map_err(MultipartError::from_parse)?
        else {
            return Ok(None);
        };
        self.count += 1;
        if self.count > self.limits.get_max_parts() {
            return Err(MultipartError::too_large(format!(
                "more than {} parts",
                self.limits.get_max_parts()
            )));
        }
        let disposition = headers
            .get(CONTENT_DISPOSITION)
            // Browsers send file and field names as raw UTF-8, which `to_str` refuses.
            .map(|value| disposition::parse(&String::from_utf8_lossy(value.as_bytes())))
            .ok_or_else(|| MultipartError::malformed("a part has no Content-Disposition"))?;
        Ok(Some((headers, disposition)))
    }
}

impl std::fmt::Debug for Multipart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multipart")
            .field("parts_read", &self.count)
            .finish_non_exhaustive()
    }
}

/// One part of a [`Multipart`] body: a form field or a file. Read its data with
/// [`Read`], or at once with [`bytes`](Field::bytes), [`text`](Field::text),
/// [`save_to`](Field::save_to) or [`into_upload`](Field::into_upload).
pub struct Field<'a> {
    multipart: &'a mut Multipart,
    headers: HeaderMap,
    name: Option<String>,
    file_name: Option<String>,
    size: u64,
}

impl Field<'_> {
    /// The form field's name (`name=` in `Content-Disposition`).
    ///
    /// ```
    /// fn first(mut m: cgi::Multipart) -> String {
    ///     m.next_field().ok().flatten().and_then(|f| f.name().map(str::to_owned)).unwrap_or_default()
    /// }
    /// let body = cgi::test::MultipartBody::new().text("email", "a@example.com");
    /// assert_eq!(cgi::test::TestRequest::post("/").multipart(body).call(first).text(), "email");
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The file name the client sent for a file field, as sent (untrusted; never use it as
    /// a path as it is). `Some("")` when the form's file input was left empty, or when the
    /// name came only as an RFC 8187 `filename*` in a charset other than UTF-8.
    ///
    /// ```
    /// fn file(mut m: cgi::Multipart) -> String {
    ///     m.next_field().ok().flatten().and_then(|f| f.file_name().map(str::to_owned)).unwrap_or_default()
    /// }
    /// let body = cgi::test::MultipartBody::new().file("f", "../x.txt", "text/plain", b"1");
    /// assert_eq!(cgi::test::TestRequest::post("/").multipart(body).call(file).text(), "../x.txt");
    /// ```
    pub fn file_name(&self) -> Option<&str> {
        self.file_name.as_deref()
    }

    /// The part's `Content-Type`, as sent; RFC 7578 makes `text/plain` the default.
    ///
    /// ```
    /// fn kind(mut m: cgi::Multipart) -> String {
    ///     m.next_field().ok().flatten().and_then(|f| f.content_type().map(str::to_owned)).unwrap_or_default()
    /// }
    /// let body = cgi::test::MultipartBody::new().file("f", "a.png", "image/png", b"1");
    /// assert_eq!(cgi::test::TestRequest::post("/").multipart(body).call(kind).text(), "image/png");
    /// ```
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
    }

    /// All the part's headers.
    ///
    /// ```
    /// fn count(mut m: cgi::Multipart) -> String {
    ///     m.next_field().ok().flatten().map_or(0, |f| f.headers().len()).to_string()
    /// }
    /// let body = cgi::test::MultipartBody::new().file("f", "a.png", "image/png", b"1");
    /// assert_eq!(cgi::test::TestRequest::post("/").multipart(body).call(count).text(), "2");
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Reads the whole part into memory, up to [`Limits::max_field_size`] (`413` beyond).
    ///
    /// ```
    /// fn first(mut m: cgi::Multipart) -> Result<Vec<u8>, cgi::MultipartError> {
    ///     match m.next_field()? { Some(field) => field.bytes(), None => Ok(Vec::new()) }
    /// }
    /// let body = cgi::test::MultipartBody::new().file("f", "a.bin", "application/octet-stream", b"\x00\x01");
    /// assert_eq!(cgi::test::TestRequest::post("/").multipart(body).call(first).body(), b"\x00\x01");
    /// ```
    ///
    /// # Errors
    ///
    /// Over the limit (`413`), or the body is malformed (`400`).
    pub fn bytes(mut self) -> Result<Vec<u8>, MultipartError> {
        let limit = self.multipart.limits.get_max_field_size();
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = self.read(&mut chunk).map_err(MultipartError::from_io)?;
            if n == 0 {
                return Ok(bytes);
            }
            if (bytes.len() + n) as u64 > limit {
                return Err(MultipartError::too_large(format!(
                    "the field is over {limit} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads the whole part as UTF-8 text, up to [`Limits::max_field_size`].
    ///
    /// ```
    /// fn first(mut m: cgi::Multipart) -> Result<String, cgi::MultipartError> {
    ///     match m.next_field()? { Some(field) => field.text(), None => Ok(String::new()) }
    /// }
    /// let body = cgi::test::MultipartBody::new().text("comment", "très bien");
    /// assert_eq!(cgi::test::TestRequest::post("/").multipart(body).call(first).text(), "très bien");
    /// ```
    ///
    /// # Errors
    ///
    /// Not UTF-8 (`400`), over the limit (`413`), or the body is malformed (`400`).
    pub fn text(self) -> Result<String, MultipartError> {
        let name = self.name.clone().unwrap_or_default();
        String::from_utf8(self.bytes()?)
            .map_err(|_| MultipartError::malformed(format!("the field `{name}` is not UTF-8 text")))
    }

    /// Writes the part to a file at `path` (created or truncated), streaming; returns its
    /// size. For a file you keep under a name you choose.
    ///
    /// ```
    /// fn save(mut m: cgi::Multipart) -> Result<String, cgi::MultipartError> {
    ///     let path = std::env::temp_dir().join(format!("cgikit-save-{}", std::process::id()));
    ///     let size = match m.next_field()? { Some(field) => field.save_to(&path)?, None => 0 };
    ///     let saved = std::fs::read(&path).unwrap();
    ///     std::fs::remove_file(&path).unwrap();
    ///     Ok(format!("{size} {}", String::from_utf8_lossy(&saved)))
    /// }
    /// let body = cgi::test::MultipartBody::new().file("f", "a.txt", "text/plain", b"hello");
    /// assert_eq!(cgi::test::TestRequest::post("/").multipart(body).call(save).text(), "5 hello");
    /// ```
    ///
    /// # Errors
    ///
    /// As for reading (`400`, `413`), or the file cannot be written (`500`); a partly
    /// written file is removed.
    pub fn save_to(self, path: impl AsRef<std::path::Path>) -> Result<u64, MultipartError> {
        let path = path.as_ref();
        let mut file =
            std::fs::File::create(path).map_err(|error| MultipartError::storage(&error))?;
        let copied = self.copy_into(&mut file);
        if copied.is_err() {
            let _ = std::fs::remove_file(path);
        }
        copied
    }

    /// Receives the part into a temporary file: an [`Upload`], deleted when dropped unless
    /// persisted.
    ///
    /// ```
    /// fn keep(mut m: cgi::Multipart) -> Result<String, cgi::MultipartError> {
    ///     let upload = m.next_field()?.expect("one part").into_upload()?;
    ///     Ok(format!("{:?} {}", upload.file_name(), upload.size()))
    /// }
    /// let body = cgi::test::MultipartBody::new().file("f", "a.txt", "text/plain", b"hello");
    /// assert_eq!(cgi::test::TestRequest::post("/").multipart(body).call(keep).text(), "Some(\"a.txt\") 5");
    /// ```
    ///
    /// # Errors
    ///
    /// As for reading (`400`, `413`), or the temporary file cannot be written (`500`).
    pub fn into_upload(self) -> Result<Upload, MultipartError> {
        let mut temp = TempFile::create().map_err(|error| MultipartError::storage(&error))?;
        let file_name = self.file_name.clone();
        let content_type = self.content_type().map(str::to_owned);
        let size = self.copy_into(temp.file_mut())?;
        Ok(Upload::new(file_name, content_type, size, temp))
    }

    fn copy_into(mut self, out: &mut dyn Write) -> Result<u64, MultipartError> {
        let mut chunk = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = self.read(&mut chunk).map_err(MultipartError::from_io)?;
            if n == 0 {
                return Ok(total);
            }
            out.write_all(&chunk[..n])
                .map_err(|error| MultipartError::storage(&error))?;
            total += n as u64;
        }
    }
}

impl Read for Field<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.multipart.parts.read_data(buf).map_err(|error| {
            let failure = MultipartError::from_parse(parser::io_to_parse(&error));
            self.multipart.failed = Some(failure.clone());
            io::Error::other(ReadFailure(failure))
        })?;
        self.size += n as u64;
        let limit = self.multipart.limits.get_max_file_size();
        if self.file_name.is_some() && self.size > limit {
            let failure = MultipartError::too_large(format!("a file is over {limit} bytes"));
            self.multipart.failed = Some(failure.clone());
            return Err(io::Error::other(ReadFailure(failure)));
        }
        Ok(n)
    }
}

impl std::fmt::Debug for Field<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("name", &self.name)
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type())
            .finish_non_exhaustive()
    }
}

/// An upload of `data`, for [`cgi::test::upload`](crate::test::upload).
pub(crate) fn test_upload(file_name: &str, data: &[u8]) -> Upload {
    let mut temp = TempFile::create().expect("a writable temporary directory");
    temp.file_mut()
        .write_all(data)
        .expect("a writable temporary directory");
    Upload::new(
        Some(file_name.to_owned()),
        Some("application/octet-stream".to_owned()),
        data.len() as u64,
        temp,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_utf8_names_are_read() {
        // Chrome and Firefox send names as raw UTF-8 in Content-Disposition.
        fn names(mut multipart: Multipart) -> Result<String, MultipartError> {
            let mut seen = Vec::new();
            while let Some(field) = multipart.next_field()? {
                seen.push(format!("{:?} {:?}", field.name(), field.file_name()));
            }
            Ok(seen.join(", "))
        }
        let body = crate::test::MultipartBody::new()
            .text("pr\u{e9}nom", "Ada")
            .file("cv", "r\u{e9}sum\u{e9}.pdf", "application/pdf", b"%PDF");
        let response = crate::test::TestRequest::post("/")
            .multipart(body)
            .call(names);
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
        assert_eq!(
            response.text(),
            "Some(\"pr\u{e9}nom\") None, Some(\"cv\") Some(\"r\u{e9}sum\u{e9}.pdf\")"
        );
    }

    #[test]
    fn boundaries_from_content_types() {
        assert_eq!(
            boundary(Some("multipart/form-data; boundary=abc")).unwrap(),
            "abc"
        );
        assert_eq!(
            boundary(Some(
                "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b:c\""
            ))
            .unwrap(),
            "a b:c"
        );
        let status = |content_type| boundary(content_type).unwrap_err().status().as_u16();
        assert_eq!(status(None), 415);
        assert_eq!(status(Some("application/x-www-form-urlencoded")), 415);
        assert_eq!(status(Some("multipart/form-data")), 400);
        assert_eq!(status(Some("multipart/form-data; boundary=")), 400);
        let too_long = format!("multipart/form-data; boundary={}", "x".repeat(71));
        assert_eq!(status(Some(&too_long)), 400);
        assert_eq!(status(Some("multipart/form-data; boundary=a\u{e9}")), 400);
    }
}
