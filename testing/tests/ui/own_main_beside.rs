// `#[cgi::main]` writes `main`; a `main` of the student's own beside it is one too many.
#[cgi::main]
fn hello() -> &'static str {
    "Hello"
}

fn main() {
    println!("starting");
}
