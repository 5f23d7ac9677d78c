//! An `async fn` script: checks whether some TCP services answer, all at once, each
//! within a time limit, with tokio's networking and timers.
//!
//! Try it: `cargo run -p cgikit-examples-tokio --example async_handler`. The services to
//! check come from the `CHECK` variable (`name=host:port,...`; a server sets it with
//! `SetEnv` or `fastcgi_param`), and `?timeout_ms=` shortens the wait.

use std::time::Duration;

use cgi::{Query, StatusCode};
use tokio::net::TcpStream;
use tokio::time::timeout;

#[derive(serde::Deserialize)]
struct Options {
    #[serde(default = "default_timeout")]
    timeout_ms: u64,
}

fn default_timeout() -> u64 {
    1000
}

#[cgi::main]
async fn status(Query(options): Query<Options>) -> (StatusCode, String) {
    let limit = Duration::from_millis(options.timeout_ms.min(5000));
    let services = std::env::var("CHECK").unwrap_or_else(|_| "web=127.0.0.1:80".to_owned());
    let checks = services
        .split(',')
        .filter_map(|entry| entry.split_once('='))
        .map(|(name, address)| async move {
            let state = match timeout(limit, TcpStream::connect(address)).await {
                Ok(Ok(_)) => "up".to_owned(),
                Ok(Err(error)) => format!("down ({})", error.kind()),
                Err(_) => format!("no answer within {} ms", limit.as_millis()),
            };
            format!("{name} ({address}): {state}\n")
        });
    let lines: Vec<String> = futures_util::future::join_all(checks).await;
    let all_up = lines.iter().all(|line| line.ends_with(": up\n"));
    let status = if all_up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, lines.concat())
}
