struct Config;

#[cgi::main]
async fn hello(config: Config) -> &'static str {
    let _ = config;
    "Hello"
}
