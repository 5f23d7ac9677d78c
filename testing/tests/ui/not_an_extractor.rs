use cgi::Query;

#[derive(serde::Deserialize)]
struct Search {
    q: String,
}

#[cgi::main]
fn search(limit: usize, Query(search): Query<Search>) -> String {
    format!("{} {limit}", search.q)
}
