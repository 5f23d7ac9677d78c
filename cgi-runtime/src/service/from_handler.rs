//! `from_handler`: a cgikit handler as a tower service.
//!
//! The HTTP request becomes CGI variables and a body, as a web server makes them; the
//! core answers on tokio's blocking pool (handlers block: they read bodies and files
//! with `std::io`); the CGI output it writes is read back as a web server reads it, and
//! streamed to the caller as it comes. So the answer is the one the handler gives under
//! CGI, byte for byte.

use std::convert::Infallible;
use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode, Version};
use http_body::Body as HttpBody;
use tokio::sync::mpsc;
use tower_service::Service;

use super::BoxError;
use super::handler_output::{Pieces, ResponseBody};
use crate::exchange::{Exchange, answer};
use crate::extract::RemoteAddr;
use crate::handler::Handler;
use crate::host::cgi_output::{self, Output};
use crate::host::{HeaderPolicy, Host, HttpRequest, cgi_variables};
use crate::limits::Limits;
use crate::request::Leftover;

/// Makes a handler (sync or `async`, with its extractors) a tower service: mount it in an
/// axum `Router` with `route_service`, or serve it with `axum::serve` or hyper. It answers
/// exactly as under CGI: the same status, headers and body.
///
/// The request's body is read within the handler's [`Limits`] (a larger one is answered
/// `413`); the client's address (`REMOTE_ADDR`) comes from a
/// [`cgi::RemoteAddr`](crate::RemoteAddr) or `SocketAddr` in the request's extensions:
/// under axum, a middleware copies `ConnectInfo` there (the `outgrown` example shows
/// one). Must be polled inside a tokio runtime.
///
/// ```
/// use cgi::{Query, Html};
/// use tower_service::Service as _;
///
/// #[derive(serde::Deserialize)]
/// struct Greeting { name: String }
///
/// fn greet(Query(greeting): Query<Greeting>) -> Html<String> {
///     Html(format!("<p>Hello, {}!</p>", cgi::html::escape(&greeting.name)))
/// }
///
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let response = runtime.block_on(async {
///     let request = cgi::http::Request::get("/?name=Ada").body(String::new()).unwrap();
///     cgi::service::from_handler(greet).call(request).await.unwrap()
/// });
/// assert_eq!(response.status(), cgi::StatusCode::OK);
/// assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
/// assert_eq!(response.headers()["content-length"], "18"); // <p>Hello, Ada!</p>
/// ```
pub fn from_handler<H, T>(handler: H) -> HandlerService<H, T>
where
    H: Handler<T> + Clone + Send + 'static,
{
    HandlerService {
        handler,
        limits: Limits::default(),
        arguments: PhantomData,
    }
}

/// A handler as a tower service; from [`from_handler`].
pub struct HandlerService<H, T> {
    handler: H,
    limits: Limits,
    arguments: PhantomData<fn() -> T>,
}

impl<H, T> HandlerService<H, T> {
    /// Answers with other [`Limits`] (what `#[cgi::main(max_body = ...)]` sets).
    ///
    /// ```
    /// use tower_service::Service as _;
    /// let mut service = cgi::service::from_handler(|body: String| body)
    ///     .limits(cgi::Limits::default().max_body(4));
    /// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let request = cgi::http::Request::post("/").body("too long".to_owned()).unwrap();
    /// let response = runtime.block_on(service.call(request)).unwrap();
    /// assert_eq!(response.status(), cgi::StatusCode::PAYLOAD_TOO_LARGE);
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

impl<H: Clone, T> Clone for HandlerService<H, T> {
    fn clone(&self) -> Self {
        HandlerService {
            handler: self.handler.clone(),
            limits: self.limits.clone(),
            arguments: PhantomData,
        }
    }
}

impl<H, T> fmt::Debug for HandlerService<H, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerService")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<H, T, B> Service<http::Request<B>> for HandlerService<H, T>
where
    H: Handler<T> + Clone + Send + 'static,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let handler = self.handler.clone();
        let limits = self.limits.clone();
        Box::pin(async move { Ok(respond(handler, limits, request).await) })
    }
}

/// How many pieces of the answer may wait for the caller to take them.
const PIECES_IN_FLIGHT: usize = 4;

async fn respond<H, T, B>(
    handler: H,
    limits: Limits,
    request: http::Request<B>,
) -> http::Response<ResponseBody>
where
    H: Handler<T> + Send + 'static,
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    let body = match read_body(body, limits.get_max_body()).await {
        Ok(body) => body,
        Err(error) => {
            // The client stopped sending: nobody is left to read an answer.
            eprintln!("cgikit: reading the request body failed: {}", error.into());
            return plain(
                StatusCode::BAD_REQUEST,
                "The request body could not be read.\n",
            );
        }
    };
    let vars = variables(&parts, &body);
    let head_only = parts.method == http::Method::HEAD;
    let (sender, mut pieces) = mpsc::channel(PIECES_IN_FLIGHT);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut output = Pieces::new(sender);
        let exchange = Exchange {
            program: &"cgikit",
            input: Box::new(io::Cursor::new(body)),
            output: &mut output,
            log: &mut io::stderr(),
            panic_hook_logs: false,
            leftover: Leftover::Discard,
        };
        let answered = crate::executor::on_handle(runtime, || {
            answer(vars, exchange, &limits, |request| handler.call(request))
        });
        output.finish(answered);
    });
    let head = match pieces.recv().await {
        Some(Ok(head)) => head,
        // The core always writes a head; only a panic outside the handler gets here.
        _ => return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n"),
    };
    from_cgi_head(&head, head_only, pieces)
}

/// The body read whole, or up to one byte past `max` (the core answers `413`).
async fn read_body<B: HttpBody>(body: B, max: u64) -> Result<Vec<u8>, B::Error> {
    let mut body = std::pin::pin!(body);
    let mut bytes = Vec::new();
    while (bytes.len() as u64) <= max {
        match std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            None => break,
            Some(frame) => {
                if let Ok(mut data) = frame?.into_data() {
                    while bytes::Buf::has_remaining(&data) {
                        let chunk = bytes::Buf::chunk(&data);
                        bytes.extend_from_slice(chunk);
                        let read = chunk.len();
                        bytes::Buf::advance(&mut data, read);
                    }
                }
            }
        }
    }
    Ok(bytes)
}

/// The variables a web server would pass: the script at the root (`SCRIPT_NAME` empty,
/// `PATH_INFO` the whole path), headers as Apache passes them (`Proxy` dropped), the body's
/// length as read.
fn variables(parts: &http::request::Parts, body: &[u8]) -> Vec<(OsString, OsString)> {
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let protocol = match parts.version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let remote = parts
        .extensions
        .get::<RemoteAddr>()
        .map(|addr| (addr.ip, addr.port))
        .or_else(|| {
            parts
                .extensions
                .get::<SocketAddr>()
                .map(|addr| (addr.ip(), Some(addr.port())))
        });
    let host = Host {
        software: "cgikit",
        headers: HeaderPolicy::Faithful,
        server_name: None,
        local: SocketAddr::from(([127, 0, 0, 1], 80)),
        remote_addr: remote.map(|(ip, _)| ip),
        remote_port: remote.and_then(|(_, port)| port),
        path: None,
    };
    let has_body = !body.is_empty() || parts.headers.contains_key(http::header::CONTENT_LENGTH);
    let request = HttpRequest {
        method: parts.method.as_str(),
        target,
        protocol,
        headers: &headers,
        content_length: has_body.then_some(body.len() as u64),
    };
    cgi_variables(&host, &request)
}

/// The CGI head read back as a web server reads it, and the rest of the output as the body.
fn from_cgi_head(
    head: &[u8],
    head_only: bool,
    pieces: mpsc::Receiver<io::Result<Bytes>>,
) -> http::Response<ResponseBody> {
    let (status, headers) = match cgi_output::parse(head) {
        Ok(Output::Document {
            status, headers, ..
        }) => (status, headers),
        // No web server to fetch the path: the client is sent there instead.
        Ok(Output::LocalRedirect(location)) => {
            (302, vec![("Location".to_owned(), location.into_bytes())])
        }
        Err(reason) => {
            eprintln!("cgikit: the handler's output is not CGI: {reason}");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n");
        }
    };
    let length = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| std::str::from_utf8(value).ok()?.parse().ok());
    let mut response =
        http::Response::new(ResponseBody::new((!head_only).then_some(pieces), length));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        // The core wrote them after checking them: they parse.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

fn plain(status: StatusCode, text: &'static str) -> http::Response<ResponseBody> {
    let (sender, pieces) = mpsc::channel(1);
    let _ = sender.try_send(Ok(Bytes::from_static(text.as_bytes())));
    let mut response =
        http::Response::new(ResponseBody::new(Some(pieces), Some(text.len() as u64)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
