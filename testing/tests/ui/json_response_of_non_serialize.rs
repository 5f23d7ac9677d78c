use cgi::Json;

struct Total {
    total: u32,
}

#[cgi::main]
fn total() -> Json<Total> {
    Json(Total { total: 5 })
}
