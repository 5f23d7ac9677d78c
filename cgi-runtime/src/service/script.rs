//! A tower service answering a CGI (FastCGI, SCGI) request: the request made an
//! `http::Request`, the service called on the runtime, its `http::Response` made a
//! [`Response`] whose body streams frame by frame. Everything else (limits, HEAD, header
//! checks, panics, log lines) is the core's, as for a handler.

use std::error::Error as StdError;
use std::io::{self, Read};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};

use bytes::Buf;
use http::Method;
use http::header::CONTENT_LENGTH;
use http_body::Body as HttpBody;
use tower_service::Service;

use super::{CgiVariables, Incoming, ScriptName};
use crate::exchange::{one_line, panic_message};
use crate::executor::block_on;
use crate::extract::{FromRequest, FromRequestParts, PathInfo};
use crate::rejection::BodyRejection;
use crate::request::Request;
use crate::response::{Body, IntoResponse, Response};

/// The error type tower services box theirs into.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// A service shared by the threads that answer requests: each request gets a clone, made
/// under the lock (so the service need not be `Sync`, only `Send`).
pub(crate) struct Shared<S>(Mutex<S>);

impl<S: Clone> Shared<S> {
    pub(crate) fn new(service: S) -> Self {
        Shared(Mutex::new(service))
    }

    fn clone_service(&self) -> S {
        // Cloning cannot leave the service half-changed: a poisoned lock is still usable.
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Answers `request` with a clone of the service. Runs on the thread that answers the
/// request, outside any runtime.
pub(crate) fn answer<S, ResBody>(shared: &Shared<S>, request: Request) -> Response
where
    S: Service<http::Request<Incoming>, Response = http::Response<ResBody>> + Clone,
    S::Error: Into<BoxError>,
    ResBody: HttpBody + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    let head_only = request.method() == Method::HEAD;
    let request = match to_http_request(request) {
        Ok(request) => request,
        Err(rejection) => return rejection.into_response(),
    };
    let mut service = shared.clone_service();
    let called = block_on(async move {
        std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
        service.call(request).await
    });
    match called {
        Ok(response) => from_http_response(response, head_only),
        Err(error) => Response::failed(format!("the service failed: {}", error.into())),
    }
}

/// The request as the service sees it: method, the full URI the client asked for,
/// version, headers, the whole body; and in its extensions [`ScriptName`], [`PathInfo`]
/// (when set), [`RemoteAddr`](crate::RemoteAddr) (when known) and every variable
/// ([`CgiVariables`]).
pub(crate) fn to_http_request(request: Request) -> Result<http::Request<Incoming>, BodyRejection> {
    let vars = CgiVariables::new(
        request
            .vars()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect(),
    );
    let script_name = ScriptName(request.script_name().unwrap_or_default().to_owned());
    let path_info = PathInfo::from_request_parts(&request).ok();
    // The method, URI, version, headers and remote address, and the body read whole.
    let converted = http::Request::<Vec<u8>>::from_request(request)?;
    let (mut parts, body) = converted.into_parts();
    parts.extensions.insert(script_name);
    if let Some(path_info) = path_info {
        parts.extensions.insert(path_info);
    }
    parts.extensions.insert(vars);
    Ok(http::Request::from_parts(parts, Incoming::from(body)))
}

/// The most of a body of known size read whole before the response is written.
const IN_MEMORY: u64 = 64 * 1024;

/// The service's response for the CGI writer. A body of known size up to [`IN_MEMORY`]
/// (most pages, JSON) is read whole first, so it goes out with the head in one write, and
/// one that fails is still a clean `500`; any other body is read frame by frame while the
/// response is written. Its length is the body's exact size when known, else its
/// `Content-Length`. A HEAD answer keeps the `Content-Length` the service declared (axum
/// gives a GET route's length and an empty body), since no body is written anyway.
pub(crate) fn from_http_response<ResBody>(
    response: http::Response<ResBody>,
    head_only: bool,
) -> Response
where
    ResBody: HttpBody + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    let (mut parts, body) = response.into_parts();
    let declared = parts
        .headers
        .remove(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    let exact = body.size_hint().exact();
    let length = if head_only {
        declared.or(exact)
    } else {
        exact.or(declared)
    };
    let mut frames = Frames {
        body: Box::pin(body),
        current: None,
    };
    let body = match exact {
        Some(0) if !head_only => Body::empty(),
        Some(size) if size <= IN_MEMORY && !head_only => {
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            if let Err(error) = frames.read_to_end(&mut bytes) {
                return Response::failed(format!("the response body failed: {error}"));
            }
            Body::from(bytes)
        }
        _ => Body::from_reader(frames, length),
    };
    let mut converted = Response::builder().status(parts.status).body(body);
    *converted.headers_mut() = parts.headers;
    converted
}

/// A response body as a reader: each read takes what is left of the current frame, or
/// waits on the runtime for the next one. Trailers are dropped (CGI has none).
struct Frames<B: HttpBody> {
    body: Pin<Box<B>>,
    current: Option<B::Data>,
}

impl<B> Read for Frames<B>
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(data) = &mut self.current
                && data.has_remaining()
            {
                let count = data.remaining().min(buf.len());
                data.copy_to_slice(&mut buf[..count]);
                return Ok(count);
            }
            let body = &mut self.body;
            // A panic in the body's stream ends the body like an error: the headers are out.
            let next = panic::catch_unwind(AssertUnwindSafe(|| {
                block_on(std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)))
            }));
            match next {
                Err(payload) => {
                    return Err(io::Error::other(format!(
                        "it panicked: {}",
                        one_line(panic_message(&*payload))
                    )));
                }
                Ok(None) => return Ok(0),
                Ok(Some(Err(error))) => {
                    return Err(io::Error::other(
                        one_line(&error.into().to_string()).into_owned(),
                    ));
                }
                Ok(Some(Ok(frame))) => self.current = frame.into_data().ok(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(response: Response) -> (Option<u64>, Vec<u8>) {
        let mut out = Vec::new();
        let head_only = false;
        crate::response::write::write_cgi(response, head_only, &mut out, &mut |_| {}).unwrap();
        let end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&out[..end]).into_owned();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .map(|length| length.parse().unwrap());
        (length, out[end + 4..].to_vec())
    }

    #[test]
    fn head_keeps_the_declared_length_of_an_empty_body() {
        let response = http::Response::builder()
            .header("content-length", "24")
            .body(axum::body::Body::empty())
            .unwrap();
        let converted = from_http_response(response, true);
        assert_eq!(converted.body().len(), Some(24));
        // Not for a GET: the body's own size wins over a header that disagrees.
        let response = http::Response::builder()
            .header("content-length", "24")
            .body(axum::body::Body::from("four"))
            .unwrap();
        assert_eq!(from_http_response(response, false).body().len(), Some(4));
    }

    #[test]
    fn frames_are_read_across_small_reads_and_streamed_without_a_length() {
        let pieces: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
            Ok(bytes::Bytes::from_static(b"abc")),
            Ok(bytes::Bytes::new()),
            Ok(bytes::Bytes::from_static(b"defgh")),
        ];
        let body = axum::body::Body::from_stream(futures_util::stream::iter(pieces));
        let response = from_http_response(http::Response::new(body), false);
        assert_eq!(response.body().as_bytes(), None, "streamed, not in memory");
        assert_eq!(body_of(response), (None, b"abcdefgh".to_vec()));

        let mut frames = Frames {
            body: Box::pin(axum::body::Body::from("0123456789")),
            current: None,
        };
        let mut small = [0u8; 4];
        let mut read = Vec::new();
        loop {
            match frames.read(&mut small).unwrap() {
                0 => break,
                count => read.push(small[..count].to_vec()),
            }
        }
        assert_eq!(read, [&b"0123"[..], b"4567", b"89"]);
    }

    #[test]
    fn a_small_body_of_known_size_is_in_memory() {
        let response = from_http_response(http::Response::new(axum::body::Body::from("hi")), false);
        assert_eq!(response.body().as_bytes(), Some(&b"hi"[..]));
    }
}
