//! Async handlers and tower services through the test kit, in-process, through the same
//! core as production; and handlers as tower services (`from_handler`) compared byte for
//! byte with the same handlers under CGI.

use std::time::Duration;

use axum::extract::{Path, Query};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use cgi::service::{CgiVariables, ScriptName, StripScriptName};
use cgi::test::{TestRequest, TestResponse};
use cgi::{Method, PathInfo, RemoteAddr, StatusCode};

// ---------------------------------------------------------------------------------------
// Async handlers
// ---------------------------------------------------------------------------------------

#[derive(serde::Deserialize)]
struct Wait {
    ms: u64,
}

async fn waits(cgi::Query(wait): cgi::Query<Wait>, body: String) -> String {
    tokio::time::sleep(Duration::from_millis(wait.ms)).await;
    format!("waited {} ms for {} bytes", wait.ms, body.len())
}

#[test]
fn async_handlers_take_extractors_and_await_timers() {
    let response = TestRequest::post("/?ms=20").body("abc").call(waits);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text(), "waited 20 ms for 3 bytes");
    let rejected = TestRequest::post("/?ms=x").body("abc").call(waits);
    assert_eq!(rejected.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn async_handler_panics_are_a_generic_500() {
    async fn broken() -> &'static str {
        tokio::task::yield_now().await;
        panic!("async bug")
    }
    let response = TestRequest::get("/").call(broken);
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.text(), "Internal Server Error\n");
    assert!(response.log().contains("async bug"), "{}", response.log());
}

#[tokio::test]
async fn the_test_kit_works_inside_a_tokio_test() {
    let response = TestRequest::post("/?ms=1").body("x").call(waits);
    assert_eq!(response.text(), "waited 1 ms for 1 bytes");
    let response = TestRequest::get("/items/3").call_service(app());
    assert_eq!(response.text(), "item 3");
}

#[test]
fn cgi_run_accepts_async_handlers() {
    // The bound `cgi::run` puts on its handler, for an async fn and an async closure.
    fn runnable<T>(_: impl cgi::Handler<T> + Clone + Sync) {}
    runnable(waits);
    runnable(|| async { "hi" });
}

// ---------------------------------------------------------------------------------------
// Services through the test kit
// ---------------------------------------------------------------------------------------

#[derive(serde::Deserialize, serde::Serialize)]
struct Item {
    id: u32,
}

fn app() -> Router {
    Router::new()
        .route(
            "/items/{id}",
            get(|Path(id): Path<u32>| async move { format!("item {id}") }),
        )
        .route(
            "/json",
            post(|Json(item): Json<Item>| async move { Json(Item { id: item.id + 1 }) }),
        )
        .route(
            "/form",
            post(
                |axum::Form(item): axum::Form<Item>| async move { format!("form id {}", item.id) },
            ),
        )
        .route(
            "/query",
            get(|Query(item): Query<Item>| async move { format!("query id {}", item.id) }),
        )
        .route("/seen", get(seen))
        .route(
            "/panics",
            get(|| async { panic!("route bug") as &'static str }),
        )
        .route(
            "/server-header",
            get(|| async { ([("connection", "close")], "no") }),
        )
}

/// What the service finds in the request: its URI and the CGI request's extensions.
async fn seen(
    Extension(script): Extension<ScriptName>,
    path_info: Option<Extension<PathInfo>>,
    Extension(remote): Extension<RemoteAddr>,
    Extension(vars): Extension<CgiVariables>,
    request: axum::extract::Request,
) -> String {
    format!(
        "uri={} script={:?} path_info={:?} remote={} software={:?}",
        request.uri(),
        script.0,
        path_info.map(|Extension(PathInfo(path))| path),
        remote.ip,
        vars.get("SERVER_SOFTWARE").map(String::from_utf8_lossy),
    )
}

#[test]
fn a_router_answers_query_form_json_and_404() {
    let query = TestRequest::get("/query?id=4").call_service(app());
    assert_eq!(query.text(), "query id 4");
    let form = TestRequest::post("/form")
        .form(&[("id", "5")])
        .call_service(app());
    assert_eq!(form.text(), "form id 5");
    let json = TestRequest::post("/json")
        .header("Content-Type", "application/json")
        .body(r#"{"id":6}"#)
        .call_service(app());
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(json.text(), r#"{"id":7}"#);
    let missing = TestRequest::get("/nowhere").call_service(app());
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.body(), b"");
}

#[test]
fn head_keeps_the_length_the_service_declared_and_sends_no_body() {
    let head = TestRequest::get("/items/12345")
        .method(Method::HEAD)
        .call_service(app());
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.header("content-length"), Some("10"));
    assert_eq!(head.body(), b"");
    assert!(
        head.raw().ends_with(b"Content-Length: 10\r\n\r\n"),
        "{:?}",
        head.raw()
    );
}

#[test]
fn the_service_sees_the_full_path_and_the_cgi_request_in_extensions() {
    let request = |path_info: &str| {
        TestRequest::get("/ignored")
            .var("SCRIPT_NAME", "/cgi-bin/app")
            .var("PATH_INFO", path_info)
            .var("REQUEST_URI", format!("/cgi-bin/app{path_info}?x=1"))
            .var("QUERY_STRING", "x=1")
            .var("REMOTE_ADDR", "192.0.2.7")
    };
    let flat = Router::new().route("/cgi-bin/app/seen", get(seen));
    assert_eq!(
        request("/seen").call_service(flat).text(),
        "uri=/cgi-bin/app/seen?x=1 script=\"/cgi-bin/app\" path_info=Some(\"/seen\") remote=192.0.2.7 software=Some(\"cgikit-test\")"
    );
    // Nested under the script's path, the app's routes answer (axum strips the prefix).
    let nested = Router::new().nest("/cgi-bin/app", app());
    assert_eq!(
        request("/items/5").call_service(nested.clone()).text(),
        "item 5"
    );
    assert!(
        request("/seen")
            .call_service(nested)
            .text()
            .starts_with("uri=/seen?x=1 script=\"/cgi-bin/app\"")
    );
}

#[test]
fn strip_script_name_routes_below_the_script() {
    let request = |path_info: &str| {
        TestRequest::get("/ignored")
            .var("SCRIPT_NAME", "/cgi-bin/app")
            .var("PATH_INFO", path_info)
            .var("REQUEST_URI", format!("/cgi-bin/app{path_info}"))
    };
    let item = request("/items/9").call_service(StripScriptName::new(app()));
    assert_eq!(item.text(), "item 9");
    // Unwrapped, the same app sees the full path and has no such route.
    let unwrapped = request("/items/9").call_service(app());
    assert_eq!(unwrapped.status(), StatusCode::NOT_FOUND);
    // The script's own URL (no PATH_INFO) is the app's `/`.
    let root = Router::new().route("/", get(|| async { "root" }));
    let response = request("").call_service(StripScriptName::new(root));
    assert_eq!(response.text(), "root");
}

#[test]
fn a_body_over_the_limit_is_413_before_the_service_runs() {
    let response = TestRequest::post("/form")
        .form(&[("id", "1".repeat(100))])
        .limits(cgi::Limits::default().max_body(16))
        .call_service(app());
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.log().contains("413"), "{}", response.log());
}

#[test]
fn a_panicking_route_is_a_generic_500_with_a_log_line() {
    let response = TestRequest::get("/panics").call_service(app());
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.text(), "Internal Server Error\n");
    assert!(response.log().contains("route bug"), "{}", response.log());
}

#[test]
fn a_server_only_header_is_a_generic_500_with_a_log_line() {
    let response = TestRequest::get("/server-header").call_service(app());
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.header("connection"), None);
    assert!(
        response
            .log()
            .contains("the `connection` header is for the server"),
        "{}",
        response.log()
    );
}

#[test]
fn a_failing_service_is_a_generic_500_with_its_error_logged() {
    #[derive(Clone)]
    struct Failing;
    impl tower_service::Service<cgi::http::Request<cgi::service::Incoming>> for Failing {
        type Response = cgi::http::Response<String>;
        type Error = std::io::Error;
        type Future = std::future::Ready<Result<Self::Response, Self::Error>>;
        fn poll_ready(
            &mut self,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: cgi::http::Request<cgi::service::Incoming>) -> Self::Future {
            std::future::ready(Err(std::io::Error::other("backend down")))
        }
    }
    let response = TestRequest::get("/").call_service(Failing);
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        response.log().contains("the service failed: backend down"),
        "{}",
        response.log()
    );
}

#[test]
fn a_body_that_fails_midway_ends_the_response_there() {
    let app = Router::new().route(
        "/",
        get(|| async {
            let pieces: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
                Ok(bytes::Bytes::from_static(b"partial")),
                Err(std::io::Error::other("disk gone")),
            ];
            axum::body::Body::from_stream(futures_util::stream::iter(pieces))
        }),
    );
    let response = TestRequest::get("/").call_service(app);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), b"partial");
    assert!(
        response
            .log()
            .contains("reading the response body failed after 7 bytes: disk gone"),
        "{}",
        response.log()
    );
}

/// A body that says it has 10 bytes, then fails.
struct Broken;

impl http_body::Body for Broken {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::other("cache corrupt"))))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(10)
    }
}

#[test]
fn a_small_body_of_known_size_is_read_before_the_head_so_its_failure_is_a_clean_500() {
    let app = Router::new().route(
        "/",
        get(|| async { cgi::http::Response::new(axum::body::Body::new(Broken)) }),
    );
    let response = TestRequest::get("/").call_service(app);
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.text(), "Internal Server Error\n");
    assert!(
        response
            .log()
            .contains("the response body failed: cache corrupt"),
        "{}",
        response.log()
    );
}

// ---------------------------------------------------------------------------------------
// from_handler: the same answer as under CGI
// ---------------------------------------------------------------------------------------

#[derive(serde::Deserialize)]
struct Greeting {
    name: String,
}

fn greet(cgi::Query(greeting): cgi::Query<Greeting>) -> cgi::Response {
    cgi::Response::builder()
        .header("X-Greeting", "1")
        .cookie(cgi::SetCookie::new("seen", "yes").path("/"))
        .cookie(cgi::SetCookie::new("name", &greeting.name))
        .body(cgi::Html(format!("<p>{}</p>", cgi::html::escape(&greeting.name))).0)
}

/// Under `from_handler` it waits on the server's own runtime: a timer there must fire.
async fn async_greet(query: cgi::Query<Greeting>) -> cgi::Response {
    tokio::time::sleep(Duration::from_millis(5)).await;
    greet(query)
}

fn echo_post(cgi::Form(greeting): cgi::Form<Greeting>) -> String {
    format!("posted {}", greeting.name)
}

fn redirect() -> cgi::Redirect {
    cgi::Redirect::to("/next?a=1")
}

/// One exchange over HTTP/1.1 on loopback: the status, the headers (names lowercase, in
/// order, without the ones hyper adds) and the body.
fn over_http(
    address: std::net::SocketAddr,
    request: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(": ").unwrap();
            (name.to_ascii_lowercase(), value.to_owned())
        })
        // hyper's own: the date, and the answer to the client's `Connection: close`.
        .filter(|(name, _)| name != "date" && name != "connection")
        .collect();
    (status, headers, raw[end + 4..].to_vec())
}

/// The same answer from a CGI run of the test kit.
fn from_cgi(response: &TestResponse) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap().to_owned()))
        .collect();
    (
        response.status().as_u16(),
        headers,
        response.body().to_vec(),
    )
}

#[test]
fn from_handler_answers_over_http_as_the_handler_answers_under_cgi() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new()
        .route_service("/greet", cgi::service::from_handler(greet))
        .route_service("/async-greet", cgi::service::from_handler(async_greet))
        .route_service("/post", cgi::service::from_handler(echo_post))
        .route_service("/redirect", cgi::service::from_handler(redirect))
        .route_service(
            "/small",
            cgi::service::from_handler(echo_post).limits(cgi::Limits::default().max_body(8)),
        );
    let server = std::thread::spawn(move || {
        runtime.block_on(async move {
            let serve = axum::serve(listener, app);
            let _ = tokio::time::timeout(Duration::from_secs(20), serve).await;
        });
    });
    let get =
        |path: &str| format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let post = |path: &str, body: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let cases: Vec<(String, TestResponse)> = vec![
        (
            get("/greet?name=%3Cb%3E"),
            TestRequest::get("/greet?name=%3Cb%3E").call(greet),
        ),
        (
            get("/async-greet?name=Ada"),
            TestRequest::get("/async-greet?name=Ada").call(greet),
        ),
        (get("/greet"), TestRequest::get("/greet").call(greet)),
        (
            post("/post", "name=Grace"),
            TestRequest::post("/post")
                .form(&[("name", "Grace")])
                .call(echo_post),
        ),
        (
            get("/redirect"),
            TestRequest::get("/redirect").call(redirect),
        ),
        (
            post("/small", "name=far-too-long"),
            TestRequest::post("/small")
                .form(&[("name", "far-too-long")])
                .limits(cgi::Limits::default().max_body(8))
                .call(echo_post),
        ),
    ];
    for (request, cgi) in cases {
        let http = over_http(address, &request);
        assert_eq!(http, from_cgi(&cgi), "{request}");
    }
    // HEAD: the same headers, no body.
    let head = over_http(address, &get("/greet?name=Ada").replacen("GET", "HEAD", 1));
    let cgi = TestRequest::get("/greet?name=Ada")
        .method(Method::HEAD)
        .call(greet);
    assert_eq!(head, from_cgi(&cgi));
    assert!(head.2.is_empty());
    drop(server);
}

#[tokio::test]
async fn from_handler_is_a_cloneable_service_with_the_client_address() {
    use tower_service::Service as _;
    fn who(addr: RemoteAddr) -> String {
        addr.ip.to_string()
    }
    let service = cgi::service::from_handler(who);
    let mut request = cgi::http::Request::get("/").body(String::new()).unwrap();
    request
        .extensions_mut()
        .insert(std::net::SocketAddr::from(([192, 0, 2, 1], 4000)));
    let response = service.clone().call(request).await.unwrap();
    let body = http_body_util_collect(response.into_body()).await;
    assert_eq!(body, b"192.0.2.1");
}

async fn http_body_util_collect<B>(body: B) -> Vec<u8>
where
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: std::fmt::Debug,
{
    let mut body = std::pin::pin!(body);
    let mut bytes = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        if let Ok(data) = frame.unwrap().into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    bytes
}
