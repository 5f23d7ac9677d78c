use cgi::Form;

#[cgi::main]
fn vote(Form(choice): Form<u32>) -> String {
    format!("You chose {choice}.")
}
