// Doc tests wrap their code in `fn main() { ... }`: the attribute still compiles inside a
// function body, where the module it writes cannot name the items around it.
fn main() {
    use cgi::Query;

    #[derive(serde::Deserialize)]
    struct Greeting {
        name: String,
    }

    #[cgi::main]
    fn greet(Query(greeting): Query<Greeting>) -> String {
        format!("Hello, {}!\n", greeting.name)
    }
}
