//! Outgrowing CGI and FastCGI: the same handler that a `#[cgi::main]` script runs, served
//! by `axum::serve` as an ordinary HTTP service, next to routes written for axum.
//!
//! Try it: `cargo run -p cgikit-examples-tokio --example outgrown -- 127.0.0.1:3000`, then
//! `curl 'http://127.0.0.1:3000/greet?name=Ada'`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use cgi::{Html, Query, RemoteAddr};

#[derive(serde::Deserialize)]
struct Greeting {
    name: String,
}

/// Written for cgikit: under `#[cgi::main]` this was the whole script.
fn greet(Query(greeting): Query<Greeting>, client: Option<RemoteAddr>) -> Html<String> {
    let from = client.map_or_else(|| "somewhere".to_owned(), |client| client.ip.to_string());
    Html(format!(
        "<p>Hello, {}, from {from}!</p>\n",
        cgi::html::escape(&greeting.name)
    ))
}

/// Hands axum's peer address to cgikit handlers, as `REMOTE_ADDR` under CGI.
async fn client_address(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    request.extensions_mut().insert(RemoteAddr {
        ip: peer.ip(),
        port: Some(peer.port()),
    });
    next.run(request).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let app = axum::Router::new()
        .route_service("/greet", cgi::service::from_handler(greet))
        .route("/health", axum::routing::get(|| async { "ok\n" }))
        .layer(middleware::from_fn(client_address));
    let listener = tokio::net::TcpListener::bind(&address).await?;
    eprintln!("serving http://{}/greet", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
