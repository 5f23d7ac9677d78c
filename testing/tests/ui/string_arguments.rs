// Two `String`s, meant as two query parameters: each gets the warning that names `Query<T>`,
// and the first also the error that only one argument may read the body.
#[cgi::main]
fn greet(first: String, last: String) -> String {
    format!("Hello, {first} {last}!")
}
