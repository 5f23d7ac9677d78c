// Run from trybuild with no CGI variables: answers the terminal's one request.
#[derive(serde::Deserialize)]
struct Name {
    name: Option<String>,
}

#[cgi::main]
async fn hello(cgi::Query(query): cgi::Query<Name>) -> String {
    std::future::ready(()).await;
    format!("Hello, {}!\n", query.name.as_deref().unwrap_or("world"))
}
