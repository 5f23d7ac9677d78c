//! # cgikit: CGI scripts in Rust, with one attribute
//!
//! A CGI script is a program a web server runs once per request: the request arrives in
//! environment variables (RFC 3875 calls them meta-variables) and on standard input, and
//! the response goes to standard output. `#[cgi::main]` turns one ordinary function into
//! such a program.
//!
//! This page is a tour, from the smallest script to JSON APIs, downloads and deployment.
//! Every example on it is compiled and run by `cargo test`, and every web server
//! configuration on it is run by a real server in CI. When the compiler or a script says
//! something puzzling, [Common mistakes](#common-mistakes) maps each message to its fix.
//!
//! ## 1. Hello, world
//!
//! ```no_run
//! #[cgi::main]
//! fn hello() -> &'static str {
//!     "Hello, world!\n"
//! }
//! ```
//!
//! `cargo build --release`, copy the binary into your server's `cgi-bin/`, and
//! `/cgi-bin/hello` answers. Run it in a terminal instead and it prints the response it
//! would send, `Status` line and all:
//!
//! ```text
//! Status: 200 OK
//! Content-Type: text/plain; charset=utf-8
//! Content-Length: 14
//!
//! Hello, world!
//! ```
//!
//! ## 2. Reading the request: extractors
//!
//! Each argument says what the function needs, and cgikit parses it before the function
//! runs. Bad input never reaches your code: it gets a precise status and a one-line reason
//! (also written to the server's error log).
//!
//! ```
//! use cgi::{Html, Query};
//!
//! #[derive(serde::Deserialize)]
//! struct Search {
//!     q: String,
//!     page: Option<u32>,
//! }
//!
//! #[cgi::main]
//! fn search(Query(search): Query<Search>) -> Html<String> {
//!     let q = cgi::html::escape(&search.q);
//!     Html(format!("<p>Results for {q}, page {}</p>", search.page.unwrap_or(1)))
//! }
//!
//! // The function is still an ordinary function; the test kit runs it through the
//! // real request parsing and CGI output:
//! let response = cgi::test::TestRequest::get("/?q=%3Cb%3E").call(search);
//! assert_eq!(response.text(), "<p>Results for &lt;b&gt;, page 1</p>");
//! let response = cgi::test::TestRequest::get("/?page=2").call(search);
//! assert_eq!(response.status(), cgi::StatusCode::BAD_REQUEST);
//! assert_eq!(response.text(), "Invalid query string: missing field `q`\n");
//! ```
//!
//! | argument | what it gives | bad input |
//! |---|---|---|
//! | [`Query<T>`] | the query string, decoded into `T` (serde) | `400`, naming the field |
//! | [`Form<T>`] | a submitted HTML form (`POST` body, or the query for `GET`) | `415` not a form, `422` naming the field |
//! | `Form<`[`Contextual<T>`]`>` | the same, as typed: every value, a message per field that does not fit `T`, and `T` if all fit | `415` not a form, `400` malformed |
//! | [`Csrf`] | the form's CSRF token (its cookie is set for you) | `verify` answers `403` |
//! | `Session` | a signed cookie session: what the site remembers about this browser (feature `sessions`) | `500` without a secret |
//! | `Flash` | a one-time message for the page after a redirect (feature `sessions`) | `500` without a secret |
//! | [`Json<T>`] | a JSON body (feature `json`) | `415`, `400` bad syntax, `422` naming the field |
//! | `String`, `Vec<u8>`, [`Bytes`] | the whole body (not a query parameter: see [Common mistakes](#common-mistakes)) | `415`/`400` not UTF-8 (`String`) |
//! | [`Multipart`], [`MultipartForm<T>`] | an upload form, streamed | `415`, `400` malformed, `413` over a limit |
//! | [`Cookies`] | the cookies the browser sent | — |
//! | [`Csrf`] | the form's anti-forgery token (section 3) | `403` from [`Csrf::verify`] |
//! | [`PathInfo`] | the path after the script's name | `400` not UTF-8 |
//! | [`http::Uri`] | the URI the client asked for (`uri.path()`, `uri.query()`) | — |
//! | [`RemoteAddr`] | the client's address and port | `500` if the server set none |
//! | [`Method`], [`HeaderMap`] | the method, the request headers | — |
//! | [`Request`] | everything: meta-variables, headers, the body | — |
//! | `http::Request<Vec<u8>>` | the same, as the `http` crate's type | — |
//! | `Option<E>` | `None` instead of a rejection | — |
//! | `Result<E, E::Rejection>` | the rejection, for you to handle | — |
//!
//! Only the last argument may read the body (`Form`, `Json`, `String`, `Bytes`,
//! `Multipart`, `Request`...); the compiler says so otherwise. Your own types become
//! extractors by implementing [`FromRequestParts`] (reads the head) or [`FromRequest`] (may
//! read the body).
//!
//! ## 3. Forms
//!
//! [`Form<T>`] decodes a form into `T`; a field that does not fit is a `422` before your
//! function runs. For a form people fill in, take `Form<Contextual<T>>` instead: it keeps
//! what they typed and gives a message for each field that does not fit ("must be a
//! whole number", "is required"), so the page can come back filled in, and `T` when
//! everything fits. [`Csrf`] protects the form from other sites: put its hidden input in
//! the form and `verify` what comes back; cgikit sets its cookie. After a successful
//! `POST`, redirect (post/redirect/get), so that a reload does not post again.
//!
//! ```
//! use cgi::html::escape;
//! use cgi::http::Uri;
//! use cgi::{Contextual, Csrf, Form, Html, IntoResponse, Method, Redirect, Response, StatusCode};
//!
//! #[derive(serde::Deserialize)]
//! struct Signup {
//!     email: String,
//!     age: u8,
//! }
//!
//! #[cgi::main]
//! fn signup(method: Method, uri: Uri, csrf: Csrf, Form(mut form): Form<Contextual<Signup>>) -> Result<Response, cgi::Error> {
//!     if method == Method::POST {
//!         csrf.verify(form.input("csrf_token"))?; // 403 for a form from another site
//!         if !form.input("email").contains('@') {
//!             form.add_error("email", "must be an email address");
//!         }
//!         if let Some(signup) = form.value() {
//!             // ... store signup.email and signup.age ...
//!             # let _ = (&signup.email, signup.age);
//!             return Ok(Redirect::to(uri.path()).into_response()); // 303 back to this page
//!         }
//!         return Ok((StatusCode::UNPROCESSABLE_ENTITY, page(&csrf, &form)).into_response());
//!     }
//!     Ok(page(&csrf, &Contextual::default()).into_response())
//! }
//!
//! fn page(csrf: &Csrf, form: &Contextual<Signup>) -> Html<String> {
//!     let field = |name: &str, label: &str| {
//!         let error = form.error(name).map(|e| format!(" <strong>{label} {}</strong>", escape(e)));
//!         format!("<p><label>{label} <input name={name} value=\"{}\"></label>{}</p>",
//!                 escape(form.input(name)), error.unwrap_or_default())
//!     };
//!     Html(format!("<form method=post>{}{}{}<button>Sign up</button></form>",
//!                  csrf.hidden_input(), field("email", "Email"), field("age", "Age")))
//! }
//!
//! use cgi::test::TestRequest;
//! let page = TestRequest::get("/").call(signup);
//! assert!(page.cookie("cgikit_csrf").is_some()); // set because the page used the token
//! let refused = TestRequest::post("/").csrf().form(&[("email", "ada"), ("age", "abc")]).call(signup);
//! assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
//! assert!(refused.text().contains("value=\"abc\"")); // what was typed comes back
//! assert!(refused.text().contains("<strong>Email must be an email address</strong>"));
//! assert!(refused.text().contains("<strong>Age must be a whole number</strong>"));
//! let accepted = TestRequest::post("/").csrf().form(&[("email", "ada@example.com"), ("age", "36")]).call(signup);
//! assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
//! let forged = TestRequest::post("/").form(&[("email", "ada@example.com"), ("age", "36")]).call(signup);
//! assert_eq!(forged.status(), StatusCode::FORBIDDEN);
//! ```
//!
//! The CSRF token is 32 hexadecimal digits, in a `SameSite=Strict`, `HttpOnly` cookie
//! (`cgikit_csrf`, or `__Host-cgikit_csrf` over HTTPS) and in the form's `csrf_token`
//! field. In tests, [`test::TestRequest::csrf`] sends a valid pair and
//! [`test::TestResponse::cookie`] reads a cookie the response sets.
//!
//! With the feature `sessions`, `Session` remembers things about a browser between
//! requests (who signed in) in a cookie signed with the server's secret, and `Flash`
//! carries a message ("Settings saved.") across the redirect after a `POST`. Both need a
//! secret: make one with `head -c 32 /dev/urandom | base64` into a file only the server's
//! user can read, and name it in `CGIKIT_SESSION_SECRET_FILE`; `Session`'s documentation
//! says where to keep it and how to rotate it. `examples/login.rs` signs in and out with
//! them.
//!
//! A name that comes several times (checkboxes sharing a name, `<select multiple>`,
//! `?tag=a&tag=b`) fills a `Vec` field of `Form<T>` or `Query<T>`, in order; a single
//! field takes the first. A missing name is a `422` (`400` in a query) unless the field
//! is an `Option` or has `#[serde(default)]`:
//!
//! ```
//! use cgi::Form;
//!
//! #[derive(serde::Deserialize)]
//! struct Order {
//!     #[serde(default)] // no box ticked: an empty list, not an error
//!     extra: Vec<String>, // <input type="checkbox" name="extra" value="...">, several
//! }
//!
//! fn order(Form(order): Form<Order>) -> String {
//!     format!("{} extras: {}", order.extra.len(), order.extra.join(", "))
//! }
//!
//! let ticked = cgi::test::TestRequest::post("/").form(&[("extra", "milk"), ("extra", "sugar")]).call(order);
//! assert_eq!(ticked.text(), "2 extras: milk, sugar");
//! let none = cgi::test::TestRequest::post("/").form(&[("other", "x")]).call(order);
//! assert_eq!(none.text(), "0 extras: ");
//! ```
//!
//! ## 4. Answering: responses
//!
//! Return anything that implements [`IntoResponse`]:
//!
//! | return | what the client gets |
//! |---|---|
//! | `&'static str`, `String`, `Cow<'static, str>` | `200`, `text/plain; charset=utf-8` |
//! | `Vec<u8>`, [`Body`] | `200`, `application/octet-stream` (a text `Body` is `text/plain`) |
//! | [`Html<T>`] | `200`, `text/html; charset=utf-8` |
//! | [`Json<T>`] | `200`, `application/json` (feature `json`) |
//! | [`StatusCode`] | that status, with its reason as a one-line text body |
//! | `(StatusCode, R)` | `R` with that status |
//! | `()` | `204 No Content` |
//! | [`Redirect::to`], [`found`](Redirect::found), [`temporary`](Redirect::temporary), [`permanent`](Redirect::permanent) | `303`, `302`, `307`, `308` with `Location` and a link |
//! | [`LocalRedirect::to`] | a bare `Location: /path`: the server answers with that path instead (CGI only) |
//! | [`Response`] (`Response::builder()`) | any status, headers, [`SetCookie`]s, downloads (`.attachment(name)`), a streamed body |
//! | `http::Response<B>` | the same, from the `http` crate's type |
//! | `Result<R, E>` | `R`, or `E` (itself a response) |
//! | [`Error`] | its status and message, or a generic `500` (section 5) |
//! | [`QueryRejection`], [`FormRejection`], [`MultipartError`]... | the rejection's status and reason, as if the extractor had answered |
//!
//! A [`Response`] is built with headers, cookies, and a body that may be streamed from a
//! file:
//!
//! ```
//! use std::time::Duration;
//! use cgi::{Cookies, Response, SameSite, SetCookie};
//!
//! #[cgi::main]
//! fn visit(cookies: Cookies) -> Response {
//!     let visits: u32 = cookies.get("visits").and_then(|n| n.parse().ok()).unwrap_or(0) + 1;
//!     Response::builder()
//!         .header("Cache-Control", "no-store")
//!         .cookie(
//!             SetCookie::new("visits", visits.to_string())
//!                 .max_age(Duration::from_secs(30 * 24 * 3600))
//!                 .http_only(true)
//!                 .same_site(SameSite::Lax),
//!         )
//!         .body(format!("Visit number {visits}\n"))
//! }
//!
//! let response = cgi::test::TestRequest::get("/").cookie("visits", "2").call(visit);
//! assert_eq!(response.text(), "Visit number 3\n");
//! assert_eq!(response.header("set-cookie"), Some("visits=3; Max-Age=2592000; HttpOnly; SameSite=Lax"));
//! ```
//!
//! Downloads: `.attachment("report.csv")` sets a safe `Content-Disposition`, and a
//! [`std::fs::File`] (or any reader, with [`Body::from_reader`]) as the body is streamed
//! in chunks, so memory stays small whatever the file's size.
//!
//! ## 5. Errors
//!
//! Return `Result<T, cgi::Error>` and use `?`. A rejection keeps its status; any other
//! error becomes a generic `500` whose details go to the server's error log only; and
//! [`Error::new`] answers with your status and message:
//!
//! ```
//! use cgi::{Error, PathInfo, StatusCode};
//!
//! #[cgi::main]
//! fn page(path: PathInfo) -> Result<String, Error> {
//!     let Some(segments) = path.checked_segments() else {
//!         return Err(Error::new(StatusCode::BAD_REQUEST, "That is not a page name."));
//!     };
//!     let text = std::fs::read_to_string(format!("/srv/pages/{}.txt", segments.join("/")))?;
//!     Ok(text)
//! }
//!
//! let response = cgi::test::TestRequest::get("/").var("PATH_INFO", "/../secret").call(page);
//! assert_eq!(response.status(), StatusCode::BAD_REQUEST);
//! ```
//!
//! ## 6. JSON
//!
//! ```
//! use cgi::Json;
//!
//! #[derive(serde::Deserialize)]
//! struct Order { item: String, quantity: u32 }
//!
//! #[derive(serde::Serialize)]
//! struct Receipt { item: String, quantity: u32, total_cents: u64 }
//!
//! #[cgi::main]
//! fn order(Json(order): Json<Order>) -> Json<Receipt> {
//!     let total_cents = 250 * u64::from(order.quantity);
//!     Json(Receipt { item: order.item, quantity: order.quantity, total_cents })
//! }
//!
//! let response = cgi::test::TestRequest::post("/")
//!     .header("Content-Type", "application/json")
//!     .body(r#"{"item": "tea", "quantity": 2}"#)
//!     .call(order);
//! assert_eq!(response.text(), r#"{"item":"tea","quantity":2,"total_cents":500}"#);
//! ```
//!
//! ## 7. Uploads
//!
//! A form with `enctype="multipart/form-data"` sends files. [`MultipartForm<T>`] gives its
//! text fields in a struct and its files as [`Upload`]s, received into temporary files
//! that are deleted unless you keep them; [`Multipart`] streams the parts one by one.
//! Either way memory stays at one buffer whatever the file size. Raise the body limit:
//!
//! ```
//! use cgi::{Html, MultipartForm};
//!
//! #[derive(serde::Deserialize)]
//! struct Homework {
//!     student: String,
//! }
//!
//! #[cgi::main(max_body = 20 << 20)]
//! fn hand_in(mut form: MultipartForm<Homework>) -> Result<Html<String>, cgi::Error> {
//!     let Some(file) = form.take_file("work") else {
//!         return Err(cgi::Error::new(cgi::StatusCode::UNPROCESSABLE_ENTITY, "Attach your work."));
//!     };
//!     let size = file.size();
//!     // file.persist(format!("/srv/homework/{}.pdf", ...))?;   // keep it; else it is deleted
//!     Ok(Html(format!("<p>Thanks, {}: {size} bytes.</p>", cgi::html::escape(&form.fields.student))))
//! }
//!
//! let body = cgi::test::MultipartBody::new().text("student", "Ada").file("work", "hw.pdf", "application/pdf", b"%PDF");
//! let response = cgi::test::TestRequest::post("/").multipart(body).call(hand_in);
//! assert_eq!(response.text(), "<p>Thanks, Ada: 4 bytes.</p>");
//! ```
//!
//! ## 8. Testing and trying
//!
//! - In-process: [`test::TestRequest`] builds the environment a server would and runs
//!   your function through the very code that runs in production;
//!   [`csrf`](test::TestRequest::csrf) sends a valid CSRF token with a form, and
//!   [`TestResponse::cookie`](test::TestResponse::cookie) reads a cookie the answer sets.
//! - In a terminal: run the binary. With no CGI variables in its environment it answers
//!   one request built from its arguments, curl-style: `./search '/?q=rust'`,
//!   `./search q=rust`, `./search -d 'name=Ada' /sign`; `--help` lists them.
//! - In a browser: `cargo run -- --serve` starts a development web server on
//!   <http://127.0.0.1:8000/> that runs the script as a CGI program for each request, as a
//!   real server would. Its inspector, <http://127.0.0.1:8000/_cgi/>, lists the recent
//!   requests; each one's page shows the CGI variables the script received, its standard
//!   input, what it wrote to standard error, the raw head of its response and how long it
//!   took (`--trace` prints the variables and the head in the terminal too). Paths under
//!   `/_cgi/` belong to the inspector there and never reach the script; under a real
//!   server they are the script's like any other. Debug builds only: release builds leave
//!   the development server out.
//!
//! ## 9. Safe by default
//!
//! - Bodies are limited (2 MiB; `#[cgi::main(max_body = N)]`; uploads also by part count,
//!   field count, file and field size, part headers: [`Limits`]), read exactly to
//!   `CONTENT_LENGTH` and never past it, and drained before answering (servers like
//!   nginx + fcgiwrap turn an early answer into a 502).
//! - A header value with CR or LF (a response-splitting attempt) turns the response into a
//!   generic `500`; it can never reach the output. So do invalid cookies, headers that
//!   belong to the server (`Connection`, `Transfer-Encoding`...), and a `Location` header
//!   without a redirect status (on a `200`, Apache serves the document at that location
//!   while nginx sends the `200`: use a [`Redirect`]; `201 Created` keeps its `Location`).
//! - A panic in your function answers a generic `500`; the message goes to the server's
//!   error log, one line, never to the client.
//! - `HTTP_PROXY` (httpoxy) is removed from the process environment, so HTTP clients and
//!   child processes do not use a proxy a client chose.
//! - Variables that are not UTF-8 never make the script panic.
//! - Forms are protected from other sites with [`Csrf`] (a double-submit token in a
//!   `SameSite=Strict` cookie); sessions (`Session`) are signed, expire on the server's
//!   clock, and keep nothing on the server's disk for another local user to read or plant.
//!
//! ## 10. Without the macro
//!
//! [`cgi::run`](run) takes any [`Handler`] (a function whose arguments are extractors):
//! `fn main() { cgi::run(search) }`; [`run_with`] also takes [`Limits`]. Both serve
//! FastCGI and SCGI too (section 12), so the handler must be `Clone + Sync`, as functions
//! and closures without non-shareable captures are.
//!
//! ## 11. Deploying
//!
//! A script crate of your own: `cargo new --bin greet`, `cargo add serde --features
//! derive`, and cgikit (imported as `cgi`). Build it with optimisations and copy the binary
//! where the server runs CGI programs, executable and readable by the server's user
//! (`www-data` on Debian):
//!
//! ```sh
//! cargo build --release
//! sudo install -m 755 target/release/greet /usr/lib/cgi-bin/greet
//! ```
//!
//! Start-up is a CGI script's main cost, paid at every request. Your crate's release
//! profile applies, not cgikit's (Cargo ignores the profiles of dependencies), and
//! cgikit's start-up figures are measured with these two lines; without them the `hello`
//! example runs about 3% more instructions from a binary a quarter larger. Put them in
//! your `Cargo.toml`:
//!
//! ```toml
//! [profile.release]
//! lto = true
//! codegen-units = 1
//! ```
//!
//! (`bash bench/startup.sh` measures both, side by side: see the README.) Linking
//! statically (`RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --target
//! x86_64-unknown-linux-gnu`) saves the dynamic loader's work too.
//!
//! Each configuration below is complete for a server of your own, and CI runs each one, as
//! written, in a server configuration that holds nothing else. The paths are Debian's.
//!
//! **Apache httpd**, mod_cgid. On Debian, `sudo a2enmod cgid` is all it takes: the stock
//! configuration serves `/usr/lib/cgi-bin/` at `/cgi-bin/`. Otherwise:
//!
//! <!-- deployment-test: apache-cgi -->
//! ```apache
//! LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
//! LoadModule cgid_module /usr/lib/apache2/modules/mod_cgid.so
//! ScriptAlias /cgi-bin/ /usr/lib/cgi-bin/
//! <Directory /usr/lib/cgi-bin>
//!     Options +ExecCGI
//!     Require all granted
//! </Directory>
//! ```
//!
//! **lighttpd**, mod_cgi, and mod_alias for `alias.url` (without it lighttpd only warns
//! "unknown config-key" and every script is a `404`):
//!
//! <!-- deployment-test: lighttpd-cgi -->
//! ```lighttpd
//! server.modules += ( "mod_alias", "mod_cgi" )
//! alias.url += ( "/cgi-bin/" => "/usr/lib/cgi-bin/" )
//! $HTTP["url"] =~ "^/cgi-bin/" {
//!     cgi.assign = ( "" => "" )   # run extension-less binaries directly
//! }
//! ```
//!
//! **nginx + fcgiwrap**: nginx does not run CGI programs; fcgiwrap does, behind FastCGI
//! (`apt-get install fcgiwrap` starts it on `/run/fcgiwrap.socket`):
//!
//! <!-- deployment-test: nginx-fcgiwrap -->
//! ```nginx
//! location /cgi-bin/ {
//!     fastcgi_split_path_info ^/cgi-bin(/[^/]+)(.*)$;
//!     include fastcgi_params;
//!     fastcgi_param SCRIPT_FILENAME /usr/lib/cgi-bin$fastcgi_script_name;
//!     fastcgi_param SCRIPT_NAME     /cgi-bin$fastcgi_script_name;
//!     fastcgi_param PATH_INFO       $fastcgi_path_info;
//!     fastcgi_param HTTP_PROXY      "";   # httpoxy: nginx forwards a client's Proxy header otherwise
//!     fastcgi_pass unix:/run/fcgiwrap.socket;
//! }
//! ```
//!
//! Then `curl 'http://localhost/cgi-bin/greet?name=Ada'`. The script's standard error is
//! the server's error log (Apache's `ErrorLog`, lighttpd's `server.breakagelog`, nginx's
//! `error_log` through fcgiwrap). Keep nginx's `client_max_body_size` at or above the
//! script's `max_body`, so that an oversized upload gets the script's `413`.
//!
//! ## 12. When CGI is not enough: FastCGI and SCGI
//!
//! A CGI server starts your program for every request. When that becomes too slow, run
//! the *same binary* as a long-lived process that answers many requests, behind the same
//! web server. Nothing in your code changes: the binary `#[cgi::main]` generates speaks
//! FastCGI and SCGI too.
//!
//! ```sh
//! ./greet --fastcgi unix:/run/greet/greet.sock   # or --fastcgi 127.0.0.1:9000
//! ./greet --scgi 127.0.0.1:4000
//! ./greet --fastcgi 127.0.0.1:9000 --workers 32  # answer up to 32 requests at once (default 16)
//! ```
//!
//! It prints `greet: serving FastCGI on unix:/run/greet/greet.sock with 16 workers` and
//! runs until SIGTERM (or Ctrl-C), which finishes the requests in flight (within a grace
//! period, below) and exits. Run it as a service (systemd, runit...) under an unprivileged
//! user. Started by a process manager with a listening socket as standard input
//! (lighttpd's `bin-path`, Apache's mod_fcgid, `spawn-fcgi`), it serves FastCGI on that
//! socket by itself.
//!
//! **A unix socket for a web server running as another user** (nginx's workers run as
//! `www-data`): connecting takes write permission on the socket, which has the umask's
//! mode unless `--socket-mode` says otherwise (often `755`: nginx gets `connect() ...
//! failed (13: Permission denied)` and answers `502`). The socket belongs to the
//! process's user and group, or to its directory's group if that directory has the setgid
//! bit; `--socket-mode 660` lets that group connect, from the moment the socket exists.
//! Either run the program with the web server's group, or give it a setgid directory of
//! that group:
//!
//! ```ini
//! # systemd: /run/greet belongs to the service user; the socket to group www-data.
//! [Service]
//! User=greet
//! Group=www-data
//! RuntimeDirectory=greet
//! ExecStart=/usr/local/bin/greet --fastcgi unix:/run/greet/greet.sock --socket-mode 660
//! # or, keeping the service's own group: a directory made with
//! #   install -d -o greet -g www-data -m 2750 /run/greet
//! ```
//!
//! **Every connection is bounded**, whatever a web server, a client behind it or an
//! attacker sends: a connection holds little more than its request's own limits
//! ([`Limits`] and the two below), answers to FastCGI management records
//! (`FCGI_GET_VALUES`, unknown types) go out as they come instead of waiting for the
//! request to end, and no peer holds a worker longer than these allow. An idle kept-alive
//! FastCGI connection, or an SCGI connection that has sent nothing yet, gives its worker
//! back when every worker is busy. Each limit has a flag:
//!
//! | flag | default | what it bounds |
//! |---|---|---|
//! | `--head-timeout SECONDS` | 10 | a request's head (FastCGI `BEGIN_REQUEST` and `PARAMS`, SCGI's headers) must be in this long after its first byte (SCGI: after the connection), or the connection closes |
//! | `--stall-timeout SECONDS` | 30 | reading the body or writing the answer closes the connection after this long without moving a byte |
//! | `--stop-grace SECONDS` | 8 | after SIGTERM, requests in flight have this long to finish; then reads and writes still waiting on a web server are abandoned, and the process exits at most 2 seconds later, handlers still running or not |
//! | `--max-params BYTES` | 262144 | a request's meta-variables (FastCGI `PARAMS`, SCGI headers): larger is answered `431` |
//! | `--max-param-count N` | 1000 | how many meta-variables: more is answered `431` |
//!
//! Seconds may have a fraction (`--head-timeout 2.5`).
//!
//! **nginx**, FastCGI:
//!
//! <!-- deployment-test: nginx-fastcgi -->
//! ```nginx
//! location /greet {
//!     fastcgi_split_path_info ^(/greet)(.*)$;
//!     include fastcgi_params;
//!     fastcgi_param SCRIPT_NAME $fastcgi_script_name;
//!     fastcgi_param PATH_INFO   $fastcgi_path_info;
//!     fastcgi_param HTTP_PROXY  "";   # httpoxy: nginx forwards a client's Proxy header otherwise
//!     fastcgi_pass unix:/run/greet/greet.sock;
//! }
//! ```
//!
//! **nginx**, SCGI (`./greet --scgi unix:/run/greet/greet.sock`; nginx has no
//! `scgi_split_path_info`, so the location's own captures split the path):
//!
//! <!-- deployment-test: nginx-scgi -->
//! ```nginx
//! location ~ ^(?<script_name>/greet)(?<script_path_info>/.*)?$ {
//!     include scgi_params;
//!     scgi_param SCRIPT_NAME $script_name;
//!     scgi_param PATH_INFO   $script_path_info;
//!     scgi_param HTTP_PROXY  "";
//!     scgi_pass unix:/run/greet/greet.sock;
//! }
//! ```
//!
//! **lighttpd**, which starts the program itself (as its own user; its stderr goes to
//! lighttpd's stderr, not `server.errorlog`) and stops it with SIGTERM (Debian's lighttpd
//! has mod_fastcgi built in; the line loads it elsewhere):
//!
//! <!-- deployment-test: lighttpd-fastcgi -->
//! ```lighttpd
//! server.modules += ( "mod_fastcgi" )
//! fastcgi.server += ( "/greet" => ((
//!     "bin-path"    => "/usr/lib/cgi-bin/greet",
//!     "socket"      => "/run/lighttpd/greet.sock",
//!     "max-procs"   => 1,
//!     "check-local" => "disable",
//! )))
//! ```
//!
//! **Apache httpd**, mod_proxy_fcgi, with the program running as a service (`greet
//! --fastcgi 127.0.0.1:9000`), and `PATH_INFO` asked for (on Debian, `a2enmod proxy_fcgi
//! setenvif` replaces the `LoadModule` lines):
//!
//! <!-- deployment-test: apache-fastcgi -->
//! ```apache
//! LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
//! LoadModule proxy_fcgi_module /usr/lib/apache2/modules/mod_proxy_fcgi.so
//! LoadModule setenvif_module /usr/lib/apache2/modules/mod_setenvif.so
//! ProxyFCGIBackendType GENERIC
//! SetEnvIf Request_URI "^/greet" proxy-fcgi-pathinfo=unescape
//! ProxyPass "/greet" "fcgi://127.0.0.1:9000"
//! ```
//!
//! With Unix sockets (`"unix:/run/greet.sock|fcgi://greet"`), give each program its own
//! name after `fcgi://`: Apache pools connections by that name, and sends requests for one
//! program to another's socket when two share it.
//!
//! (mod_fcgid, which starts programs itself with a listening socket as standard input,
//! should work the same way; it is not tested here.)
//!
//! What stays the same: every request gets a fresh [`Request`] with its own variables,
//! cookies and body limits; a panic answers that request `500` and the process goes on;
//! uploads' temporary files are removed after each request. What to watch:
//!
//! - `static`s, `thread_local!`s and leaked memory now live across requests (that is
//!   where a cache can go, behind a `Mutex`, and where a bug can pile up);
//! - requests run at the same time on worker threads: shared state needs `Mutex` or
//!   atomics, and `std::env::set_var` affects every request (it is also unsound with
//!   threads: don't);
//! - `fastcgi_param` and `SetEnv` values are request variables, not the process's
//!   environment: configuration your code reads with `std::env::var` goes in the
//!   service's environment (systemd `Environment=`, lighttpd `bin-environment`);
//! - a [`LocalRedirect`] is a CGI feature: nginx and lighttpd send the client a `302`
//!   instead, and Apache's mod_proxy_fcgi an empty `200`; use a [`Redirect`];
//! - a new build takes effect when the process restarts (SIGTERM is a graceful stop);
//! - keep `panic = "unwind"` (the default) in your release profile: with `abort`, one
//!   panic ends the process and every request in it.
//!
//! ### One process per request at a time: `--processes N`
//!
//! Worker threads share one process: an abort, a stack overflow, a segfault in a C
//! library or the OOM killer ends every request in flight. With `--processes N` the
//! program supervises N processes of itself instead, as php-fpm, uWSGI and gunicorn do:
//! it binds the socket and passes it to each child as its standard input (as any FastCGI
//! process manager does), and each child answers one request at a time.
//!
//! ```sh
//! ./greet --fastcgi unix:/run/greet/greet.sock --processes 8 \
//!     --max-requests 10000 --request-timeout 30 --status-path /fpm-status
//! ```
//!
//! - A child that dies, however, takes only its own request with it (the web server
//!   answers that one `502`) and is replaced; the others go on. The log says which
//!   process ended, how (`was ended by signal 6 (SIGABRT)`), and on which request.
//! - `--max-requests N`: a child stops after N requests and another takes its place,
//!   which bounds what a leak can pile up. The socket stays open meanwhile: no request is
//!   refused.
//! - `--request-timeout SECONDS`: a child whose request runs longer is killed (SIGKILL)
//!   and replaced, with a line in the log naming the request and how long it ran:
//!   `greet: slow request: "GET /greet?x=1" ran 30.02 s, past --request-timeout 30:
//!   killed process 4242`.
//! - `--status-path PATH`: a request for PATH (through the web server, like any other) is
//!   answered by the supervisor's view of the pool, in JSON, for a monitoring system to
//!   read: `accepted` (requests begun since the start), `active` (being answered, this
//!   one included), `idle` and `starting` processes, `all_busy` (how many requests took
//!   the last idle process, so that the next one had to wait: raise N if it grows),
//!   `timed_out`, `replaced` (processes that ended and were replaced), and `per_process`:
//!   each one's `pid`, `state` and `requests`. Keep PATH from the public (an nginx
//!   `location` with `allow 127.0.0.1; deny all;`).
//! - SIGTERM stops the children once their requests are answered, then the supervisor
//!   exits. A child whose supervisor dies finishes its request and exits too.
//!
//! Each child is the same binary, started again (`--workers` does not apply: one request
//! per process). Threads share memory and start nothing; processes cost a little more
//! memory and a little more time per request, and isolate requests from each other.
//! Linux only, for now.
//!
//! ### More than one machine
//!
//! Run the program on each machine with a TCP address, and list them in one nginx
//! `upstream`:
//!
//! <!-- deployment-test: nginx-upstream -->
//! ```nginx
//! upstream greet {
//!     server 10.0.0.11:9000;
//!     server 10.0.0.12:9000;
//! }
//! location /greet {
//!     include fastcgi_params;
//!     fastcgi_param HTTP_PROXY "";
//!     fastcgi_pass greet;
//!     # The default: a GET that a backend failed (refused, reset, closed before its
//!     # answer) is sent again to the next one. A POST that was sent is never resent.
//!     fastcgi_next_upstream error timeout;
//! }
//! ```
//!
//! If one machine stops (even killed outright), nginx sends its idempotent requests to
//! the others; only a request that had been sent in full and was not idempotent fails.
//!
//! **FastCGI has no authentication and no encryption.** Whoever can connect to the port
//! can send any request, with any `REMOTE_ADDR`, `REMOTE_USER` or `HTTPS` variable it
//! likes, and read the answers. So: bind each backend to a private address on a network
//! only the web servers reach (`--fastcgi 10.0.0.11:9000`, never `0.0.0.0:9000` on a
//! machine with a public address), and let a firewall admit the web servers' addresses
//! alone to that port. On one machine, prefer a Unix socket, which file permissions
//! guard.
//!
//! ## Common mistakes
//!
//! What the compiler or the script says, and what to change. Each message points at the
//! argument or return type at fault.
//!
//! **warning: "`name: String` receives the request body as text, not `?name=...` from the
//! URL"** (on `fn greet(name: String)`): a `String` argument is the request *body* (empty
//! for a `GET`: `/?name=Ada` answers `Hello, !`), not a query parameter. Name the
//! parameters in a struct and take [`Query<T>`] ([`Form<T>`] for a submitted form); to
//! read the body, call the argument `body` or `text`:
//!
//! ```
//! fn greet(name: String) -> String { // without the attribute: no warning, same answer
//!     format!("Hello, {name}!")
//! }
//! let response = cgi::test::TestRequest::get("/?name=Ada").call(greet);
//! assert_eq!(response.text(), "Hello, !"); // the body of a GET: nothing
//!
//! #[derive(serde::Deserialize)]
//! struct Greeting {
//!     name: String,
//! }
//! #[cgi::main]
//! fn greet_fixed(cgi::Query(greeting): cgi::Query<Greeting>) -> String {
//!     format!("Hello, {}!", greeting.name)
//! }
//! let response = cgi::test::TestRequest::get("/?name=Ada").call(greet_fixed);
//! assert_eq!(response.text(), "Hello, Ada!");
//! ```
//!
//! **"`Order` cannot be read from JSON: it needs `#[derive(serde::Deserialize)]`"** (or
//! "from a form", "from the query string"): the type inside [`Json`], [`Form`] or [`Query`]
//! is decoded by serde. Add `#[derive(serde::Deserialize)]` to it, and serde with its
//! `derive` feature to your `Cargo.toml` (`cargo add serde --features derive`).
//!
//! ```compile_fail
//! struct Order { item: String } // the fix: #[derive(serde::Deserialize)] on this line
//!
//! #[cgi::main]
//! fn order(cgi::Json(order): cgi::Json<Order>) -> String {
//!     order.item
//! }
//! ```
//!
//! **"`Form<Comment>` and `Json<Comment>` both read the request body, but a request has
//! only one body"**, or **"`Form<Comment>` reads the request body, so it must be the last
//! argument"**: keep one body extractor (`Form`, `Json`, `String`, `Bytes`, `Multipart`,
//! `Request`...), as the last argument; the others (`Query`, `Cookies`, `Method`,
//! `Csrf`...) go before it.
//!
//! ```compile_fail
//! # #[derive(serde::Deserialize)] struct Comment { text: String }
//! #[cgi::main]
//! fn post(cgi::Form(form): cgi::Form<Comment>, cgi::Json(json): cgi::Json<Comment>) -> String { // the fix: keep one
//!     format!("{} {}", form.text, json.text)
//! }
//! ```
//!
//! **"a handler cannot return `Result<String, std::io::Error>`: `std::io::Error` is not a
//! response"**: return `Result<T, cgi::Error>`. `?` turns any error into one, answered
//! `500` with the details in the server's error log only; [`Error::new`] answers with a
//! status and message of your choice (section 5).
//!
//! ```compile_fail
//! #[cgi::main]
//! fn motd() -> Result<String, std::io::Error> { // the fix: Result<String, cgi::Error>
//!     std::fs::read_to_string("/etc/motd")
//! }
//! ```
//!
//! **"cannot find module or crate `cgikit`"** and **"`main` function not found"** (from
//! `#[cgikit::main]`): the package is called `cgikit`, but its library is `cgi`. Write
//! `#[cgi::main]` and `use cgi::...`.
//!
//! ```compile_fail
//! #[cgikit::main] // the fix: #[cgi::main]
//! fn hello() -> &'static str {
//!     "Hello, world!\n"
//! }
//! ```
//!
//! **"`Query<String>` can never be read: a query string or form is a list of name=value
//! pairs, which no single value holds"**: take a struct with one field per name, or
//! `Query<HashMap<String, String>>` for names you do not know in advance; the raw text is
//! [`Request::query_string`].
//!
//! ```
//! use std::collections::HashMap;
//!
//! #[cgi::main]
//! fn any(cgi::Query(query): cgi::Query<HashMap<String, String>>) -> String {
//!     format!("{:?}", query.get("name"))
//! }
//! let response = cgi::test::TestRequest::get("/?name=Ada").call(any);
//! assert_eq!(response.text(), "Some(\"Ada\")");
//! ```
//!
//! **"this program has two `main` functions"**: `#[cgi::main]` writes `fn main`. Remove
//! yours, or keep it and call [`run`] from it without the attribute.
//!
//! **A `Location` header and a `500`** ("a `Location` header with status 200" in the error
//! log): a `Location` goes with a redirect status. Return a [`Redirect`] (or set a 3xx
//! status on the [`Response`]).
//!
//! **A POST answered `403` "This form has expired or did not come from this site"**: the
//! form lacks [`Csrf::hidden_input`], or the page did not send [`Csrf::cookie`] (section 3).
//!
//! ## Features
//!
//! - `json` (on by default): [`Json`], with `serde_json`.
//! - `sessions` (off by default): `Session` and `Flash`, signed cookies (with `hmac` and
//!   `sha2`). Off, a script compiles neither crate.
//! - `serve` (on by default): `--serve`, the development web server (with `tiny_http`), in
//!   debug builds (`cargo run -- --serve`). Release builds, the ones you deploy, leave it
//!   out: binding its socket and process functions would cost every request about 13% more
//!   start-up instructions.
//! - `tokio` (off): `#[cgi::main] async fn` and async handlers for [`run`]; the
//!   `service` module: any tower service (an axum `Router`, unchanged) deployed as the
//!   script in every mode (`cgi::service::run`), and a handler as a tower service, to serve
//!   with axum or hyper when a script outgrows CGI (`cgi::service::from_handler`). Adds
//!   tokio (the `rt` and `sync` features only), `tower-service` and `http-body`; a
//!   script that leaves it off compiles and starts as before.

#![forbid(unsafe_code)]

/// Turns a function into a complete CGI program.
///
/// The function stays as written, an ordinary function you can call and unit-test; the
/// attribute adds a `fn main()` that reads the request, extracts each argument in order,
/// calls the function, and writes what it returns as the CGI response.
///
/// ```no_run
/// use cgi::{Html, Query};
///
/// #[derive(serde::Deserialize)]
/// struct Greeting {
///     name: String,
/// }
///
/// #[cgi::main]
/// fn greet(Query(greeting): Query<Greeting>) -> Html<String> {
///     Html(format!("<p>Hello, {}!</p>", cgi::html::escape(&greeting.name)))
/// }
/// ```
///
/// # Rules
///
/// - Every argument is an extractor: [`Query<T>`](crate::Query), [`Cookies`],
///   [`Method`], [`HeaderMap`], `Option<E>`,
///   `Result<E, E::Rejection>`, or your own [`FromRequestParts`] type.
///   The **last** argument may also read the body: [`Form<T>`](crate::Form),
///   [`Request`], or your own [`FromRequest`] type.
/// - The return type implements [`IntoResponse`]; no return type
///   answers `204 No Content`.
/// - The function is not generic, not a method. It may be called `main`. It may be an
///   `async fn` with the `tokio` feature: the arguments are extracted first, then it is
///   awaited on a current-thread tokio runtime, built only for it (see `cgi::service` for
///   how FastCGI and SCGI run it). Without the feature, the compile error names it.
/// - The attribute writes `fn main`: a `fn main` of your own beside it is an error (call
///   [`run`] from your `main` instead of using the attribute, if you need one).
/// - The package is `cgikit`, but the library is imported as `cgi`: `#[cgi::main]`,
///   `cgi::Query`. `#[cgikit::main]` gets ``cannot find module or crate `cgikit` `` and
///   ``main function not found``, which no library can change.
///
/// A mistake gets one compile error, at the argument or return type at fault, saying what
/// would work.
///
/// A `String` argument is the request body as text. Named anything but `body` or `text`
/// (or `..._body`, `..._text`), as in `fn greet(name: String)`, it is most likely meant to
/// be the query string's `name`, which it is not (`/?name=Ada` gives an empty string): it
/// gets a warning that names [`Query<T>`](crate::Query). Calling it `body` says that the
/// body is meant, and silences the warning.
///
/// # Arguments
///
/// - `max_body = N`: the largest body accepted, in bytes (default 2 MiB); a larger one is
///   answered with `413 Content Too Large`. Any constant expression: `max_body = 10 << 20`.
/// - `crate = "path"`: where cgikit is, if the dependency is renamed
///   (`my_cgi = { package = "cgikit", ... }` → `crate = "my_cgi"`).
///
/// ```no_run
/// #[cgi::main(max_body = 64 * 1024)]
/// fn small(request: cgi::Request) -> String {
///     format!("{} bytes", request.body().len())
/// }
/// ```
///
/// # What it expands to
///
/// Roughly this, written by hand (the real expansion checks each argument separately, so
/// errors point at the argument):
///
/// ```no_run
/// use cgi::{Html, Query};
/// # #[derive(serde::Deserialize)] struct Greeting { name: String }
///
/// fn greet(Query(greeting): Query<Greeting>) -> Html<String> {
///     Html(format!("<p>Hello, {}!</p>", cgi::html::escape(&greeting.name)))
/// }
///
/// fn main() {
///     cgi::run_with(cgi::Limits::default(), greet);
/// }
/// ```
#[doc(inline)]
pub use cgi_macros::main;

#[doc(inline)]
pub use cgi_runtime::{
    Body, BodyRejection, Bytes, Contextual, Cookies, Csrf, Error, Field, Form, FormRejection,
    FromRequest, FromRequestParts, Handler, HeaderMap, Html, IntoResponse, Limits, LocalRedirect,
    Method, Multipart, MultipartError, MultipartForm, PathInfo, PathInfoRejection, Query,
    QueryRejection, Redirect, RemoteAddr, RemoteAddrRejection, Request, RequestBody, Response,
    ResponseBuilder, SameSite, SetCookie, StatusCode, StringRejection, Upload, html, http, run,
    run_with, test,
};

#[cfg(feature = "json")]
#[doc(inline)]
pub use cgi_runtime::{Json, JsonRejection};

#[cfg(feature = "tokio")]
#[doc(inline)]
pub use cgi_runtime::service;
#[cfg(feature = "sessions")]
#[doc(inline)]
pub use cgi_runtime::{Flash, FlashMessage, Session};

/// What `#[cgi::main]` expands to. Not a public API: it may change in any release.
#[doc(hidden)]
pub use cgi_runtime::__private;
