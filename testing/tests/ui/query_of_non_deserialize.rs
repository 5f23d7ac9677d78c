use cgi::Query;

struct Search {
    q: String,
}

#[cgi::main]
fn search(Query(search): Query<Search>) -> String {
    search.q
}
