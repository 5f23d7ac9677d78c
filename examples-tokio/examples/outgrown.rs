//! Outgrowing CGI and FastCGI: the same handler that a `#[cgi::main]` script runs, served
//! by `axum::serve` as an ordinary HTTP service, next to routes written for axum.
//!
//! Try it: `cargo run -p cgikit-examples-tokio --example outgrown -- 127.0.0.1:3000`, then
//! `curl 'http://127.0.0.1:3000/greet?name=Ada'`.

use cgi::{Html, Query};

#[derive(serde::Deserialize)]
struct Greeting {
    name: String,
}

/// Written for cgikit: under `#[cgi::main]` this was the whole script.
fn greet(Query(greeting): Query<Greeting>) -> Html<String> {
    Html(format!(
        "<p>Hello, {}!</p>\n",
        cgi::html::escape(&greeting.name)
    ))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let app = axum::Router::new()
        .route_service("/greet", cgi::service::from_handler(greet))
        .route("/health", axum::routing::get(|| async { "ok\n" }));
    let listener = tokio::net::TcpListener::bind(&address).await?;
    eprintln!("serving http://{}/greet", listener.local_addr()?);
    axum::serve(listener, app).await
}
