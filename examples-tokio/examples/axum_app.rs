//! An axum app, written as axum apps are, deployed as a CGI script (or FastCGI, or SCGI)
//! by one line: `cgi::service::run(app)`.
//!
//! Try it: `cargo run -p cgikit-examples-tokio --example axum_app -- --serve`, then open
//! http://127.0.0.1:8000/. Deploy it: copy `target/release/examples/axum_app` into
//! `cgi-bin/` (CGI), or run it with `--fastcgi unix:/run/app.sock` behind nginx.
//!
//! Its routes are relative to the script (`StripScriptName`), so it answers at
//! `/cgi-bin/axum_app/hello/Ada` as well as at `/hello/Ada` under FastCGI at the root;
//! its links are built from `ScriptName`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Extension, Json, Router};
use cgi::service::{ScriptName, StripScriptName};
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};

/// What every request can see. Under CGI each request is a new process, so `served`
/// counts to 1; under FastCGI it counts the process's requests.
struct AppState {
    site: &'static str,
    served: AtomicU64,
}

/// The app, as axum apps are written (public for the benchmark that serves it over HTTP).
pub(crate) fn app() -> Router {
    let state = Arc::new(AppState {
        site: "cgikit + axum",
        served: AtomicU64::new(0),
    });
    Router::new()
        .route("/", get(home))
        .route("/hello/{name}", get(hello))
        .route("/search", get(search))
        .route("/api/items/{id}", get(item))
        .route("/guestbook", get(guestbook_form).post(sign_guestbook))
        .route("/events", get(events))
        .route("/boom", get(boom))
        .fallback(not_found)
        .with_state(state)
}

async fn home(
    State(state): State<Arc<AppState>>,
    Extension(script): Extension<ScriptName>,
) -> Html<String> {
    let served = state.served.fetch_add(1, Ordering::Relaxed) + 1;
    Html(format!(
        "<h1>{}</h1>\n<ul>\n<li><a href=\"{}\">hello</a></li>\n<li><a href=\"{}\">search</a></li>\n\
         <li><a href=\"{}\">an item as JSON</a></li>\n<li><a href=\"{}\">guestbook</a></li>\n\
         <li><a href=\"{}\">events</a></li>\n</ul>\n<p>Requests served by this process: {served}</p>\n",
        state.site,
        script.link("/hello/Ada"),
        script.link("/search?q=rust"),
        script.link("/api/items/7"),
        script.link("/guestbook"),
        script.link("/events"),
    ))
}

async fn hello(Path(name): Path<String>) -> String {
    format!("Hello, {name}!\n")
}

#[derive(Deserialize)]
struct Search {
    q: String,
    #[serde(default = "first_page")]
    page: u32,
}

fn first_page() -> u32 {
    1
}

async fn search(Query(search): Query<Search>) -> String {
    format!("results for {:?}, page {}\n", search.q, search.page)
}

#[derive(Serialize)]
struct Item {
    id: u32,
    name: String,
}

async fn item(Path(id): Path<u32>) -> Result<Json<Item>, StatusCode> {
    if id == 0 {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok(Json(Item {
        id,
        name: format!("item {id}"),
    }))
}

async fn guestbook_form(Extension(script): Extension<ScriptName>) -> Html<String> {
    Html(format!(
        "<form method=\"post\" action=\"{}\"><input name=\"name\"><textarea name=\"message\"></textarea>\
         <button>Sign</button></form>\n",
        script.link("/guestbook")
    ))
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    message: String,
}

async fn sign_guestbook(Form(entry): Form<Entry>) -> Html<String> {
    Html(format!(
        "<p>Thank you, {}: {} characters.</p>\n",
        cgi::html::escape(&entry.name),
        entry.message.chars().count()
    ))
}

/// Three server-sent events, 200 ms apart: each reaches the browser as it is sent.
async fn events() -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let ticks = stream::unfold(1u32, |n| async move {
        if n > 3 {
            return None;
        }
        if n > 1 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Some((Ok(Event::default().data(format!("tick {n}"))), n + 1))
    });
    Sse::new(ticks)
}

/// What a bug looks like: the client gets a generic 500, the error log the message.
async fn boom() -> &'static str {
    panic!("the boom route always fails")
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "no such page\n")
}

fn main() {
    cgi::service::run(StripScriptName::new(app()));
}
