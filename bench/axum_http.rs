//! The `axum_app` example's Router, unchanged, served over HTTP by `axum::serve`: what
//! bench/gateways.sh compares it with as FastCGI and as CGI.

#[path = "../examples-tokio/examples/axum_app.rs"]
#[allow(dead_code)] // its `main` runs it as a script; only `app` is used here
mod axum_app;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    eprintln!("serving http://{}/", listener.local_addr()?);
    axum::serve(listener, axum_app::app()).await
}
