//! `Incoming`: the request body a service gets.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

/// The body of the request a service gets: read whole, within the script's body limit
/// ([`Limits::max_body`](crate::Limits::max_body); a larger one was answered `413` before
/// the service ran), and handed over as one frame.
///
/// ```
/// use http_body::Body as _;
/// let body = cgi::service::Incoming::from(b"a=1".to_vec());
/// assert_eq!(body.size_hint().exact(), Some(3));
/// ```
#[derive(Debug, Default)]
pub struct Incoming {
    bytes: Option<Bytes>,
}

impl From<Vec<u8>> for Incoming {
    fn from(bytes: Vec<u8>) -> Self {
        Incoming {
            bytes: (!bytes.is_empty()).then(|| Bytes::from(bytes)),
        }
    }
}

impl http_body::Body for Incoming {
    type Data = Bytes;
    // Read before the service runs, so it cannot fail any more.
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.bytes.take().map(|bytes| Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.bytes.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.bytes.as_ref().map_or(0, |bytes| bytes.len() as u64))
    }
}
