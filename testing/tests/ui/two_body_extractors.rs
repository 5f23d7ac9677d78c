use cgi::{Form, Json};

#[derive(serde::Deserialize)]
struct Comment {
    text: String,
}

#[cgi::main]
fn post(Form(form): Form<Comment>, Json(json): Json<Comment>) -> String {
    format!("{} {}", form.text, json.text)
}
