struct Page;

impl Page {
    #[cgi::main]
    fn render(&self) -> &'static str {
        "page"
    }
}

fn main() {}
