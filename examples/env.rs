//! The teaching page: every meta-variable the server passed to this script (RFC 3875
//! §4.1), escaped, and what cgikit made of them.
//!
//! Try it: `cargo run --example env -- '/some/path?a=1'`, then run it under Apache,
//! lighttpd and nginx + fcgiwrap and compare: each server sets a different set.

use std::fmt::Write;

use cgi::html::escape;
use cgi::{Html, Request};

#[cgi::main]
fn env(request: Request) -> Html<String> {
    let mut vars: Vec<(String, String)> = request
        .vars()
        .map(|(name, value)| {
            (
                name.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            )
        })
        .collect();
    vars.sort();

    let mut page = String::from(
        "<!DOCTYPE html>\n<title>CGI environment</title>\n<h1>Meta-variables</h1>\n<table>\n",
    );
    for (name, value) in &vars {
        let _ = writeln!(
            page,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(name),
            escape(value)
        );
    }
    page.push_str("</table>\n<h2>As cgikit reads them</h2>\n<dl>\n");
    let facts = [
        ("method", request.method().to_string()),
        ("URI", request.uri().to_string()),
        ("path info", format!("{:?}", request.path_info())),
        ("client", format!("{:?}", request.remote_addr())),
        ("HTTPS", request.is_https().to_string()),
        ("headers", request.headers().len().to_string()),
        // httpoxy: the request may carry a Proxy header, but this process's environment
        // no longer has HTTP_PROXY, so HTTP clients started from here ignore it.
        (
            "HTTP_PROXY in this process's environment",
            std::env::var_os("HTTP_PROXY").is_some().to_string(),
        ),
    ];
    for (fact, value) in facts {
        let _ = writeln!(page, "<dt>{}</dt><dd>{}</dd>", escape(fact), escape(&value));
    }
    page.push_str("</dl>\n");
    Html(page)
}
