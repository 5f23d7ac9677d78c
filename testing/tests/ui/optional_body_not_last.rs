use cgi::{Form, Method};

#[derive(serde::Deserialize)]
struct Comment {
    text: String,
}

// An optional body extractor still reads the body.
#[cgi::main]
fn post(comment: Option<Form<Comment>>, method: Method) -> String {
    format!("{method} {}", comment.map_or(String::new(), |Form(c)| c.text))
}
