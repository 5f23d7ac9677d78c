//! `Form<Contextual<T>>`: a form that keeps what was typed, with a message per field.

use http::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::form::{self, Form};
use super::urlencoded;
use super::{FromRequest, private::ViaRequest};
use crate::rejection::FormRejection;
use crate::request::Request;

/// A submitted form as the person typed it: every value as text, a message for each field
/// that does not fit `T`, and `T` itself when everything fits. Take it as
/// `Form<Contextual<T>>`, as in Rocket; unlike a plain [`Form<T>`](crate::Form), a field
/// that does not fit is not a `422` before the handler runs: the handler shows the form
/// again, filled in with [`input`](Contextual::input), each field with its
/// [`error`](Contextual::error).
///
/// Messages are written for people and follow the field's label: `is required` (a field
/// not sent, or a number left blank), `must be a whole number`, `must be at most 255`,
/// `must be a number`, `must be true or false`, `is not one of the choices`, `was sent
/// more than once`; a message of your own type's `Deserialize` (a `try_from` check) as
/// it is. Every field is checked, not only the first that fails. A blank `Option<u32>`
/// is `None`, and an unticked checkbox is not sent at all: give a `bool` field
/// `#[serde(default)]`.
///
/// Add your own checks with [`add_error`](Contextual::add_error); the form then counts as
/// not valid. Input that no browser sends (a body that is not a form, bad
/// percent-encoding) is still refused before the handler runs, as for `Form<T>`.
///
/// ```
/// use cgi::{Contextual, Form, Html, IntoResponse, Method, Redirect, Response, StatusCode};
/// use cgi::html::escape;
///
/// #[derive(serde::Deserialize)]
/// struct Settings {
///     title: String,
///     max_items: u32,
/// }
///
/// fn settings(method: Method, Form(mut form): Form<Contextual<Settings>>) -> Response {
///     if method == Method::POST {
///         if form.input("title").trim().is_empty() {
///             form.add_error("title", "is required");
///         }
///         if let Some(settings) = form.value() {
///             // ... save settings.title and settings.max_items ...
///             # let _ = (&settings.title, settings.max_items);
///             return Redirect::to("/settings").into_response();
///         }
///         return (StatusCode::UNPROCESSABLE_ENTITY, page(&form)).into_response();
///     }
///     page(&Contextual::from_inputs([("title", "My list"), ("max_items", "10")])).into_response()
/// }
///
/// fn page(form: &Contextual<Settings>) -> Html<String> {
///     let field = |name: &str, label: &str| {
///         let error = form.error(name).map(|error| format!(" <em>{label} {}</em>", escape(error)));
///         format!(r#"<label>{label} <input name="{name}" value="{}"></label>{}"#,
///                 escape(form.input(name)), error.unwrap_or_default())
///     };
///     Html(format!("<form method=post>{}{}</form>", field("title", "Title"), field("max_items", "Max items")))
/// }
///
/// // What the person typed comes back, with a message for each field.
/// let response = cgi::test::TestRequest::post("/").form(&[("title", " "), ("max_items", "abc")]).call(settings);
/// assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
/// assert!(response.text().contains(r#"value="abc""#));
/// assert!(response.text().contains("<em>Title is required</em>"));
/// assert!(response.text().contains("<em>Max items must be a whole number</em>"));
///
/// let response = cgi::test::TestRequest::post("/").form(&[("title", "Tasks"), ("max_items", "20")]).call(settings);
/// assert_eq!(response.status(), StatusCode::SEE_OTHER);
/// ```
#[derive(Debug, Clone)]
pub struct Contextual<T> {
    value: Option<T>,
    inputs: Vec<(String, String)>,
    errors: Vec<(String, String)>,
}

impl<T> Default for Contextual<T> {
    /// A blank form: no input, no errors, no value.
    ///
    /// ```
    /// let form = cgi::Contextual::<()>::default();
    /// assert_eq!(form.input("anything"), "");
    /// assert!(form.value().is_none() && form.errors().next().is_none());
    /// ```
    fn default() -> Self {
        Contextual {
            value: None,
            inputs: Vec::new(),
            errors: Vec::new(),
        }
    }
}

impl<T> Contextual<T> {
    /// A form filled in with these values and no errors, to show a form with what is
    /// stored (a settings page); it has no [`value`](Contextual::value).
    ///
    /// ```
    /// let form = cgi::Contextual::<()>::from_inputs([("title", "Tasks"), ("tag", "a"), ("tag", "b")]);
    /// assert_eq!(form.input("title"), "Tasks");
    /// assert_eq!(form.inputs("tag").collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn from_inputs<K: Into<String>, V: Into<String>>(
        inputs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Contextual {
            value: None,
            inputs: inputs
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
            errors: Vec::new(),
        }
    }

    /// `T`, when every field fits and no [error was added](Contextual::add_error).
    ///
    /// ```
    /// use cgi::{Contextual, Form};
    /// #[derive(serde::Deserialize)]
    /// struct Age { age: u8 }
    /// fn check(Form(form): Form<Contextual<Age>>) -> String {
    ///     form.value().map_or("invalid".into(), |age| age.age.to_string())
    /// }
    /// assert_eq!(cgi::test::TestRequest::post("/").form(&[("age", "36")]).call(check).text(), "36");
    /// assert_eq!(cgi::test::TestRequest::post("/").form(&[("age", "300")]).call(check).text(), "invalid");
    /// ```
    pub fn value(&self) -> Option<&T> {
        self.value.as_ref().filter(|_| self.errors.is_empty())
    }

    /// `T`, taken out, when every field fits and no error was added.
    ///
    /// ```
    /// use cgi::{Contextual, Form};
    /// #[derive(serde::Deserialize)]
    /// struct Name { name: String }
    /// fn take(Form(form): Form<Contextual<Name>>) -> String {
    ///     form.into_value().map_or("?".into(), |name| name.name)
    /// }
    /// assert_eq!(cgi::test::TestRequest::post("/").form(&[("name", "Ada")]).call(take).text(), "Ada");
    /// ```
    pub fn into_value(self) -> Option<T> {
        self.value.filter(|_| self.errors.is_empty())
    }

    /// Whether every field fits and no error was added.
    ///
    /// ```
    /// let mut form = cgi::Contextual::<()>::default();
    /// assert!(form.is_valid());
    /// form.add_error("name", "is taken");
    /// assert!(!form.is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// What was sent for the field `name`, as typed (the first value if it came more than
    /// once); `""` if nothing was. Escape it before putting it in a page.
    ///
    /// ```
    /// use cgi::{Contextual, Form};
    /// #[derive(serde::Deserialize)]
    /// struct Count { count: u32 }
    /// fn typed(Form(form): Form<Contextual<Count>>) -> String {
    ///     format!("{:?} {:?}", form.input("count"), form.input("other"))
    /// }
    /// let response = cgi::test::TestRequest::post("/").form(&[("count", "twelve")]).call(typed);
    /// assert_eq!(response.text(), r#""twelve" """#);
    /// ```
    pub fn input(&self, name: &str) -> &str {
        self.inputs
            .iter()
            .find(|(field, _)| field == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// Every value sent for the field `name`, in order: the ticked boxes of a checkbox
    /// group, the options of a `<select multiple>`.
    ///
    /// ```
    /// let form = cgi::Contextual::<()>::from_inputs([("tag", "a"), ("tag", "b")]);
    /// let checked = |value: &str| if form.inputs("tag").any(|tag| tag == value) { " checked" } else { "" };
    /// assert_eq!((checked("a"), checked("c")), (" checked", ""));
    /// ```
    pub fn inputs<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.inputs
            .iter()
            .filter(move |(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    /// The message for the field `name`, if it has one: the first found, or added.
    ///
    /// ```
    /// use cgi::{Contextual, Form};
    /// #[derive(serde::Deserialize)]
    /// struct Level { level: u8, name: String }
    /// fn errors(Form(form): Form<Contextual<Level>>) -> String {
    ///     format!("{:?} {:?}", form.error("level"), form.error("name"))
    /// }
    /// let response = cgi::test::TestRequest::post("/").form(&[("level", "-1")]).call(errors);
    /// assert_eq!(response.text(), r#"Some("must be at least 0") Some("is required")"#);
    /// ```
    pub fn error(&self, name: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, message)| message.as_str())
    }

    /// Every `(field, message)`, in the order found: the fields in `T`'s order as far as
    /// the input allows, then the ones added. The field is `""` for an error of the form
    /// as a whole.
    ///
    /// ```
    /// use cgi::{Contextual, Form};
    /// #[derive(serde::Deserialize)]
    /// struct Pair { a: u8, b: u8 }
    /// fn all(Form(form): Form<Contextual<Pair>>) -> String {
    ///     form.errors().map(|(field, message)| format!("{field} {message}")).collect::<Vec<_>>().join("; ")
    /// }
    /// let response = cgi::test::TestRequest::post("/").form(&[("a", "x"), ("b", "1000")]).call(all);
    /// assert_eq!(response.text(), "a must be a whole number; b must be at most 255");
    /// ```
    pub fn errors(&self) -> impl Iterator<Item = (&str, &str)> {
        self.errors
            .iter()
            .map(|(field, message)| (field.as_str(), message.as_str()))
    }

    /// Adds a message for the field `name` (a check of your own: a name already taken, a
    /// date in the past); the form is then not valid. A field keeps its first message.
    ///
    /// ```
    /// let mut form = cgi::Contextual::<()>::from_inputs([("user", "root")]);
    /// form.add_error("user", "is taken");
    /// form.add_error("user", "is too short");
    /// assert_eq!(form.error("user"), Some("is taken"));
    /// assert!(form.value().is_none());
    /// ```
    pub fn add_error(&mut self, name: impl Into<String>, message: impl Into<String>) {
        let name = name.into();
        if self.error(&name).is_none() {
            self.errors.push((name, message.into()));
        }
    }
}

/// `Form<Contextual<T>>`: the form's values and per-field errors, `T` if everything fits.
/// For `GET` and `HEAD` it reads the query string, as [`Form<T>`](crate::Form) does.
impl<T: DeserializeOwned> FromRequest<ViaRequest> for Form<Contextual<T>> {
    type Rejection = FormRejection;

    fn from_request(mut request: Request) -> Result<Self, Self::Rejection> {
        let bytes = if request.method() == Method::GET || request.method() == Method::HEAD {
            request.var("QUERY_STRING").unwrap_or_default().to_vec()
        } else {
            form::read_body(&mut request)?
        };
        let pairs = urlencoded::decode_pairs(&bytes).map_err(|reason| {
            FormRejection::new(
                StatusCode::BAD_REQUEST,
                format!("Invalid form data: {reason}"),
            )
        })?;
        let (value, errors) = urlencoded::check(&pairs);
        let inputs = pairs
            .into_iter()
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        Ok(Form(Contextual {
            value,
            inputs,
            errors,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test::TestRequest;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Color {
        Red,
        Green,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[allow(dead_code)] // read through Debug and the errors
    struct Everything {
        name: String,
        age: u8,
        ratio: f64,
        initial: char,
        color: Color,
        #[serde(default)]
        subscribed: bool,
        limit: Option<u32>,
        tag: Vec<u16>,
        pin: std::num::NonZeroU16,
    }

    fn errors_of(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        let response =
            TestRequest::post("/")
                .form(fields)
                .call(|Form(form): Form<Contextual<Everything>>| {
                    assert_eq!(form.value().is_some(), form.is_valid());
                    form.errors()
                        .map(|(field, message)| format!("{field}={message}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                });
        response
            .text()
            .lines()
            .map(|line| {
                let (field, message) = line.split_once('=').unwrap();
                (field.to_owned(), message.to_owned())
            })
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    const GOOD: [(&str, &str); 7] = [
        ("name", "Ada"),
        ("age", "36"),
        ("ratio", "0.5"),
        ("initial", "A"),
        ("color", "red"),
        ("tag", "1"),
        ("pin", "1234"),
    ];

    #[test]
    fn a_form_that_fits_has_its_value() {
        assert_eq!(errors_of(&GOOD), []);
        let response = TestRequest::post("/")
            .form(&GOOD)
            .call(|Form(form): Form<Contextual<Everything>>| format!("{:?}", form.into_value()));
        assert!(
            response
                .text()
                .starts_with("Some(Everything { name: \"Ada\""),
            "{}",
            response.text()
        );
        assert!(
            response.text().contains("limit: None"),
            "{}",
            response.text()
        );
    }

    #[test]
    fn every_field_that_does_not_fit_gets_a_message_for_people() {
        let errors = errors_of(&[
            ("name", "Ada"),
            ("age", "300"),
            ("ratio", "half"),
            ("initial", "AB"),
            ("color", "blue"),
            ("subscribed", "maybe"),
            ("limit", "-1"),
            ("tag", "1"),
            ("tag", "x"),
            ("pin", "0"),
        ]);
        assert_eq!(
            errors,
            pairs(&[
                ("age", "must be at most 255"),
                ("ratio", "must be a number"),
                ("initial", "must be a single character"),
                ("color", "is not one of the choices"),
                ("subscribed", "must be true or false"),
                ("limit", "must be at least 0"),
                ("tag", "must be a whole number"),
                // serde's own check of a `NonZeroU16` says nothing for people.
                ("pin", "is not valid"),
            ])
        );
    }

    #[test]
    fn missing_and_blank_fields_are_required_unless_optional() {
        // Nothing sent: every required field, in the struct's order; not `subscribed`
        // (defaulted) nor `limit` (an Option).
        assert_eq!(
            errors_of(&[]),
            pairs(&[
                ("name", "is required"),
                ("age", "is required"),
                ("ratio", "is required"),
                ("initial", "is required"),
                ("color", "is required"),
                ("tag", "is required"),
                ("pin", "is required"),
            ])
        );
        // Sent blank, as a browser sends untouched inputs: text is fine as empty, a blank
        // number is required, a blank optional number is `None`.
        let blank: Vec<(&str, &str)> = GOOD
            .iter()
            .map(|&(name, value)| (name, if name == "name" { "" } else { value }))
            .chain([("age", ""), ("limit", "")])
            .filter(|&(name, value)| !(name == "age" && value == "36"))
            .collect();
        assert_eq!(errors_of(&blank), pairs(&[("age", "is required")]));
    }

    #[test]
    fn a_type_that_refuses_the_made_up_value_does_not_hide_the_fields_after_it() {
        // `pin` fails, and so does the zero made up for it: it is read last, so the
        // errors of the fields sent after it are found all the same.
        let mut fields = vec![("pin", "0")];
        fields.extend(
            GOOD.iter()
                .filter(|(name, _)| *name != "pin" && *name != "age"),
        );
        fields.push(("age", "x"));
        assert_eq!(
            errors_of(&fields),
            pairs(&[("pin", "is not valid"), ("age", "must be a whole number")])
        );
    }

    #[test]
    fn repeated_scalars_and_unknown_fields() {
        let mut fields = GOOD.to_vec();
        fields.push(("age", "37"));
        fields.push(("unknown", "ignored"));
        assert_eq!(
            errors_of(&fields),
            pairs(&[("age", "was sent more than once")])
        );
    }

    #[test]
    fn the_input_is_kept_as_typed() {
        let response = TestRequest::post("/")
            .form(&[
                ("name", "<Ada>"),
                ("age", "thirty"),
                ("tag", "1"),
                ("tag", "2"),
            ])
            .call(|Form(form): Form<Contextual<Everything>>| {
                format!(
                    "{}|{}|{:?}|{}",
                    form.input("name"),
                    form.input("age"),
                    form.inputs("tag").collect::<Vec<_>>(),
                    form.error("age").unwrap_or("-"),
                )
            });
        assert_eq!(
            response.text(),
            "<Ada>|thirty|[\"1\", \"2\"]|must be a whole number"
        );
    }

    #[test]
    fn get_reads_the_query_and_bad_encoding_is_still_refused() {
        let response =
            TestRequest::get("/?age=x").call(|Form(form): Form<Contextual<Everything>>| {
                form.error("age").unwrap_or("-").to_owned()
            });
        assert_eq!(response.text(), "must be a whole number");
        let response = TestRequest::post("/")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("name=%zz")
            .call(|_: Form<Contextual<Everything>>| "ran");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let response = TestRequest::post("/")
            .header("Content-Type", "text/plain")
            .body("name=x")
            .call(|_: Form<Contextual<Everything>>| "ran");
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
