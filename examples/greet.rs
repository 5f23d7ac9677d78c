//! A typed query string and an HTML answer that escapes what the visitor sent.
//!
//! Try it: `cargo run --example greet -- '/?name=Ada'` (or `-- name='<b>Ada</b>'` to see
//! the escaping). Without `name`, the script answers `400 Bad Request` naming the field.

use cgi::{Html, Query};

#[derive(serde::Deserialize)]
struct Greeting {
    name: String,
    /// Optional: `?name=Ada&greeting=Bonjour`.
    greeting: Option<String>,
}

#[cgi::main]
fn greet(Query(greeting): Query<Greeting>) -> Html<String> {
    let salutation = greeting.greeting.as_deref().unwrap_or("Hello");
    Html(format!(
        "<!DOCTYPE html>\n<title>Greeting</title>\n<p>{}, {}!</p>\n",
        cgi::html::escape(salutation),
        cgi::html::escape(&greeting.name),
    ))
}
