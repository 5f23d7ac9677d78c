use cgi::Form;

struct Signup {
    email: String,
}

#[cgi::main]
fn signup(Form(signup): Form<Signup>) -> String {
    signup.email
}
