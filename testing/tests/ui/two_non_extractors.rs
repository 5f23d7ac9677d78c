use cgi::Query;

#[derive(serde::Deserialize)]
struct Search {
    q: String,
}

// Each argument that is not an extractor gets its own error, at that argument.
#[cgi::main]
fn search(limit: usize, verbose: bool, Query(search): Query<Search>) -> String {
    format!("{} {limit} {verbose}", search.q)
}
