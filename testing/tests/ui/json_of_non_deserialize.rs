use cgi::Json;

struct Comment {
    text: String,
}

#[cgi::main]
fn post(Json(comment): Json<Comment>) -> String {
    comment.text
}
