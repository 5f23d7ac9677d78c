//! In-process tests through `cgi::test`: every rejection the crate docs name (the
//! extractor table of section 2, "Safe by default") and every response type, checked down
//! to the CGI bytes the same core writes in production.

use cgi::test::{TestRequest, TestResponse};
use cgi::{
    Cookies, Form, FormRejection, HeaderMap, Html, IntoResponse, Limits, Method, Query,
    QueryRejection, Redirect, Request, Response, SameSite, SetCookie, StatusCode,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Search {
    q: String,
    page: Option<u32>,
}

fn search(Query(search): Query<Search>) -> String {
    format!("{}:{}", search.q, search.page.unwrap_or(1))
}

#[derive(Debug, Deserialize)]
struct Comment {
    author: String,
    stars: u8,
}

fn comment(Form(comment): Form<Comment>) -> String {
    format!("{} gave {}", comment.author, comment.stars)
}

fn assert_rejected(response: &TestResponse, status: StatusCode, reason: &str) {
    assert_eq!(
        response.status(),
        status,
        "{}",
        String::from_utf8_lossy(response.raw())
    );
    assert!(
        response.text().contains(reason),
        "body {:?} lacks {reason:?}",
        response.text()
    );
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert!(
        response.log().contains(reason),
        "log {:?} lacks {reason:?}",
        response.log()
    );
}

// ---- Rejections: what bad input gets ----

#[test]
fn query_missing_field_is_400_naming_it() {
    let response = TestRequest::get("/?page=2").call(search);
    assert_rejected(&response, StatusCode::BAD_REQUEST, "missing field `q`");
}

#[test]
fn query_bad_value_is_400_naming_the_field() {
    let response = TestRequest::get("/?q=x&page=two").call(search);
    assert_rejected(&response, StatusCode::BAD_REQUEST, "field `page`");
}

#[test]
fn query_malformed_percent_encoding_is_400() {
    for query in ["q=%zz", "q=%", "q=%C3%28", "q=%C0%AF"] {
        let response = TestRequest::get(&format!("/?{query}")).call(search);
        assert_rejected(&response, StatusCode::BAD_REQUEST, "Invalid query string");
    }
}

#[test]
fn query_repeated_scalar_is_400() {
    let response = TestRequest::get("/?q=a&q=b").call(search);
    assert_rejected(&response, StatusCode::BAD_REQUEST, "duplicate field `q`");
}

#[test]
fn form_deserialize_failure_is_422_naming_the_field() {
    let response = TestRequest::post("/")
        .form(&[("author", "ann"), ("stars", "many")])
        .call(comment);
    assert_rejected(&response, StatusCode::UNPROCESSABLE_ENTITY, "field `stars`");
    let response = TestRequest::post("/").form(&[("stars", "5")]).call(comment);
    assert_rejected(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing field `author`",
    );
}

#[test]
fn form_with_wrong_content_type_is_415() {
    let response = TestRequest::post("/")
        .header("Content-Type", "text/plain")
        .body("author=a&stars=1")
        .call(comment);
    assert_rejected(
        &response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "`text/plain`",
    );
    let response = TestRequest::post("/")
        .body("author=a&stars=1")
        .call(comment);
    assert_rejected(
        &response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "the request has none",
    );
}

#[test]
fn form_content_type_with_parameters_and_any_case_is_accepted() {
    let response = TestRequest::post("/")
        .header(
            "Content-Type",
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
        )
        .body("author=a&stars=1")
        .call(comment);
    assert_eq!(response.text(), "a gave 1");
}

#[test]
fn form_with_malformed_encoding_is_400() {
    let response = TestRequest::post("/")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("author=%zz&stars=1")
        .call(comment);
    assert_rejected(
        &response,
        StatusCode::BAD_REQUEST,
        "malformed percent-encoding",
    );
}

#[test]
fn form_on_get_reads_the_query() {
    assert_eq!(
        TestRequest::get("/?author=bo&stars=4").call(comment).text(),
        "bo gave 4"
    );
    let response = TestRequest::get("/?author=bo").call(comment);
    assert_rejected(&response, StatusCode::BAD_REQUEST, "missing field `stars`");
}

#[test]
fn body_over_the_limit_is_413_and_the_handler_never_runs() {
    let response = TestRequest::post("/")
        .form(&[("author", "x".repeat(100).as_str()), ("stars", "1")])
        .limits(Limits::default().max_body(64))
        .call(|_: Form<Comment>| -> &'static str { panic!("must not run") });
    assert_rejected(&response, StatusCode::PAYLOAD_TOO_LARGE, "at most 64");
}

#[test]
fn content_length_not_digits_is_400() {
    // Which lengths are malformed is the unit tests' table (request_body.rs); here, what
    // the client gets for one.
    let response = TestRequest::post("/")
        .body("abcde")
        .var("CONTENT_LENGTH", "+5")
        .call(comment);
    assert_rejected(
        &response,
        StatusCode::BAD_REQUEST,
        "CONTENT_LENGTH is not a number",
    );
}

#[test]
fn body_ending_early_is_400() {
    let response = TestRequest::post("/")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("author=a")
        .var("CONTENT_LENGTH", "100")
        .call(comment);
    assert_rejected(&response, StatusCode::BAD_REQUEST, "only 8 arrived");
}

#[test]
fn body_without_length_is_411() {
    let response = TestRequest::post("/")
        .body("a=1")
        .var("CONTENT_LENGTH", "")
        .var("HTTP_TRANSFER_ENCODING", "chunked")
        .call(comment);
    assert_rejected(&response, StatusCode::LENGTH_REQUIRED, "no CONTENT_LENGTH");
}

#[test]
fn handler_panic_is_a_generic_500() {
    let response =
        TestRequest::get("/").call(|| -> &'static str { panic!("database password is hunter2") });
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!response.text().contains("hunter2"));
    assert!(
        response.log().contains("hunter2"),
        "the message goes to the error log: {}",
        response.log()
    );
}

#[test]
fn invalid_response_header_is_a_generic_500() {
    let response = TestRequest::get("/").call(|| {
        Response::builder()
            .header("X-Echo", "a\r\nSet-Cookie: admin=1")
            .body("hi")
    });
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.header("set-cookie"), None);
    assert!(!String::from_utf8_lossy(response.raw()).contains("admin"));
    assert!(response.log().contains("X-Echo"), "{}", response.log());
}

#[test]
fn missing_request_method_is_500() {
    let response = TestRequest::get("/")
        .var("REQUEST_METHOD", "")
        .call(|| "never");
    assert_rejected(
        &response,
        StatusCode::INTERNAL_SERVER_ERROR,
        "REQUEST_METHOD",
    );
}

// ---- Optional and fallible extractors ----

#[test]
fn option_and_result_extractors_see_failures() {
    fn optional(query: Option<Query<Search>>) -> String {
        query.map_or("none".into(), |Query(search)| search.q)
    }
    fn fallible(query: Result<Query<Search>, QueryRejection>) -> String {
        match query {
            Ok(Query(search)) => search.q,
            Err(rejection) => format!("handled {}", rejection.status().as_u16()),
        }
    }
    fn fallible_form(form: Result<Form<Comment>, FormRejection>) -> String {
        form.map_or_else(
            |rejection| rejection.status().as_u16().to_string(),
            |Form(c)| c.author,
        )
    }
    assert_eq!(TestRequest::get("/?q=x").call(optional).text(), "x");
    assert_eq!(TestRequest::get("/").call(optional).text(), "none");
    assert_eq!(TestRequest::get("/").call(fallible).text(), "handled 400");
    assert_eq!(
        TestRequest::post("/").body("x").call(fallible_form).text(),
        "415"
    );
}

#[test]
fn head_only_extractors_combine_with_a_body_extractor_last() {
    fn all(
        method: Method,
        headers: HeaderMap,
        cookies: Cookies,
        Query(s): Query<Search>,
        Form(c): Form<Comment>,
    ) -> String {
        format!(
            "{method} {} {} {} {}",
            headers
                .get("x-a")
                .map_or("-", |v| v.to_str().unwrap_or("?")),
            cookies.get("sid").unwrap_or("-"),
            s.q,
            c.author
        )
    }
    let response = TestRequest::post("/?q=find")
        .header("X-A", "1")
        .cookie("sid", "abc")
        .form(&[("author", "ann"), ("stars", "3")])
        .call(all);
    assert_eq!(response.text(), "POST 1 abc find ann");
}

#[test]
fn query_and_form_each_see_their_own_data() {
    fn both(
        Query(query): Query<std::collections::HashMap<String, String>>,
        Form(form): Form<Comment>,
    ) -> String {
        format!(
            "query author={:?}, form author={}",
            query.get("author"),
            form.author
        )
    }
    let response = TestRequest::post("/?author=from-query")
        .form(&[("author", "from-body"), ("stars", "1")])
        .call(both);
    assert_eq!(
        response.text(),
        "query author=Some(\"from-query\"), form author=from-body"
    );
}

// ---- Responses: exact CGI bytes ----

fn raw(response: &TestResponse) -> &str {
    std::str::from_utf8(response.raw()).unwrap()
}

#[test]
fn static_str_and_string_are_plain_text() {
    let expected =
        "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\nhi";
    assert_eq!(raw(&TestRequest::get("/").call(|| "hi")), expected);
    assert_eq!(
        raw(&TestRequest::get("/").call(|| String::from("hi"))),
        expected
    );
}

#[test]
fn html_is_text_html() {
    assert_eq!(
        raw(&TestRequest::get("/").call(|| Html("<b>x</b>".to_owned()))),
        "Status: 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 8\r\n\r\n<b>x</b>"
    );
}

#[test]
fn status_code_alone_has_its_reason_as_body() {
    assert_eq!(
        raw(&TestRequest::get("/").call(|| StatusCode::NOT_FOUND)),
        "Status: 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\n404 Not Found\n"
    );
}

#[test]
fn status_with_a_response_overrides_its_status() {
    let response = TestRequest::get("/").call(|| (StatusCode::CREATED, Html("<p>made</p>")));
    assert!(
        raw(&response)
            .starts_with("Status: 201 Created\r\nContent-Type: text/html; charset=utf-8\r\n")
    );
    assert_eq!(response.text(), "<p>made</p>");
}

#[test]
fn result_answers_either_side() {
    fn lookup(Query(search): Query<Search>) -> Result<String, (StatusCode, &'static str)> {
        if search.q == "known" {
            Ok("found".into())
        } else {
            Err((StatusCode::NOT_FOUND, "no such thing"))
        }
    }
    assert_eq!(TestRequest::get("/?q=known").call(lookup).text(), "found");
    let response = TestRequest::get("/?q=other").call(lookup);
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.text(), "no such thing");
}

#[test]
fn unit_is_204_without_body_headers() {
    assert_eq!(
        raw(&TestRequest::get("/").call(|| ())),
        "Status: 204 No Content\r\n\r\n"
    );
}

#[test]
fn each_redirect_kind_has_status_location_and_a_link() {
    for (redirect, status) in [
        (Redirect::to("/next"), "303 See Other"),
        (Redirect::found("/next"), "302 Found"),
        (Redirect::temporary("/next"), "307 Temporary Redirect"),
        (Redirect::permanent("/next"), "308 Permanent Redirect"),
    ] {
        let response = TestRequest::post("/").call(move || redirect.clone());
        let raw = raw(&response);
        assert!(
            raw.starts_with(&format!(
                "Status: {status}\r\nContent-Type: text/html; charset=utf-8\r\nLocation: /next\r\n"
            )),
            "{raw}"
        );
        assert!(response.text().contains("<a href=\"/next\">"), "{raw}");
    }
}

#[test]
fn builder_writes_status_headers_and_several_cookies() {
    let response = TestRequest::get("/").call(|| {
        Response::builder()
            .status(StatusCode::ACCEPTED)
            .header("Cache-Control", "no-store")
            .cookie(SetCookie::new("a", "1").path("/").http_only(true))
            .cookie(
                SetCookie::new("b", "2")
                    .secure(true)
                    .same_site(SameSite::Strict),
            )
            .body(vec![1u8, 2, 3])
    });
    assert_eq!(
        raw(&response).split("\r\n\r\n").next().unwrap(),
        "Status: 202 Accepted\r\nContent-Type: application/octet-stream\r\nCache-Control: no-store\r\n\
         Set-Cookie: a=1; Path=/; HttpOnly\r\nSet-Cookie: b=2; Secure; SameSite=Strict\r\nContent-Length: 3"
    );
    assert_eq!(response.body(), &[1, 2, 3]);
}

#[test]
fn head_gets_headers_without_body() {
    let response = TestRequest::get("/")
        .method(Method::HEAD)
        .call(|| Html("<p>page</p>"));
    assert_eq!(
        raw(&response),
        "Status: 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 11\r\n\r\n"
    );
    let rejected = TestRequest::get("/").method(Method::HEAD).call(search);
    assert_eq!(rejected.status(), StatusCode::BAD_REQUEST);
    assert!(rejected.body().is_empty());
}

#[test]
fn custom_into_response_types_work() {
    struct Teapot;
    impl IntoResponse for Teapot {
        fn into_response(self) -> Response {
            (StatusCode::IM_A_TEAPOT, "short and stout").into_response()
        }
    }
    let response = TestRequest::get("/").call(|| Teapot);
    assert_eq!(response.status().as_u16(), 418);
    assert_eq!(response.text(), "short and stout");
}

#[test]
fn a_handler_takes_up_to_sixteen_extractors() {
    #[allow(clippy::too_many_arguments)]
    fn sixteen(
        _: Method,
        _: Method,
        _: Method,
        _: Method,
        _: Method,
        _: Method,
        _: Method,
        _: Method,
        _: Method,
        _: Method,
        _: Method,
        _: Method,
        _: Method,
        _: Method,
        _: Method,
        last: Method,
    ) -> String {
        format!("sixteenth: {last}")
    }
    assert_eq!(
        TestRequest::post("/").call(sixteen).text(),
        "sixteenth: POST"
    );
}

// ---- The request model ----

#[test]
fn request_reads_every_meta_variable_kind() {
    fn describe(request: Request) -> String {
        format!(
            "{} {} {:?} {:?} {:?} {:?} {:?} {} {:?}",
            request.method(),
            request.uri(),
            request.script_name(),
            request.path_info(),
            request.server_port(),
            request.remote_addr(),
            request.remote_port(),
            request.is_https(),
            request.header("foo-bar"),
        )
    }
    // Go's net/http/cgi TestRequest, re-expressed.
    let response = TestRequest::get("/")
        .var("HTTP_HOST", "example.com")
        .var("HTTP_FOO_BAR", "baz")
        .var("REQUEST_URI", "/path?a=b")
        .var("SCRIPT_NAME", "/cgi-bin/test")
        .var("PATH_INFO", "/path")
        .var("REMOTE_ADDR", "5.6.7.8")
        .var("REMOTE_PORT", "54321")
        .var("HTTPS", "1")
        .call(describe);
    assert_eq!(
        response.text(),
        "GET /path?a=b Some(\"/cgi-bin/test\") Some(\"/path\") Some(80) Some(5.6.7.8) Some(54321) true Some(\"baz\")"
    );
}

#[test]
fn empty_variables_are_unset_and_included_protocol_is_fine() {
    fn facts(request: Request) -> String {
        format!(
            "{:?} {:?} {:?}",
            request.path_info(),
            request.server_name(),
            request.server_protocol()
        )
    }
    let response = TestRequest::get("/")
        .var("PATH_INFO", "")
        .var("SERVER_NAME", "")
        .var("SERVER_PROTOCOL", "INCLUDED")
        .call(facts);
    assert_eq!(response.text(), "None None Some(\"INCLUDED\")");
}
