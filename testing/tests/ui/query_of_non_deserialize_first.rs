use cgi::{Method, Query};

struct Search {
    q: String,
}

#[cgi::main]
fn search(Query(search): Query<Search>, method: Method) -> String {
    format!("{method} {}", search.q)
}
