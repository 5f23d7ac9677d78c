use cgi::Query;

// A query string is name=value pairs: it never fits in one `String`.
#[cgi::main]
fn greet(Query(name): Query<String>) -> String {
    format!("Hello, {name}!")
}
