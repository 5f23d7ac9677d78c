// The annotated function stays an ordinary function that other code can call.
use cgi::Query;

#[derive(serde::Deserialize)]
struct Greeting {
    name: String,
}

#[cgi::main]
fn greet(Query(greeting): Query<Greeting>) -> String {
    format!("Hello, {}!", greeting.name)
}

#[allow(dead_code)]
fn direct_call() -> String {
    greet(Query(Greeting { name: "Ada".into() }))
}
