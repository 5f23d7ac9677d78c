//! Rejection types: what an extractor answers when the input is wrong.

use http::StatusCode;

use crate::response::{IntoResponse, Response};

/// Defines a rejection: a status and a one-line reason, shown to the client as plain text
/// and written to the server's error log.
macro_rules! define_rejection {
    ($(#[$doc:meta])* pub struct $name:ident;) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            status: StatusCode,
            reason: String,
        }

        impl $name {
            pub(crate) fn new(status: StatusCode, reason: String) -> Self {
                $name { status, reason }
            }

            /// The status this rejection answers with; see the type's documentation.
            pub fn status(&self) -> StatusCode {
                self.status
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.reason)
            }
        }

        impl std::error::Error for $name {}

        impl IntoResponse for $name {
            fn into_response(self) -> Response {
                Response::rejection(self.status, self.reason)
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
