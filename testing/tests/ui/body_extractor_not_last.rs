use cgi::{Form, Query};

#[derive(serde::Deserialize)]
struct Comment {
    text: String,
}

#[derive(serde::Deserialize)]
struct Page {
    page: u32,
}

#[cgi::main]
fn post(Form(comment): Form<Comment>, Query(page): Query<Page>) -> String {
    format!("{} {}", comment.text, page.page)
}
