//! `Form<T>`: an HTML form, typed.

use http::{Method, StatusCode};

use super::urlencoded::{self, UrlencodedError};
use super::{FromRequest, media_type, private::ViaRequest, query, unsupported_media_type};
use crate::bounds::FormFields;
use crate::rejection::FormRejection;
use crate::request::Request;

/// An HTML form submission, decoded into `T` with serde.
///
/// For `POST` (and other methods with a body) the body must be
/// `application/x-www-form-urlencoded`, as browsers send it; for `GET` and `HEAD` the
/// form is read from the query string, as browsers send a `method="get"` form. Reads the
/// body, so it must be the last argument. See [`FormRejection`] for what bad input gets.
///
/// ```
/// use cgi::{Form, Html};
///
/// #[derive(serde::Deserialize)]
/// struct Signup {
///     email: String,
///     newsletter: Option<String>, // an unticked checkbox is simply absent
/// }
///
/// fn signup(Form(form): Form<Signup>) -> Html<String> {
///     let email = cgi::html::escape(&form.email);
///     Html(format!("<p>Welcome, {email}! Newsletter: {}</p>", form.newsletter.is_some()))
/// }
///
/// let response = cgi::test::TestRequest::post("/").form(&[("email", "a@example.com")]).call(signup);
/// assert_eq!(response.text(), "<p>Welcome, a@example.com! Newsletter: false</p>");
///
/// let response = cgi::test::TestRequest::post("/").form(&[("newsletter", "on")]).call(signup);
/// assert_eq!(response.status(), cgi::StatusCode::UNPROCESSABLE_ENTITY);
/// assert_eq!(response.text(), "Invalid form data: missing field `email`\n");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Form<T>(pub T);

const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";

/// For any `T: serde::de::DeserializeOwned` (`FormFields` is that bound, named for its
/// compile error).
impl<T: FormFields> FromRequest<ViaRequest> for Form<T> {
    type Rejection = FormRejection;

    fn from_request(mut request: Request) -> Result<Self, Self::Rejection> {
        if request.method() == Method::GET || request.method() == Method::HEAD {
            return query::from_query(&request)
                .map(Form)
                .map_err(|rejection| FormRejection::from_parts(rejection.into_parts()));
        }
        let content_type = request.content_type();
        if !content_type
            .is_some_and(|value| media_type(value).eq_ignore_ascii_case(FORM_MEDIA_TYPE))
        {
            let reason = unsupported_media_type("a form body", FORM_MEDIA_TYPE, content_type);
            return Err(FormRejection::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                reason,
            ));
        }
        let body = request
            .body_mut()
            .read_to_vec()
            .map_err(|rejection| FormRejection::from_parts(rejection.into_parts()))?;
        urlencoded::from_bytes(&body)
            .map(Form)
            .map_err(|error| match error {
                UrlencodedError::Malformed(reason) => FormRejection::new(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid form data: {reason}"),
                ),
                UrlencodedError::Mismatch(reason) => FormRejection::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("Invalid form data: {reason}"),
                ),
            })
    }
}

super::impl_deref!(Form);
