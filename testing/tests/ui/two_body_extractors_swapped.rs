use cgi::{Form, Json};

#[derive(serde::Deserialize)]
struct Comment {
    text: String,
}

// The other order of two_body_extractors.rs: the message must not send the student back.
#[cgi::main]
fn post(Json(json): Json<Comment>, Form(form): Form<Comment>) -> String {
    format!("{} {}", form.text, json.text)
}
