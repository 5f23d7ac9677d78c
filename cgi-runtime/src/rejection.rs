//! Rejections: what an extractor answers when the input is wrong. Every one is a status
//! and a one-line reason, defined here together so that they read alike.

/// Defines a rejection: a status and a one-line reason, shown to the client as plain text
/// and written to the server's error log.
macro_rules! define_rejection {
    ($(#[$doc:meta])* pub struct $name:ident;) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            status: http::StatusCode,
            reason: String,
            /// For the error log only: what the client is not told (an OS error, a path).
            detail: Option<String>,
        }

        impl $name {
            pub(crate) fn new(status: http::StatusCode, reason: String) -> Self {
                $name { status, reason, detail: None }
            }

            /// Adds a detail for the server's error log, kept from the client.
            #[allow(dead_code)] // not every rejection has details
            pub(crate) fn with_detail(mut self, detail: impl std::fmt::Display) -> Self {
                self.detail = Some(detail.to_string());
                self
            }

            /// The parts, for another rejection to answer the same way.
            #[allow(dead_code)] // not every rejection is passed on
            pub(crate) fn into_parts(self) -> (http::StatusCode, String, Option<String>) {
                (self.status, self.reason, self.detail)
            }

            /// The same answer as another rejection (say, a body that could not be read),
            /// its detail for the error log included.
            #[allow(dead_code)] // not every rejection takes another's answer
            pub(crate) fn from_parts(
                (status, reason, detail): (http::StatusCode, String, Option<String>),
            ) -> Self {
                $name { status, reason, detail }
            }

            /// The status this rejection answers with; see the type's documentation.
            pub fn status(&self) -> http::StatusCode {
                self.status
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.reason)
            }
        }

        // Deliberately not `std::error::Error`: `cgi::Error` turns every such error into a
        // generic 500, while a rejection converts through this `From` and keeps its status.
        impl From<$name> for $crate::Error {
            fn from(rejection: $name) -> Self {
                $crate::Error::new(rejection.status, rejection.reason)
            }
        }

        impl $crate::IntoResponse for $name {
            fn into_response(self) -> $crate::Response {
                let mut response = $crate::Response::rejection(self.status, self.reason.clone());
                if let Some(detail) = self.detail {
                    response.set_diagnostic(format!("{} {} ({detail})", self.status.as_u16(), self.reason));
                }
                response
            }
        }
    };
}

define_rejection! {
    /// Why [`Query`](crate::Query) failed: `400 Bad Request`, with a reason that names the
    /// field (a missing field, a value of the wrong type, a repeated field) or points at
    /// malformed percent-encoding.
    ///
    /// ```
    /// use cgi::{Query, QueryRejection};
    /// #[derive(serde::Deserialize)]
    /// struct Search { q: String }
    ///
    /// fn search(result: Result<Query<Search>, QueryRejection>) -> String {
    ///     match result {
    ///         Ok(Query(search)) => search.q,
    ///         Err(rejection) => format!("{}: {rejection}", rejection.status().as_u16()),
    ///     }
    /// }
    /// let response = cgi::test::TestRequest::get("/?p=1").call(search);
    /// assert_eq!(response.text(), "400: Invalid query string: missing field `q`");
    /// ```
    pub struct QueryRejection;
}

define_rejection! {
    /// Why [`Form`](crate::Form) failed:
    ///
    /// | problem | status |
    /// |---|---|
    /// | the body is not `application/x-www-form-urlencoded` | `415 Unsupported Media Type` |
    /// | the body ended early or could not be read | `400 Bad Request` |
    /// | malformed percent-encoding, or not UTF-8 | `400 Bad Request` |
    /// | a field is missing or has the wrong type (named in the reason) | `422 Unprocessable Content` |
    /// | the same, for a GET form (read from the query string) | `400 Bad Request` |
    ///
    /// ```
    /// use cgi::{Form, FormRejection};
    /// #[derive(serde::Deserialize)]
    /// struct Vote { choice: u8 }
    ///
    /// fn vote(result: Result<Form<Vote>, FormRejection>) -> String {
    ///     match result {
    ///         Ok(Form(vote)) => format!("voted {}", vote.choice),
    ///         Err(rejection) => rejection.status().as_u16().to_string(),
    ///     }
    /// }
    /// let response = cgi::test::TestRequest::post("/").form(&[("choice", "many")]).call(vote);
    /// assert_eq!(response.text(), "422");
    /// ```
    pub struct FormRejection;
}

define_rejection! {
    /// Why a `String` body could not be read: `415 Unsupported Media Type` when the
    /// `Content-Type` declares a charset other than UTF-8, `400 Bad Request` when the bytes
    /// are not UTF-8 or the body ended early.
    ///
    /// ```
    /// fn echo(body: String) -> String { body }
    /// let response = cgi::test::TestRequest::post("/").body(vec![0xC3, 0x28]).call(echo);
    /// assert_eq!(response.status(), cgi::StatusCode::BAD_REQUEST);
    /// ```
    pub struct StringRejection;
}

define_rejection! {
    /// Why [`PathInfo`](crate::PathInfo) failed: `400 Bad Request` when `PATH_INFO` is not
    /// UTF-8.
    ///
    /// ```
    /// fn rest(cgi::PathInfo(path): cgi::PathInfo) -> String { path }
    /// # #[cfg(unix)] {
    /// use std::os::unix::ffi::OsStrExt;
    /// let raw = std::ffi::OsStr::from_bytes(b"/caf\xE9");
    /// let response = cgi::test::TestRequest::get("/").var("PATH_INFO", raw).call(rest);
    /// assert_eq!(response.status(), cgi::StatusCode::BAD_REQUEST);
    /// # }
    /// ```
    pub struct PathInfoRejection;
}

define_rejection! {
    /// Why [`RemoteAddr`](crate::RemoteAddr) failed: `500 Internal Server Error`, because
    /// the server did not set a valid `REMOTE_ADDR`, which RFC 3875 §4.1.8 requires. Take
    /// `Option<RemoteAddr>` to do without.
    ///
    /// ```
    /// fn who(addr: cgi::RemoteAddr) -> String { addr.to_string() }
    /// let response = cgi::test::TestRequest::get("/").var("REMOTE_ADDR", "").call(who);
    /// assert_eq!(response.status(), cgi::StatusCode::INTERNAL_SERVER_ERROR);
    /// ```
    pub struct RemoteAddrRejection;
}

define_rejection! {
    /// Why the request body could not be read: it ended before `CONTENT_LENGTH` bytes, or
    /// the read failed. Answers `400 Bad Request`.
    ///
    /// ```
    /// fn read(mut request: cgi::Request) -> Result<String, cgi::BodyRejection> {
    ///     Ok(format!("{} bytes", request.body_mut().read_to_vec()?.len()))
    /// }
    /// // CONTENT_LENGTH says 10, but only 3 bytes arrive:
    /// let response = cgi::test::TestRequest::post("/").body("abc").var("CONTENT_LENGTH", "10").call(read);
    /// assert_eq!(response.status(), cgi::StatusCode::BAD_REQUEST);
    /// ```
    pub struct BodyRejection;
}

define_rejection! {
    /// Why a multipart body could not be read (as a rejection, or an error from
    /// [`Multipart::next_field`](crate::Multipart::next_field) and a [`Field`](crate::Field)'s reads): `415` not `multipart/form-data`, `400`
    /// malformed (no boundary, a bad part, the body ends early), `413` over a limit, `500`
    /// a temporary file could not be written.
    ///
    /// ```
    /// fn upload(multipart: Result<cgi::Multipart, cgi::MultipartError>) -> String {
    ///     match multipart {
    ///         Ok(_) => "ok".into(),
    ///         Err(error) => format!("{}: {error}", error.status().as_u16()),
    ///     }
    /// }
    /// let response = cgi::test::TestRequest::post("/").header("Content-Type", "text/plain").body("x").call(upload);
    /// assert!(response.text().starts_with("415: "));
    /// ```
    pub struct MultipartError;
}

#[cfg(feature = "json")]
define_rejection! {
    /// Why [`Json`](crate::Json) failed:
    ///
    /// | problem | status |
    /// |---|---|
    /// | the body is not `application/json` | `415 Unsupported Media Type` |
    /// | the body ended early, or is not valid JSON (syntax) | `400 Bad Request` |
    /// | valid JSON of the wrong shape (the reason names the field) | `422 Unprocessable Content` |
    ///
    /// ```
    /// use cgi::{Json, JsonRejection};
    /// #[derive(serde::Deserialize)]
    /// struct Point { x: i32 }
    ///
    /// fn status(result: Result<Json<Point>, JsonRejection>) -> String {
    ///     result.map_or_else(|rejection| rejection.to_string(), |Json(p)| p.x.to_string())
    /// }
    /// let response = cgi::test::TestRequest::post("/")
    ///     .header("Content-Type", "application/json")
    ///     .body(r#"{"x": "one"}"#)
    ///     .call(status);
    /// assert!(response.text().starts_with("Invalid JSON data: field `x`: invalid type"));
    /// ```
    pub struct JsonRejection;
}
