// `cgi::run` answers on worker threads, so an async handler must be `Send`.
fn main() {
    let counter = std::rc::Rc::new(1);
    cgi::run(move || {
        let counter = counter.clone();
        async move { format!("{counter}") }
    });
}
