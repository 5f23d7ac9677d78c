struct Page;

#[cgi::main]
async fn hello() -> Page {
    Page
}
