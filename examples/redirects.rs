//! Every way to send the browser elsewhere, and what servers do with each.
//!
//! - `Redirect::to` (303 See Other): after a POST, the browser GETs the new page.
//! - `Redirect::found` (302 Found): the historical one; browsers turn a POST into a GET.
//! - `Redirect::temporary` (307): the browser repeats the same method and body.
//! - `Redirect::permanent` (308): the same, and it may remember the move.
//! - `LocalRedirect::to` (RFC 3875 §6.2.2): no round trip; the *server* fetches the other
//!   path. Apache does; lighttpd only with `cgi.local-redir = "enable"`; nginx + fcgiwrap
//!   send a 302 instead; busybox and Python's http.server break it. `--serve` does it.
//!
//! cgikit writes every client redirect with a `Status` line and a short HTML page that
//! links to the target, so even hosts that ignore a bare `Location` still work.
//!
//! Try it: `cargo run --example redirects -- --serve`, open http://127.0.0.1:8000/, and
//! watch the terminal; or `cargo run --example redirects -- /see-other`.

use cgi::html::escape;
use cgi::{Html, IntoResponse, LocalRedirect, Redirect, Request, Response};

#[cgi::main]
fn redirects(request: Request) -> Response {
    // Links must point back at this script, wherever the server mounted it.
    let base = request.script_name().unwrap_or("").to_owned();
    let landed = format!("{base}/landed");
    match request.path_info().unwrap_or("/") {
        "/see-other" => Redirect::to(&landed).into_response(),
        "/found" => Redirect::found(&landed).into_response(),
        "/temporary" => Redirect::temporary(&landed).into_response(),
        "/permanent" => Redirect::permanent(&landed).into_response(),
        "/local" => LocalRedirect::to(&landed).into_response(),
        "/landed" => Html(format!(
            "<!DOCTYPE html>\n<title>Landed</title>\n<p>You arrived with <b>{}</b> (query <code>{}</code>).</p>\n<p><a href=\"{}/\">Back</a></p>\n",
            request.method(),
            // Everything from the request is escaped; `{:?}` would not escape `<`.
            escape(request.query_string().unwrap_or("")),
            escape(&base),
        ))
        .into_response(),
        _ => index(&base),
    }
}

fn index(base: &str) -> Response {
    let base = escape(base);
    let mut html =
        String::from("<!DOCTYPE html>\n<title>Redirects</title>\n<h1>Redirects</h1>\n<ul>\n");
    for (path, what) in [
        ("see-other", "303 See Other: then GET"),
        ("found", "302 Found"),
        ("temporary", "307 Temporary Redirect: same method and body"),
        ("permanent", "308 Permanent Redirect"),
        (
            "local",
            "a local redirect: the server fetches the page itself",
        ),
    ] {
        html.push_str(&format!("<li><a href=\"{base}/{path}\">{what}</a>\n"));
        html.push_str(&format!(
            "<form method=post action=\"{base}/{path}\" style=display:inline><button>POST</button></form>\n"
        ));
    }
    html.push_str(
        "</ul>\n<p>Press POST on 303 and on 307 and compare the method you land with.</p>\n",
    );
    Html(html).into_response()
}
