//! What a handler service answers with: the core's CGI output, cut into its head and
//! the pieces of its body ([`Pieces`]) on the blocking thread that runs the handler, and
//! streamed to the caller as the response's body ([`ResponseBody`]).

use std::fmt;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::mpsc;

/// The body of a [`HandlerService`](super::HandlerService)'s response: what the handler's CGI output has after
/// its head, streamed as the handler writes it.
pub struct ResponseBody {
    pieces: Option<mpsc::Receiver<io::Result<Bytes>>>,
    length: Option<u64>,
}

impl ResponseBody {
    /// The pieces still to come (`None`: no body, as for HEAD), and the length the head
    /// declared.
    pub(crate) fn new(
        pieces: Option<mpsc::Receiver<io::Result<Bytes>>>,
        length: Option<u64>,
    ) -> Self {
        ResponseBody { pieces, length }
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

impl HttpBody for ResponseBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let Some(pieces) = &mut self.pieces else {
            return Poll::Ready(None);
        };
        match pieces.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(piece)) => Poll::Ready(Some(piece.map(Frame::data))),
            Poll::Ready(None) => {
                self.pieces = None;
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.is_none() || self.length == Some(0)
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.pieces, self.length) {
            (None, _) => SizeHint::with_exact(0),
            (Some(_), Some(length)) => SizeHint::with_exact(length),
            (Some(_), None) => SizeHint::default(),
        }
    }
}

/// The core's output, sent in pieces: the head once whole, then each write of the body.
pub(crate) struct Pieces {
    sender: mpsc::Sender<io::Result<Bytes>>,
    /// The head until its blank line has come; `None` after.
    head: Option<Vec<u8>>,
}

impl Pieces {
    pub(crate) fn new(sender: mpsc::Sender<io::Result<Bytes>>) -> Self {
        Pieces {
            sender,
            head: Some(Vec::new()),
        }
    }

    fn send(&self, piece: io::Result<Bytes>) -> io::Result<()> {
        self.sender
            .blocking_send(piece)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client has gone"))
    }

    /// After the exchange: a body that failed midway makes the caller's body fail too.
    pub(crate) fn finish(mut self, answered: io::Result<()>) {
        if let Some(head) = self.head.take() {
            let _ = self.send(Ok(Bytes::from(head)));
        }
        if let Err(error) = answered
            && error.kind() != io::ErrorKind::BrokenPipe
        {
            let _ = self.send(Err(error));
        }
    }
}

impl Write for Pieces {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(head) = &mut self.head else {
            self.send(Ok(Bytes::copy_from_slice(buf)))?;
            return Ok(buf.len());
        };
        head.extend_from_slice(buf);
        if let Some(end) = head.windows(4).position(|window| window == b"\r\n\r\n") {
            let body = head.split_off(end + 4);
            let head = self.head.take().unwrap_or_default();
            self.send(Ok(Bytes::from(head)))?;
            if !body.is_empty() {
                self.send(Ok(Bytes::from(body)))?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
