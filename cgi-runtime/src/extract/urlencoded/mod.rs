//! `application/x-www-form-urlencoded` into serde types, for `Query` and `Form`.

mod de;

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use crate::percent;

/// Why urlencoded input could not become the target type.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum UrlencodedError {
    /// Bad percent-encoding, or text that is not UTF-8 once decoded.
    Malformed(String),
    /// Well-formed, but not what the type needs; the message names the field.
    Mismatch(String),
}

/// A decoded name and value.
pub(crate) type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Decodes `input` into `T`. Unlike WHATWG's lenient decoder, which keeps a stray `%` and
/// replaces invalid UTF-8 with U+FFFD, malformed input is an error: silently altered form
/// data is worse than a clear 400.
///
/// A repeated key fills a sequence field; see [`de::Deserializer`] for the rules.
pub(crate) fn from_bytes<T: DeserializeOwned>(input: &[u8]) -> Result<T, UrlencodedError> {
    from_pairs(decode_pairs(input).map_err(UrlencodedError::Malformed)?)
}

/// Deserializes decoded pairs into `T` (for fields that never were urlencoded, like a
/// multipart form's).
///
/// A blank value for an `Option` field whose type cannot be empty (a number input left
/// blank) reads as `None`, as if the field had not been sent.
pub(crate) fn from_pairs<T: DeserializeOwned>(pairs: Vec<Pair<'_>>) -> Result<T, UrlencodedError> {
    let mut plan = de::Plan::default();
    loop {
        match attempt(&pairs, plan.clone()) {
            Ok(value) => return Ok(value),
            Err(failure) => match failure.blank_field() {
                Some(field) if !plan.blank_is_none.contains(&field) => {
                    plan.blank_is_none.push(field);
                }
                _ => return Err(UrlencodedError::Mismatch(failure.message())),
            },
        }
    }
}

/// Deserializes decoded pairs into `T` if they fit, and finds what is wrong with every
/// field that does not: `(field, message for people)` pairs, the field `""` for an error
/// that belongs to no field. See [`Contextual`](crate::Contextual).
pub(crate) fn check<T: DeserializeOwned>(pairs: &[Pair<'_>]) -> (Option<T>, Vec<(String, String)>) {
    let mut plan = de::Plan::default();
    let mut errors: Vec<(String, String)> = Vec::new();
    // Each failed attempt either reads one more field as blank or makes up one more
    // field's value, so there are at most twice as many attempts as `T` has fields.
    loop {
        let failure = match attempt::<T>(pairs, plan.clone()) {
            Ok(value) => return (errors.is_empty().then_some(value), errors),
            Err(failure) => failure,
        };
        if let Some(field) = failure.blank_field()
            && !plan.blank_is_none.contains(&field)
            && !plan.made_up.contains(&field)
        {
            plan.blank_is_none.push(field);
            continue;
        }
        let field = failure.field.clone().unwrap_or_default();
        if !errors.iter().any(|(known, _)| *known == field) {
            errors.push((field.clone(), failure.error.for_people().to_owned()));
        }
        if field.is_empty() || plan.made_up.contains(&field) {
            // Nothing left to make up: the errors found so far are all there will be.
            return (None, errors);
        }
        plan.made_up.push(field);
    }
}

/// Why one attempt at deserializing failed.
struct Failure {
    /// Where, as serde_path_to_error writes it: `age`, `tag[1]`, `.` for the whole form.
    path: String,
    /// The top-level field at fault, if any.
    field: Option<String>,
    error: de::Error,
}

impl Failure {
    /// The message `Form<T>` answers with, naming the field.
    fn message(&self) -> String {
        if self.path == "." || self.error.names_the_field() {
            self.error.to_string()
        } else {
            format!("field `{}`: {}", self.path, self.error)
        }
    }

    /// The top-level field, if the error is a blank value that did not parse.
    fn blank_field(&self) -> Option<String> {
        self.field
            .clone()
            .filter(|_| self.error.empty_value() && self.error.missing().is_none())
    }
}

fn attempt<T: DeserializeOwned>(pairs: &[Pair<'_>], plan: de::Plan) -> Result<T, Failure> {
    // Borrowed, so that another attempt needs no copy of the text.
    let pairs = pairs
        .iter()
        .map(|(key, value)| (Cow::Borrowed(&**key), Cow::Borrowed(&**value)))
        .collect();
    serde_path_to_error::deserialize(de::Deserializer::new(pairs, plan)).map_err(|error| {
        let path = error.path().to_string();
        let first = match error.path().iter().next() {
            Some(serde_path_to_error::Segment::Map { key }) => Some(key.clone()),
            _ => None,
        };
        let error = error.into_inner();
        Failure {
            path,
            field: error.missing().map(str::to_owned).or(first),
            error,
        }
    })
}

/// Splits `input` into pairs at `&` (skipping empty ones) and each pair at its first `=`,
/// decoding `+` and `%HH`, as `form_urlencoded::parse` does, but strictly: a `%` without
/// two hex digits, or text that is not UTF-8 once decoded, is an error naming its byte.
pub(crate) fn decode_pairs(input: &[u8]) -> Result<Vec<Pair<'_>>, String> {
    let mut pairs = Vec::new();
    let mut offset = 0;
    for pair in input.split(|&byte| byte == b'&') {
        let start = offset;
        offset += pair.len() + 1;
        if pair.is_empty() {
            continue;
        }
        let (key, value, value_start) = match pair.iter().position(|&byte| byte == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..], start + at + 1),
            None => (pair, &[][..], start + pair.len()),
        };
        // Both halves decoded before either is checked: a bad `%` anywhere in the pair
        // is reported before text that is not UTF-8.
        let key = decode_component(key, start)?;
        let value = decode_component(value, value_start)?;
        let not_utf8 = || format!("the text at byte {start} is not UTF-8 once decoded");
        pairs.push((
            into_text(key).ok_or_else(not_utf8)?,
            into_text(value).ok_or_else(not_utf8)?,
        ));
    }
    Ok(pairs)
}

/// `+` and `%HH` decoded; borrowed when there are none. `start` is its offset in the input.
fn decode_component(bytes: &[u8], start: usize) -> Result<Cow<'_, [u8]>, String> {
    if !bytes.iter().any(|&byte| byte == b'%' || byte == b'+') {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => decoded.push(b' '),
            b'%' => {
                let byte = percent::escaped_byte(bytes, index).ok_or_else(|| {
                    format!(
                        "malformed percent-encoding at byte {}: `%` must be followed by two hex digits",
                        start + index
                    )
                })?;
                decoded.push(byte);
                index += 2;
            }
            byte => decoded.push(byte),
        }
        index += 1;
    }
    Ok(Cow::Owned(decoded))
}

fn into_text(bytes: Cow<'_, [u8]>) -> Option<Cow<'_, str>> {
    match bytes {
        Cow::Borrowed(bytes) => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
        Cow::Owned(bytes) => String::from_utf8(bytes).ok().map(Cow::Owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Person {
        name: String,
        age: u8,
        nickname: Option<String>,
    }

    #[test]
    fn decodes_fields() {
        let person: Person = from_bytes(b"name=Ada+Lovelace&age=36&nickname=%C3%A9").unwrap();
        assert_eq!(
            person,
            Person {
                name: "Ada Lovelace".into(),
                age: 36,
                nickname: Some("é".into())
            }
        );
    }

    #[test]
    fn errors_name_the_field() {
        let missing = from_bytes::<Person>(b"age=3").unwrap_err();
        assert_eq!(
            missing,
            UrlencodedError::Mismatch("missing field `name`".into())
        );
        let wrong = from_bytes::<Person>(b"name=x&age=old").unwrap_err();
        assert!(
            matches!(&wrong, UrlencodedError::Mismatch(m) if m.starts_with("field `age`: ")),
            "{wrong:?}"
        );
        let repeated = from_bytes::<Person>(b"name=x&age=1&age=2").unwrap_err();
        assert_eq!(
            repeated,
            UrlencodedError::Mismatch("duplicate field `age`".into())
        );
    }

    #[test]
    fn well_formed_input_decodes_as_the_whatwg_parser_does() {
        for input in [
            &b""[..],
            b"a=1&b=2",
            b"&&a=1&&",
            b"a",
            b"=v&k=&=",
            b"a=b=c",
            b"x+y=%2B%26%3D+z",
            b"%C3%A9t%C3%A9=%E2%82%AC&a=1&a=2",
        ] {
            let strict = decode_pairs(input).unwrap();
            let whatwg: Vec<_> = form_urlencoded::parse(input).collect();
            assert_eq!(strict, whatwg, "{}", input.escape_ascii());
        }
    }

    #[test]
    fn malformed_encoding_is_rejected() {
        for bad in [
            &b"a=%"[..],
            b"a=%2",
            b"a=%zz",
            b"a=%%",
            b"a=1&b=%C3",
            b"a=%C3%28",
            b"a=%C0%AF",
            b"a=%ED%A0%80",
            b"a=\xff",
        ] {
            assert!(
                matches!(
                    from_bytes::<BTreeMap<String, String>>(bad),
                    Err(UrlencodedError::Malformed(_))
                ),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn odd_but_valid_shapes() {
        let map: BTreeMap<String, String> =
            from_bytes(b"a=1=2&=v&k=&&flag&plus=%2B&nul=%00").unwrap();
        assert_eq!(map["a"], "1=2");
        assert_eq!(map[""], "v");
        assert_eq!(map["k"], "");
        assert_eq!(map["flag"], "");
        assert_eq!(map["plus"], "+");
        assert_eq!(map["nul"], "\0");
    }
}
