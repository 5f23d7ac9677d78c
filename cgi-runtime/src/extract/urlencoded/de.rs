//! A serde deserializer for urlencoded pairs that gives a sequence field every value of
//! its key (`tag=a&tag=b` into `Vec<String>`), as HTML forms send `<select multiple>` and
//! checkboxes. `serde_urlencoded` cannot, and its maintainers declined to add it
//! (nox/serde_urlencoded#109); `serde_html_form` can, but would cost nine crates.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Error as _, Unexpected, Visitor};
use serde::forward_to_deserialize_any;

use super::Pair;

/// Why well-formed pairs could not become the target type. Boxed: every deserializer
/// call returns a `Result` with it, and a small one keeps the successful path fast.
#[derive(Debug)]
pub(super) struct Error(Box<Details>);

#[derive(Debug)]
struct Details {
    /// For developers (the 422 of `Form<T>`): ``invalid digit found in string``.
    message: String,
    names_the_field: bool,
    /// For the people who filled in the form, to follow the field's label: "must be a
    /// whole number". `None` when only `message` can say what went wrong.
    for_people: Option<String>,
    /// The value was empty: a field left blank.
    empty_value: bool,
    /// A required field that was not sent, by name.
    missing: Option<&'static str>,
}

impl Error {
    fn new(message: String, for_people: Option<String>) -> Self {
        Error(Box::new(Details {
            message,
            names_the_field: false,
            for_people,
            empty_value: false,
            missing: None,
        }))
    }

    /// A single-valued field whose key came more than once.
    fn repeated_key(key: &str) -> Self {
        let mut error = Error::new(
            format!("duplicate field `{key}`"),
            Some("was sent more than once".to_owned()),
        );
        error.0.names_the_field = true;
        error
    }

    /// A text that did not parse as a `what`: `for_people` says what it must be.
    fn unparsed(text: &str, error: impl fmt::Display, for_people: String) -> Self {
        let empty_value = text.is_empty();
        let mut error = Error::new(
            error.to_string(),
            Some(if empty_value {
                "is required".to_owned()
            } else {
                for_people
            }),
        );
        error.0.empty_value = empty_value;
        error
    }

    /// Whether the message already names the field, so prefixing the path would repeat it.
    pub(super) fn names_the_field(&self) -> bool {
        self.0.names_the_field
    }

    /// What to tell the person who filled in the form, after the field's label.
    pub(super) fn for_people(&self) -> &str {
        self.0.for_people.as_deref().unwrap_or("is not valid")
    }

    /// Whether an empty value failed to parse: for an `Option` field, a blank input that
    /// should read as `None`.
    pub(super) fn empty_value(&self) -> bool {
        self.0.empty_value
    }

    /// The required field that was not sent, if that is the error.
    pub(super) fn missing(&self) -> Option<&'static str> {
        self.0.missing
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Self {
        // A message from a type's own `Deserialize` (a `try_from` check, say) was written
        // by the script's author: it is the best there is for people too.
        let message = message.to_string();
        Error::new(message.clone(), Some(message))
    }

    fn missing_field(field: &'static str) -> Self {
        let mut error = Error::new(
            format!("missing field `{field}`"),
            Some("is required".to_owned()),
        );
        error.0.missing = Some(field);
        error
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let developer = <serde::de::value::Error as de::Error>::unknown_variant(variant, expected);
        let for_people = if variant.is_empty() {
            "is required"
        } else {
            "is not one of the choices"
        };
        let mut error = Error::new(developer.to_string(), Some(for_people.to_owned()));
        error.0.empty_value = variant.is_empty();
        error
    }

    fn invalid_length(length: usize, expected: &dyn de::Expected) -> Self {
        let developer = <serde::de::value::Error as de::Error>::invalid_length(length, expected);
        Error::new(developer.to_string(), Some(format!("needs {expected}")))
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        let developer = <serde::de::value::Error as de::Error>::invalid_type(unexpected, expected);
        Error::new(developer.to_string(), None)
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        let developer = <serde::de::value::Error as de::Error>::invalid_value(unexpected, expected);
        Error::new(developer.to_string(), None)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0.message)
    }
}

impl std::error::Error for Error {}

/// Deserializes decoded urlencoded pairs.
///
/// - A struct or map reads the pairs grouped by key, in the order each key first appears.
/// - A sequence field (`Vec<T>`, `[T; N]`, tuples, sets) gets every value of its key, in
///   order. An absent key is a missing field unless the field has `#[serde(default)]`.
/// - A scalar field (string, number, `bool`, `char`, unit enum variant by name) needs
///   exactly one value; two or more are ``duplicate field `name` ``.
/// - `bool` is `true` or `false`, and also `on`, which an HTML checkbox sends when ticked.
/// - `Option<T>` is `Some` when the key is present (`k=` gives `Some("")` for a string).
/// - `deserialize_any` (`#[serde(flatten)]`, untagged enums) sees one value as a string
///   and several as a sequence; so, as with serde_urlencoded, a flattened struct cannot
///   hold numbers, `bool`s, or a `Vec` that received a single value.
/// - At top level a sequence (`Vec<(String, String)>`) gets the pairs in input order.
///
/// A [`Plan`] changes how some top-level fields are read, to go on past an error.
#[derive(Debug)]
pub(super) struct Deserializer<'de> {
    pairs: Vec<Pair<'de>>,
    plan: Plan,
}

impl<'de> Deserializer<'de> {
    pub(super) fn new(pairs: Vec<Pair<'de>>, plan: Plan) -> Self {
        Deserializer { pairs, plan }
    }
}

/// How to read some top-level fields differently from the input, to go on past an error
/// and find the next one (or to read a blank optional field as absent).
#[derive(Debug, Clone, Default)]
pub(super) struct Plan {
    /// Fields that failed already: each gets a made-up value (zero, empty, the first
    /// variant) whether it was sent or not, after all the other fields.
    pub(super) made_up: Vec<String>,
    /// `Option` fields sent blank whose type cannot be empty (a number): `None`.
    pub(super) blank_is_none: Vec<String>,
}

impl<'de> de::Deserializer<'de> for Deserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let mut groups = group_by_key(self.pairs);
        if !self.plan.made_up.is_empty() {
            // Made-up fields go last: a type whose own checks refuse the made-up value
            // then fails after every other field was read (and its errors found).
            groups.retain(|group| !self.plan.made_up.iter().any(|field| *field == group.key));
            groups.extend(self.plan.made_up.iter().map(|field| Group {
                key: Cow::Owned(field.clone()),
                values: Vec::new(),
            }));
        }
        visitor.visit_map(GroupsAccess {
            groups: groups.into_iter(),
            pending: None,
            plan: self.plan,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(PairsAccess {
            pairs: self.pairs.into_iter(),
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        tuple tuple_struct enum identifier ignored_any
    }
}

/// Every value of one key.
struct Group<'de> {
    key: Cow<'de, str>,
    values: Vec<Cow<'de, str>>,
}

/// Groups the pairs by key, keeping the order in which each key first appears.
fn group_by_key(pairs: Vec<Pair<'_>>) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    // Looking keys up by hash keeps grouping linear in the number of pairs.
    let mut group_index: HashMap<Cow<'_, str>, usize> = HashMap::new();
    for (key, value) in pairs {
        match group_index.get(&key) {
            Some(&index) => groups[index].values.push(value),
            None => {
                group_index.insert(key.clone(), groups.len());
                groups.push(Group {
                    key,
                    values: vec![value],
                });
            }
        }
    }
    groups
}

/// The groups as a map: key, then all its values.
struct GroupsAccess<'de> {
    groups: std::vec::IntoIter<Group<'de>>,
    pending: Option<Group<'de>>,
    plan: Plan,
}

impl<'de> de::MapAccess<'de> for GroupsAccess<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(group) = self.groups.next() else {
            return Ok(None);
        };
        let key = seed.deserialize(TextDeserializer(group.key.clone()))?;
        self.pending = Some(group);
        Ok(Some(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        // Serde never asks for a value before its key; an error beats a panic if it did.
        let group = self
            .pending
            .take()
            .ok_or_else(|| Error::custom("a value was requested before its key"))?;
        let reading = if self.plan.made_up.iter().any(|field| *field == group.key) {
            Reading::MadeUp
        } else if self
            .plan
            .blank_is_none
            .iter()
            .any(|field| *field == group.key)
        {
            Reading::BlankIsNone
        } else {
            Reading::AsSent
        };
        seed.deserialize(ValuesDeserializer {
            key: group.key,
            values: group.values,
            reading,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.groups.len())
    }
}

/// The pairs in input order, for a top-level sequence such as `Vec<(String, String)>`.
struct PairsAccess<'de> {
    pairs: std::vec::IntoIter<Pair<'de>>,
}

impl<'de> de::SeqAccess<'de> for PairsAccess<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.pairs
            .next()
            .map(|(key, value)| seed.deserialize(PairDeserializer { key, value }))
            .transpose()
    }
}

/// One pair, as a two-element tuple.
struct PairDeserializer<'de> {
    key: Cow<'de, str>,
    value: Cow<'de, str>,
}

impl<'de> de::Deserializer<'de> for PairDeserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visit_texts(visitor, [self.key, self.value].into_iter())
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// All the values of one key, deserialized as the field's type asks.
struct ValuesDeserializer<'de> {
    key: Cow<'de, str>,
    values: Vec<Cow<'de, str>>,
    reading: Reading,
}

/// How a [`ValuesDeserializer`] reads its values (see [`Plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    AsSent,
    /// A made-up value instead of what was sent.
    MadeUp,
    /// As sent, but a blank value of an `Option` is `None`.
    BlankIsNone,
}

impl<'de> ValuesDeserializer<'de> {
    /// The only value, for a field that holds one.
    fn single(self) -> Result<TextDeserializer<'de>, Error> {
        match <[Cow<'de, str>; 1]>::try_from(self.values) {
            Ok([value]) => Ok(TextDeserializer(value)),
            Err(_) => Err(Error::repeated_key(&self.key)),
        }
    }
}

/// Deserializer methods that need exactly one value, handed to [`TextDeserializer`].
macro_rules! forward_to_single_value {
    ($($method:ident($($argument:ident: $type:ty),*))*) => {
        $(
            fn $method<V: Visitor<'de>>(
                self,
                $($argument: $type,)*
                visitor: V,
            ) -> Result<V::Value, Error> {
                if self.reading == Reading::MadeUp {
                    return de::Deserializer::$method(MadeUp, $($argument,)* visitor);
                }
                de::Deserializer::$method(self.single()?, $($argument,)* visitor)
            }
        )*
    };
}

impl<'de> ValuesDeserializer<'de> {
    fn is_blank(&self) -> bool {
        matches!(&self.values[..], [value] if value.is_empty())
    }
}

impl<'de> de::Deserializer<'de> for ValuesDeserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.reading == Reading::MadeUp {
            return MadeUp.deserialize_any(visitor);
        }
        if self.values.len() == 1 {
            self.single()?.deserialize_any(visitor)
        } else {
            visit_texts(visitor, self.values.into_iter())
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.reading == Reading::MadeUp {
            return MadeUp.deserialize_seq(visitor);
        }
        visit_texts(visitor, self.values.into_iter())
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.reading {
            Reading::MadeUp => visitor.visit_none(),
            Reading::BlankIsNone if self.is_blank() => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // An unknown key is ignored however often it repeats.
        visitor.visit_unit()
    }

    forward_to_single_value! {
        deserialize_bool() deserialize_char() deserialize_str() deserialize_string()
        deserialize_i8() deserialize_i16() deserialize_i32() deserialize_i64() deserialize_i128()
        deserialize_u8() deserialize_u16() deserialize_u32() deserialize_u64() deserialize_u128()
        deserialize_f32() deserialize_f64() deserialize_bytes() deserialize_byte_buf()
        deserialize_unit() deserialize_unit_struct(name: &'static str)
        deserialize_map()
        deserialize_struct(name: &'static str, fields: &'static [&'static str])
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
        deserialize_identifier()
    }
}

/// Visits `texts` as a sequence; values left over (more than a `[T; N]` holds) are an error.
fn visit_texts<'de, V, I>(visitor: V, texts: I) -> Result<V::Value, Error>
where
    V: Visitor<'de>,
    I: ExactSizeIterator<Item = Cow<'de, str>>,
{
    let mut access = TextsAccess { texts, taken: 0 };
    let value = visitor.visit_seq(&mut access)?;
    match access.texts.len() {
        0 => Ok(value),
        left => Err(Error::invalid_length(
            access.taken + left,
            &ExpectedCount(access.taken),
        )),
    }
}

struct TextsAccess<I> {
    texts: I,
    taken: usize,
}

impl<'de, I: ExactSizeIterator<Item = Cow<'de, str>>> de::SeqAccess<'de> for TextsAccess<I> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some(text) = self.texts.next() else {
            return Ok(None);
        };
        self.taken += 1;
        seed.deserialize(TextDeserializer(text)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.texts.len())
    }
}

struct ExpectedCount(usize);

impl de::Expected for ExpectedCount {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => formatter.write_str("1 value"),
            count => write!(formatter, "{count} values"),
        }
    }
}

/// One decoded text: a value, or a key.
struct TextDeserializer<'de>(Cow<'de, str>);

/// Parses the text with `str::parse`, whose message ("invalid digit found in string")
/// becomes the error for developers; `$for_people` says what the value must be.
macro_rules! deserialize_parsed {
    ($($method:ident => $visit:ident, $for_people:expr;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                match self.0.parse() {
                    Ok(value) => visitor.$visit(value),
                    Err(error) => {
                        let for_people = $for_people(&*self.0, &error);
                        Err(Error::unparsed(&self.0, error, for_people))
                    }
                }
            }
        )*
    };
}

/// What an integer field must be, from why its text did not parse.
fn integer_for_people<T: fmt::Display>(
    text: &str,
    error: &std::num::ParseIntError,
    (min, max): (T, T),
) -> String {
    use std::num::IntErrorKind;
    match error.kind() {
        IntErrorKind::PosOverflow => format!("must be at most {max}"),
        IntErrorKind::NegOverflow => format!("must be at least {min}"),
        // `-3` for an unsigned field.
        _ if text.starts_with('-')
            && text.len() > 1
            && text[1..].bytes().all(|byte| byte.is_ascii_digit()) =>
        {
            format!("must be at least {min}")
        }
        _ => "must be a whole number".to_owned(),
    }
}

macro_rules! integer {
    ($type:ty) => {
        |text: &str, error: &std::num::ParseIntError| {
            integer_for_people(text, error, (<$type>::MIN, <$type>::MAX))
        }
    };
}

fn number_for_people(_: &str, _: &std::num::ParseFloatError) -> String {
    "must be a number".to_owned()
}

fn character_for_people(_: &str, _: &std::char::ParseCharError) -> String {
    "must be a single character".to_owned()
}

impl<'de> de::Deserializer<'de> for TextDeserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Cow::Borrowed(text) => visitor.visit_borrowed_str(text),
            Cow::Owned(text) => visitor.visit_string(text),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &*self.0 {
            "true" | "on" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            other => {
                let developer = <serde::de::value::Error as de::Error>::invalid_value(
                    Unexpected::Str(other),
                    &"`true`, `false` or `on`",
                );
                Err(Error::unparsed(
                    other,
                    developer,
                    "must be true or false".to_owned(),
                ))
            }
        }
    }

    deserialize_parsed! {
        deserialize_i8 => visit_i8, integer!(i8);
        deserialize_i16 => visit_i16, integer!(i16);
        deserialize_i32 => visit_i32, integer!(i32);
        deserialize_i64 => visit_i64, integer!(i64);
        deserialize_i128 => visit_i128, integer!(i128);
        deserialize_u8 => visit_u8, integer!(u8);
        deserialize_u16 => visit_u16, integer!(u16);
        deserialize_u32 => visit_u32, integer!(u32);
        deserialize_u64 => visit_u64, integer!(u64);
        deserialize_u128 => visit_u128, integer!(u128);
        deserialize_f32 => visit_f32, number_for_people;
        deserialize_f64 => visit_f64, number_for_people;
        deserialize_char => visit_char, character_for_people;
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Cow::Borrowed(text) => visitor.visit_borrowed_bytes(text.as_bytes()),
            Cow::Owned(text) => visitor.visit_byte_buf(text.into_bytes()),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(self)
    }

    forward_to_deserialize_any! {
        str string seq tuple tuple_struct map struct identifier ignored_any
    }
}

impl<'de> de::EnumAccess<'de> for TextDeserializer<'de> {
    type Error = Error;
    type Variant = UnitVariant;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, UnitVariant), Error> {
        seed.deserialize(self).map(|variant| (variant, UnitVariant))
    }
}

/// A variant named by text carries no data, so only unit variants fit.
struct UnitVariant;

impl<'de> de::VariantAccess<'de> for UnitVariant {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, Error> {
        Err(Error::invalid_type(
            Unexpected::UnitVariant,
            &"newtype variant",
        ))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        Err(Error::invalid_type(
            Unexpected::UnitVariant,
            &"tuple variant",
        ))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        Err(Error::invalid_type(
            Unexpected::UnitVariant,
            &"struct variant",
        ))
    }
}

/// A made-up value of whatever type asks: zero, `false`, empty, `None`, the first variant.
/// It stands in for a field that failed already, so that the fields after it are read and
/// their errors found too; the value it builds is never used.
struct MadeUp;

macro_rules! made_up_values {
    ($($method:ident => $visit:ident($value:expr),)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                visitor.$visit($value)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for MadeUp {
    type Error = Error;

    made_up_values! {
        deserialize_any => visit_str(""),
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i8(0),
        deserialize_i16 => visit_i16(0),
        deserialize_i32 => visit_i32(0),
        deserialize_i64 => visit_i64(0),
        deserialize_i128 => visit_i128(0),
        deserialize_u8 => visit_u8(0),
        deserialize_u16 => visit_u16(0),
        deserialize_u32 => visit_u32(0),
        deserialize_u64 => visit_u64(0),
        deserialize_u128 => visit_u128(0),
        deserialize_f32 => visit_f32(0.0),
        deserialize_f64 => visit_f64(0.0),
        deserialize_char => visit_char(' '),
        deserialize_str => visit_str(""),
        deserialize_string => visit_str(""),
        deserialize_identifier => visit_str(""),
        deserialize_bytes => visit_bytes(b""),
        deserialize_byte_buf => visit_bytes(b""),
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_none()
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visit_texts(visitor, std::iter::empty::<Cow<'de, str>>())
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(de::value::MapDeserializer::<
            std::iter::Empty<(&'de str, &'de str)>,
            Error,
        >::new(std::iter::empty()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let first = variants.first().copied().unwrap_or("");
        visitor.visit_enum(TextDeserializer(Cow::Borrowed(first)))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
    use std::fmt;

    use serde::Deserialize;

    use super::super::{UrlencodedError, from_bytes};

    fn mismatch<T: serde::de::DeserializeOwned + fmt::Debug>(input: &str) -> String {
        match from_bytes::<T>(input.as_bytes()) {
            Err(UrlencodedError::Mismatch(message)) => message,
            other => panic!("{input:?} gave {other:?}, not a mismatch"),
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Tagged {
        #[serde(rename = "tag")]
        tags: Vec<String>,
    }

    #[test]
    fn repeated_key_fills_a_sequence_in_order() {
        let tagged: Tagged = from_bytes(b"tag=b&other=x&tag=a&tag=c").unwrap();
        assert_eq!(tagged.tags, ["b", "a", "c"]);

        #[derive(Debug, Deserialize)]
        struct Plain {
            tag: Vec<u32>,
        }
        assert_eq!(from_bytes::<Plain>(b"tag=3&tag=1").unwrap().tag, [3, 1]);
        assert_eq!(from_bytes::<Plain>(b"tag=7").unwrap().tag, [7]);
    }

    #[test]
    fn other_sequence_types_take_every_value() {
        #[derive(Debug, Deserialize)]
        struct Shapes {
            array: [u8; 2],
            tuple: (String, u8),
            set: HashSet<String>,
            ordered: BTreeSet<i32>,
        }
        let shapes: Shapes =
            from_bytes(b"array=1&tuple=x&set=a&array=2&tuple=9&set=b&set=a&ordered=5&ordered=-1")
                .unwrap();
        assert_eq!(shapes.array, [1, 2]);
        assert_eq!(shapes.tuple, ("x".into(), 9));
        assert_eq!(shapes.set, HashSet::from(["a".into(), "b".into()]));
        assert_eq!(shapes.ordered, BTreeSet::from([-1, 5]));
    }

    #[test]
    fn wrong_count_for_a_fixed_size_sequence_names_the_field() {
        #[derive(Debug, Deserialize)]
        struct Pair {
            #[allow(dead_code)] // read only through Debug
            pair: [u8; 2],
        }
        assert_eq!(
            mismatch::<Pair>("pair=1&pair=2&pair=3"),
            "field `pair`: invalid length 3, expected 2 values"
        );
        assert!(mismatch::<Pair>("pair=1").starts_with("field `pair`: invalid length 1"));
    }

    #[test]
    fn bad_element_names_its_index() {
        #[derive(Debug, Deserialize)]
        struct Ids {
            #[allow(dead_code)] // read only through Debug
            id: Vec<u32>,
        }
        assert_eq!(
            mismatch::<Ids>("id=1&id=x"),
            "field `id[1]`: invalid digit found in string"
        );
    }

    #[test]
    fn absent_sequence_is_missing_unless_defaulted() {
        assert_eq!(mismatch::<Tagged>("other=1"), "missing field `tag`");

        #[derive(Debug, Deserialize)]
        struct Defaulted {
            #[serde(default)]
            tag: Vec<String>,
        }
        assert!(from_bytes::<Defaulted>(b"other=1").unwrap().tag.is_empty());
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Color {
        Red,
        Green,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Scalars {
        name: String,
        age: u8,
        ratio: f64,
        initial: char,
        color: Color,
        admin: bool,
    }

    #[test]
    fn scalars_parse_their_single_value() {
        let scalars: Scalars =
            from_bytes(b"name=Ada&age=36&ratio=-0.5&initial=%C3%A9&color=green&admin=false")
                .unwrap();
        assert_eq!(
            scalars,
            Scalars {
                name: "Ada".into(),
                age: 36,
                ratio: -0.5,
                initial: 'é',
                color: Color::Green,
                admin: false,
            }
        );
    }

    #[test]
    fn repeated_scalar_is_a_duplicate_field() {
        let base = "name=Ada&age=36&ratio=1&initial=A&color=red&admin=true";
        for key in ["name", "age", "ratio", "initial", "color", "admin"] {
            assert_eq!(
                mismatch::<Scalars>(&format!("{base}&{key}=again")),
                format!("duplicate field `{key}`")
            );
        }
    }

    #[test]
    fn bad_scalars_name_the_field() {
        let base = "name=Ada&ratio=1&initial=A&color=red&admin=true";
        assert_eq!(
            mismatch::<Scalars>(&format!("{base}&age=3x")),
            "field `age`: invalid digit found in string"
        );
        assert_eq!(
            mismatch::<Scalars>(&format!("{base}&age=300")),
            "field `age`: number too large to fit in target type"
        );
        let base = "name=Ada&age=1&ratio=1&admin=true";
        assert_eq!(
            mismatch::<Scalars>(&format!("{base}&initial=AB&color=red")),
            "field `initial`: too many characters in string"
        );
        assert_eq!(
            mismatch::<Scalars>(&format!("{base}&initial=A&color=blue")),
            "field `color`: unknown variant `blue`, expected `red` or `green`"
        );
    }

    #[test]
    fn bool_accepts_true_false_and_checkbox_on() {
        #[derive(Debug, Deserialize)]
        struct Flag {
            flag: bool,
        }
        assert!(from_bytes::<Flag>(b"flag=true").unwrap().flag);
        assert!(from_bytes::<Flag>(b"flag=on").unwrap().flag);
        assert!(!from_bytes::<Flag>(b"flag=false").unwrap().flag);
        for bad in ["flag=", "flag=1", "flag=yes", "flag=True"] {
            assert!(
                mismatch::<Flag>(bad).starts_with("field `flag`: invalid value"),
                "{bad}"
            );
        }
    }

    #[test]
    fn options_are_some_when_present() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct Optional {
            text: Option<String>,
            page: Option<u32>,
            tags: Option<Vec<String>>,
        }
        assert_eq!(
            from_bytes::<Optional>(b"").unwrap(),
            Optional {
                text: None,
                page: None,
                tags: None
            }
        );
        assert_eq!(
            from_bytes::<Optional>(b"text=&page=4&tags=a&tags=b").unwrap(),
            Optional {
                text: Some(String::new()),
                page: Some(4),
                tags: Some(vec!["a".into(), "b".into()])
            }
        );
        // A number input left blank is an absent number; blank text is empty text.
        assert_eq!(
            from_bytes::<Optional>(b"text=&page=").unwrap(),
            Optional {
                text: Some(String::new()),
                page: None,
                tags: None
            }
        );
        // Not for a required number, nor for a blank among several values.
        #[derive(Debug, Deserialize)]
        struct Required {
            #[allow(dead_code)] // read only through Debug
            page: u32,
        }
        assert_eq!(
            mismatch::<Required>("page="),
            "field `page`: cannot parse integer from empty string"
        );
        #[derive(Debug, Deserialize)]
        struct Pages {
            #[allow(dead_code)] // read only through Debug
            page: Option<Vec<u32>>,
        }
        assert_eq!(
            mismatch::<Pages>("page=1&page="),
            "field `page[1]`: cannot parse integer from empty string"
        );
        assert_eq!(
            mismatch::<Optional>("text=a&text=b"),
            "duplicate field `text`"
        );
    }

    #[test]
    fn maps_take_one_value_per_key_or_all_values() {
        let single: HashMap<String, String> = from_bytes(b"a=1&b=2").unwrap();
        assert_eq!(
            single,
            HashMap::from([("a".into(), "1".into()), ("b".into(), "2".into())])
        );
        assert_eq!(
            mismatch::<BTreeMap<String, String>>("a=1&b=2&a=3"),
            "duplicate field `a`"
        );

        let all: HashMap<String, Vec<String>> = from_bytes(b"a=1&b=2&a=3").unwrap();
        assert_eq!(all["a"], ["1", "3"]);
        assert_eq!(all["b"], ["2"]);

        let typed_keys: BTreeMap<u16, bool> = from_bytes(b"2=on&1=false").unwrap();
        assert_eq!(typed_keys, BTreeMap::from([(1, false), (2, true)]));
    }

    #[test]
    fn groups_keep_first_appearance_order() {
        let groups: Vec<(String, Vec<String>)> =
            super::group_by_key(super::super::decode_pairs(b"c=1&a=2&c=3&b=4&a=5").unwrap())
                .into_iter()
                .map(|group| {
                    let values = group.values.into_iter().map(String::from).collect();
                    (group.key.into_owned(), values)
                })
                .collect();
        let expected = [("c", &["1", "3"][..]), ("a", &["2", "5"]), ("b", &["4"])];
        assert_eq!(
            groups,
            expected.map(|(key, values)| (key.into(), values.iter().map(|&v| v.into()).collect()))
        );
    }

    #[test]
    fn unknown_keys_are_ignored_even_when_repeated() {
        assert_eq!(from_bytes::<Tagged>(b"x=1&tag=a&x=2").unwrap().tags, ["a"]);
    }

    #[test]
    fn top_level_sequence_keeps_input_order() {
        let pairs: Vec<(String, String)> = from_bytes(b"b=1&a=2&b=3").unwrap();
        assert_eq!(
            pairs,
            [("b", "1"), ("a", "2"), ("b", "3")].map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn flatten_sees_one_value_as_a_string_and_several_as_a_sequence() {
        #[derive(Debug, Deserialize)]
        struct Inner {
            name: String,
            tag: Vec<String>,
        }
        #[derive(Debug, Deserialize)]
        struct Outer {
            page: u32,
            #[serde(flatten)]
            inner: Inner,
        }
        let outer: Outer = from_bytes(b"tag=a&page=2&name=x&tag=b").unwrap();
        assert_eq!(outer.page, 2);
        assert_eq!(outer.inner.name, "x");
        assert_eq!(outer.inner.tag, ["a", "b"]);

        #[derive(Debug, Deserialize)]
        struct Rest {
            #[serde(flatten)]
            rest: HashMap<String, OneOrMany>,
        }
        let rest = from_bytes::<Rest>(b"a=1&b=2&a=3").unwrap().rest;
        assert_eq!(rest["a"], OneOrMany::Many(vec!["1".into(), "3".into()]));
        assert_eq!(rest["b"], OneOrMany::One("2".into()));
    }

    #[test]
    fn flatten_cannot_parse_numbers_or_single_value_sequences() {
        // Serde buffers flattened values as the strings and sequences `deserialize_any`
        // gives, and its buffer parses no text: the documented limit, as in serde_urlencoded.
        #[derive(Debug, Deserialize)]
        struct Inner {
            #[allow(dead_code)] // read only through Debug
            page: u32,
        }
        #[derive(Debug, Deserialize)]
        struct Outer {
            #[allow(dead_code)] // read only through Debug
            #[serde(flatten)]
            inner: Inner,
        }
        assert!(mismatch::<Outer>("page=2").contains("invalid type: string \"2\""));
    }

    /// What an untagged enum makes of one value or several.
    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    #[test]
    fn untagged_field_sees_one_value_as_a_string_and_several_as_a_sequence() {
        #[derive(Debug, Deserialize)]
        struct Choice {
            pick: OneOrMany,
        }
        assert_eq!(
            from_bytes::<Choice>(b"pick=a").unwrap().pick,
            OneOrMany::One("a".into())
        );
        assert_eq!(
            from_bytes::<Choice>(b"pick=a&pick=b").unwrap().pick,
            OneOrMany::Many(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn percent_decoded_keys_group_with_plain_ones() {
        let tagged: Tagged = from_bytes(b"tag=a&t%61g=b&%74ag=c").unwrap();
        assert_eq!(tagged.tags, ["a", "b", "c"]);
    }

    #[test]
    fn large_inputs_stay_fast() {
        // Quadratic grouping would take minutes on these; linear takes milliseconds.
        let distinct: String = (0..100_000).map(|n| format!("k{n}=v&")).collect();
        let map: HashMap<String, String> = from_bytes(distinct.as_bytes()).unwrap();
        assert_eq!(map.len(), 100_000);
        let repeated = "tag=x&".repeat(100_000);
        let tagged: Tagged = from_bytes(repeated.as_bytes()).unwrap();
        assert_eq!(tagged.tags.len(), 100_000);
    }

    #[test]
    fn arbitrary_input_never_panics() {
        // A cheap deterministic generator: every byte sequence shape matters, not randomness.
        let alphabet = b"ab=&%+2CF\xc3\xa9tag";
        let mut state: u32 = 1;
        for _ in 0..5_000 {
            let length = (state % 24) as usize;
            let input: Vec<u8> = (0..length)
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    alphabet[(state >> 16) as usize % alphabet.len()]
                })
                .collect();
            let _ = from_bytes::<Tagged>(&input);
            let _ = from_bytes::<Scalars>(&input);
            let _ = from_bytes::<HashMap<String, Vec<u8>>>(&input);
            let _ = from_bytes::<Vec<(String, String)>>(&input);
            let _ = from_bytes::<BTreeMap<char, [bool; 2]>>(&input);
            let _ = from_bytes::<Option<(String, u8)>>(&input);
        }
    }
}
