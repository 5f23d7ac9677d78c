//! The bytes of a response: in memory, or streamed from a reader.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

/// A response body: bytes in memory, or a stream read in chunks while it is written
/// (a file download), plus whether it is text (for the default `Content-Type`).
///
/// Made from `String`, `&'static str`, `Vec<u8>`, `&'static [u8]`, [`Bytes`](crate::Bytes)
/// or a [`std::fs::File`]; [`Body::from_reader`] streams any reader.
///
/// ```
/// let text: cgi::Body = "hello".into();
/// let bytes: cgi::Body = vec![0xFFu8, 0xD8].into();
/// assert_eq!(text.as_bytes(), Some(&b"hello"[..]));
/// assert_eq!(bytes.len(), Some(2));
/// ```
pub struct Body {
    content: Content,
    is_text: bool,
}

enum Content {
    Memory(Cow<'static, [u8]>),
    Stream {
        reader: Box<dyn Read + Send>,
        length: Option<u64>,
    },
}

impl Body {
    /// An empty body.
    ///
    /// ```
    /// assert!(cgi::Body::empty().is_empty());
    /// ```
    pub fn empty() -> Self {
        Body {
            content: Content::Memory(Cow::Borrowed(&[])),
            is_text: true,
        }
    }

    /// A body streamed from `reader` while the response is written, in chunks, so memory
    /// stays bounded whatever its size. With a `length`, the response has a
    /// `Content-Length` and exactly that many bytes are sent; without one the server
    /// frames the response itself. Sent as `application/octet-stream` unless a
    /// `Content-Type` is set.
    ///
    /// ```
    /// use cgi::{Body, Response};
    ///
    /// fn download() -> Response {
    ///     let data = std::io::repeat(b'x').take(1 << 20); // stands for a large file
    ///     Response::builder()
    ///         .header("Content-Type", "text/plain")
    ///         .body(Body::from_reader(data, Some(1 << 20)))
    /// }
    /// # use std::io::Read;
    ///
    /// let response = cgi::test::TestRequest::get("/").call(download);
    /// assert_eq!(response.header("content-length"), Some("1048576"));
    /// assert_eq!(response.body().len(), 1 << 20);
    /// ```
    pub fn from_reader(reader: impl Read + Send + 'static, length: Option<u64>) -> Self {
        Body {
            content: Content::Stream {
                reader: Box::new(reader),
                length,
            },
            is_text: false,
        }
    }

    /// The bytes, if the body is in memory (`None` for a stream).
    ///
    /// ```
    /// assert_eq!(cgi::Body::from("abc").as_bytes(), Some(&b"abc"[..]));
    /// ```
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.content {
            Content::Memory(bytes) => Some(bytes),
            Content::Stream { .. } => None,
        }
    }

    /// The length in bytes, if known.
    ///
    /// ```
    /// assert_eq!(cgi::Body::from("abc").len(), Some(3));
    /// assert_eq!(cgi::Body::from_reader(std::io::empty(), None).len(), None);
    /// ```
    pub fn len(&self) -> Option<u64> {
        match &self.content {
            Content::Memory(bytes) => Some(bytes.len() as u64),
            Content::Stream { length, .. } => *length,
        }
    }

    /// Whether the body is known to be empty.
    ///
    /// ```
    /// assert!(!cgi::Body::from("abc").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    pub(crate) fn default_content_type(&self) -> &'static str {
        if self.is_text {
            "text/plain; charset=utf-8"
        } else {
            "application/octet-stream"
        }
    }

    pub(crate) fn into_content(self) -> BodyContent {
        match self.content {
            Content::Memory(bytes) => BodyContent::Memory(bytes),
            Content::Stream { reader, length } => BodyContent::Stream { reader, length },
        }
    }
}

/// What the writer sends.
pub(crate) enum BodyContent {
    Memory(Cow<'static, [u8]>),
    Stream {
        reader: Box<dyn Read + Send>,
        length: Option<u64>,
    },
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.content {
            Content::Memory(bytes) => f.debug_struct("Body").field("len", &bytes.len()).finish(),
            Content::Stream { length, .. } => {
                f.debug_struct("Body").field("stream_len", length).finish()
            }
        }
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body {
            content: Content::Memory(Cow::Owned(text.into_bytes())),
            is_text: true,
        }
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Body {
            content: Content::Memory(Cow::Borrowed(text.as_bytes())),
            is_text: true,
        }
    }
}

impl From<Cow<'static, str>> for Body {
    fn from(text: Cow<'static, str>) -> Self {
        match text {
            Cow::Borrowed(text) => text.into(),
            Cow::Owned(text) => text.into(),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body {
            content: Content::Memory(Cow::Owned(bytes)),
            is_text: false,
        }
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Self {
        Body {
            content: Content::Memory(Cow::Borrowed(bytes)),
            is_text: false,
        }
    }
}

impl From<bytes::Bytes> for Body {
    fn from(bytes: bytes::Bytes) -> Self {
        Vec::from(bytes).into()
    }
}

/// Streams the file, with its length from the file's metadata.
///
/// ```no_run
/// fn report() -> std::io::Result<cgi::Response> {
///     let file = std::fs::File::open("/srv/reports/2026.pdf")?;
///     Ok(cgi::Response::builder().header("Content-Type", "application/pdf").body(file))
/// }
/// ```
impl From<std::fs::File> for Body {
    fn from(file: std::fs::File) -> Self {
        let length = file
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map(|metadata| metadata.len());
        Body::from_reader(file, length)
    }
}
