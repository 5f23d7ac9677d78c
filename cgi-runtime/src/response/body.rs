//! The bytes of a response.

use std::borrow::Cow;

/// A response body: bytes, and whether they are text (for the default `Content-Type`).
///
/// Made from `String`, `&'static str`, `Vec<u8>` or `&'static [u8]`.
///
/// ```
/// let text: cgi::Body = "hello".into();
/// let bytes: cgi::Body = vec![0xFFu8, 0xD8].into();
/// assert_eq!(text.as_bytes(), b"hello");
/// assert_eq!(bytes.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Body {
    bytes: Cow<'static, [u8]>,
    is_text: bool,
}

impl Body {
    /// An empty body.
    ///
    /// ```
    /// assert!(cgi::Body::empty().is_empty());
    /// ```
    pub fn empty() -> Self {
        Body {
            bytes: Cow::Borrowed(&[]),
            is_text: true,
        }
    }

    /// The bytes.
    ///
    /// ```
    /// assert_eq!(cgi::Body::from("abc").as_bytes(), b"abc");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The length in bytes.
    ///
    /// ```
    /// assert_eq!(cgi::Body::from("abc").len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether there are no bytes.
    ///
    /// ```
    /// assert!(!cgi::Body::from("abc").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(crate) fn default_content_type(&self) -> &'static str {
        if self.is_text {
            "text/plain; charset=utf-8"
        } else {
            "application/octet-stream"
        }
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body {
            bytes: Cow::Owned(text.into_bytes()),
            is_text: true,
        }
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Body {
            bytes: Cow::Borrowed(text.as_bytes()),
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
            bytes: Cow::Owned(bytes),
            is_text: false,
        }
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Self {
        Body {
            bytes: Cow::Borrowed(bytes),
            is_text: false,
        }
    }
}
