//! `Json<T>`: JSON request bodies and responses (feature `json`, on by default).

use http::StatusCode;

use crate::bounds::{JsonInput, JsonOutput};
use crate::extract::private::ViaRequest;
use crate::extract::{FromRequest, media_type, unsupported_media_type};

use crate::rejection::JsonRejection;
use crate::request::Request;
use crate::response::{IntoResponse, Response};

/// JSON in or out.
///
/// As an extractor (the last argument: it reads the body), the body must be
/// `application/json` (or any `application/*+json`) and decode into `T`. As a response,
/// `T` is serialised and sent as `application/json`. See [`JsonRejection`] for what bad
/// input gets.
///
/// ```
/// use cgi::Json;
///
/// #[derive(serde::Deserialize)]
/// struct Sum { a: i64, b: i64 }
///
/// #[derive(serde::Serialize)]
/// struct Total { total: i64 }
///
/// fn add(Json(sum): Json<Sum>) -> Json<Total> {
///     Json(Total { total: sum.a + sum.b })
/// }
///
/// let response = cgi::test::TestRequest::post("/")
///     .header("Content-Type", "application/json")
///     .body(r#"{"a": 2, "b": 3}"#)
///     .call(add);
/// assert_eq!(response.header("content-type"), Some("application/json"));
/// assert_eq!(response.text(), r#"{"total":5}"#);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

/// For any `T: serde::de::DeserializeOwned` (`JsonInput` is that bound, named for its
/// compile error).
impl<T: JsonInput> FromRequest<ViaRequest> for Json<T> {
    type Rejection = JsonRejection;

    fn from_request(mut request: Request) -> Result<Self, Self::Rejection> {
        if !request.content_type().is_some_and(is_json_media_type) {
            let reason =
                unsupported_media_type("a JSON body", "application/json", request.content_type());
            return Err(JsonRejection::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                reason,
            ));
        }
        let body = request
            .body_mut()
            .read_to_vec()
            .map_err(|rejection| JsonRejection::from_parts(rejection.into_parts()))?;
        let mut deserializer = serde_json::Deserializer::from_slice(&body);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data if path == "." => JsonRejection::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("Invalid JSON data: {inner}"),
                ),
                serde_json::error::Category::Data => JsonRejection::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("Invalid JSON data: field `{path}`: {inner}"),
                ),
                _ => {
                    JsonRejection::new(StatusCode::BAD_REQUEST, format!("Malformed JSON: {inner}"))
                }
            }
        })?;
        deserializer.end().map_err(|error| {
            JsonRejection::new(StatusCode::BAD_REQUEST, format!("Malformed JSON: {error}"))
        })?;
        Ok(Json(value))
    }
}

/// `application/json`, or `application/<anything>+json` (`application/problem+json`).
fn is_json_media_type(content_type: &str) -> bool {
    let media_type = media_type(content_type).as_bytes();
    let Some(slash) = media_type.iter().position(|&byte| byte == b'/') else {
        return false;
    };
    let (kind, subtype) = (&media_type[..slash], &media_type[slash + 1..]);
    kind.eq_ignore_ascii_case(b"application")
        && (subtype.eq_ignore_ascii_case(b"json")
            || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case(b"+json"))
}

/// Serialises `T`; a value that cannot be serialised (a map with non-string keys, say)
/// is a bug in the script, answered with a generic 500 and logged.
///
/// For any `T: serde::Serialize` (`JsonOutput` is that bound, named for its compile error).
impl<T: JsonOutput> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(bytes) => Response::with_content_type("application/json", bytes.into()),
            Err(error) => {
                Response::failed(format!("could not serialise the JSON response: {error}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        for yes in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/problem+json",
        ] {
            assert!(is_json_media_type(yes), "{yes}");
        }
        for no in [
            "text/json",
            "application/jsonx",
            "application/+json",
            "json",
            "",
        ] {
            assert!(!is_json_media_type(no), "{no}");
        }
    }
}
