//! `MultipartForm<T>`: an upload form's text fields in a struct, its files as `Upload`s.

use http::StatusCode;

use super::{Multipart, MultipartError, Upload};
use crate::bounds::FormFields;
use crate::extract::private::ViaRequest;
use crate::extract::{FromRequest, urlencoded};
use crate::request::Request;

/// A `multipart/form-data` form received whole: its text fields decoded into `T` (serde,
/// the same rules as [`Form`](crate::Form), repeated fields into `Vec`s), its files
/// received into temporary files ([`Upload`]s) that are deleted when the handler returns
/// unless it [persists](Upload::persist) them.
///
/// A file input left empty (no file chosen) is left out. A part without a name is a
/// `400`; text fields that do not fit `T` are a `422` naming the field; limits as for
/// [`Multipart`] (`413`). Raise `max_body` for uploads: `#[cgi::main(max_body = 50 << 20)]`.
///
/// ```
/// use cgi::{Html, MultipartForm};
///
/// #[derive(serde::Deserialize)]
/// struct Assignment {
///     student: String,
///     course: String,
/// }
///
/// fn submit(form: MultipartForm<Assignment>) -> Result<Html<String>, cgi::Error> {
///     let Some(report) = form.file("report") else {
///         return Err(cgi::Error::new(cgi::StatusCode::UNPROCESSABLE_ENTITY, "Attach your report."));
///     };
///     // report.persist(format!("/srv/submissions/{}.pdf", ...))?;
///     Ok(Html(format!(
///         "<p>{} handed in {} bytes for {}.</p>",
///         cgi::html::escape(&form.fields.student),
///         report.size(),
///         cgi::html::escape(&form.fields.course),
///     )))
/// }
///
/// let body = cgi::test::MultipartBody::new()
///     .text("student", "Ada")
///     .text("course", "CS101")
///     .file("report", "report.pdf", "application/pdf", b"%PDF-1.7 ...");
/// let response = cgi::test::TestRequest::post("/").multipart(body).call(submit);
/// assert_eq!(response.text(), "<p>Ada handed in 12 bytes for CS101.</p>");
/// ```
#[derive(Debug)]
pub struct MultipartForm<T> {
    /// The text fields.
    pub fields: T,
    files: Vec<(String, Upload)>,
}

impl<T> MultipartForm<T> {
    /// The first file sent under `name`.
    ///
    /// ```
    /// fn size(form: cgi::MultipartForm<()>) -> String {
    ///     form.file("doc").map_or("none".into(), |doc| doc.size().to_string())
    /// }
    /// let body = cgi::test::MultipartBody::new().file("doc", "a.txt", "text/plain", b"abc");
    /// assert_eq!(cgi::test::TestRequest::post("/").multipart(body).call(size).text(), "3");
    /// ```
    pub fn file(&self, name: &str) -> Option<&Upload> {
        self.files
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, upload)| upload)
    }

    /// Every file sent under `name` (an `<input type="file" multiple>`), in order.
    ///
    /// ```
    /// fn count(form: cgi::MultipartForm<()>) -> String { form.files("photos").count().to_string() }
    /// let body = cgi::test::MultipartBody::new()
    ///     .file("photos", "a.jpg", "image/jpeg", b"1")
    ///     .file("photos", "b.jpg", "image/jpeg", b"2");
    /// assert_eq!(cgi::test::TestRequest::post("/").multipart(body).call(count).text(), "2");
    /// ```
    pub fn files<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Upload> + 'a {
        self.files
            .iter()
            .filter(move |(field, _)| field == name)
            .map(|(_, upload)| upload)
    }

    /// Takes the first file sent under `name` out of the form, to keep it (with
    /// [`Upload::persist`]) after the form is gone.
    ///
    /// ```
    /// fn take(mut form: cgi::MultipartForm<()>) -> String {
    ///     let upload = form.take_file("doc");
    ///     format!("{} {}", upload.is_some(), form.file("doc").is_none())
    /// }
    /// let body = cgi::test::MultipartBody::new().file("doc", "a.txt", "text/plain", b"abc");
    /// assert_eq!(cgi::test::TestRequest::post("/").multipart(body).call(take).text(), "true true");
    /// ```
    pub fn take_file(&mut self, name: &str) -> Option<Upload> {
        let index = self.files.iter().position(|(field, _)| field == name)?;
        Some(self.files.remove(index).1)
    }
}

/// For any `T: serde::de::DeserializeOwned` (`FormFields` is that bound, named for its
/// compile error).
impl<T: FormFields> FromRequest<ViaRequest> for MultipartForm<T> {
    type Rejection = MultipartError;

    fn from_request(request: Request) -> Result<Self, Self::Rejection> {
        let mut multipart = Multipart::from_request(request)?;
        let max_fields = multipart.limits.get_max_fields();
        let mut text = Vec::new();
        let mut text_fields = 0;
        let mut files = Vec::new();
        while let Some(field) = multipart.next_field()? {
            let Some(name) = field.name().map(str::to_owned) else {
                return Err(MultipartError::malformed("a part has no name"));
            };
            if field.file_name().is_some() {
                let upload = field.into_upload()?;
                // A file input left empty sends `filename=""` and no data: no file.
                if upload.size() > 0
                    || upload
                        .file_name()
                        .is_some_and(|file_name| !file_name.is_empty())
                {
                    files.push((name, upload));
                }
            } else {
                text_fields += 1;
                if text_fields > max_fields {
                    return Err(MultipartError::too_large(format!(
                        "more than {max_fields} form fields"
                    )));
                }
                let value = field.text()?;
                text.push((name.into(), value.into()));
            }
        }
        let fields = urlencoded::from_pairs(text).map_err(|error| {
            let (urlencoded::UrlencodedError::Malformed(reason)
            | urlencoded::UrlencodedError::Mismatch(reason)) = error;
            MultipartError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Invalid form data: {reason}"),
            )
        })?;
        Ok(MultipartForm { fields, files })
    }
}
