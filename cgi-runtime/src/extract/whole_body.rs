//! Whole bodies as extractors: `String`, `Vec<u8>`, `Bytes`.

use http::StatusCode;

use super::private::ViaRequest;
use super::{FromRequest, media_type_parameter};
use crate::rejection::BodyRejection;
use crate::rejection::StringRejection;
use crate::request::Request;

/// The body as text. A `Content-Type` that declares another charset than UTF-8 answers
/// `415`; bytes that are not UTF-8 answer `400`.
///
/// ```
/// fn shout(text: String) -> String { text.to_uppercase() }
/// let response = cgi::test::TestRequest::post("/").header("Content-Type", "text/plain; charset=utf-8").body("hi").call(shout);
/// assert_eq!(response.text(), "HI");
/// let response = cgi::test::TestRequest::post("/").header("Content-Type", "text/plain; charset=latin1").body("hi").call(shout);
/// assert_eq!(response.status(), cgi::StatusCode::UNSUPPORTED_MEDIA_TYPE);
/// ```
impl FromRequest<ViaRequest> for String {
    type Rejection = StringRejection;

    fn from_request(mut request: Request) -> Result<Self, Self::Rejection> {
        if let Some(charset) = request
            .content_type()
            .and_then(|content_type| media_type_parameter(content_type, "charset"))
            && !(charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("us-ascii"))
        {
            return Err(StringRejection::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("The request body's charset is `{charset}`; this script reads UTF-8 only."),
            ));
        }
        let bytes = request
            .body_mut()
            .read_to_vec()
            .map_err(|rejection| StringRejection::from_parts(rejection.into_parts()))?;
        String::from_utf8(bytes).map_err(|error| {
            StringRejection::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "The request body is not UTF-8 (invalid byte at offset {}).",
                    error.utf8_error().valid_up_to()
                ),
            )
        })
    }
}

/// The body's bytes, whatever they are.
///
/// ```
/// fn size(body: Vec<u8>) -> String { format!("{} bytes", body.len()) }
/// assert_eq!(cgi::test::TestRequest::post("/").body(vec![0xFF; 3]).call(size).text(), "3 bytes");
/// ```
impl FromRequest<ViaRequest> for Vec<u8> {
    type Rejection = BodyRejection;

    fn from_request(mut request: Request) -> Result<Self, Self::Rejection> {
        request.body_mut().read_to_vec()
    }
}

/// The body's bytes as [`Bytes`](crate::Bytes) (from the `bytes` crate, which `http` uses).
///
/// ```
/// fn size(body: cgi::Bytes) -> String { format!("{} bytes", body.len()) }
/// assert_eq!(cgi::test::TestRequest::post("/").body("abcd").call(size).text(), "4 bytes");
/// ```
impl FromRequest<ViaRequest> for bytes::Bytes {
    type Rejection = BodyRejection;

    fn from_request(mut request: Request) -> Result<Self, Self::Rejection> {
        request.body_mut().read_to_vec().map(bytes::Bytes::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_is_found_in_any_case_and_quoting() {
        assert_eq!(
            media_type_parameter("text/plain; charset=UTF-8", "charset"),
            Some("UTF-8")
        );
        assert_eq!(
            media_type_parameter("text/plain;Charset=\"latin1\"; x=y", "charset"),
            Some("latin1")
        );
        assert_eq!(media_type_parameter("text/plain", "charset"), None);
    }
}
