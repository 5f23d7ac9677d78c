//! `Query<String>`, `Form<u32>`: a query string or a form is a list of name=value pairs,
//! which never deserializes into a single value, so these compile and then answer every
//! request with `400`. Caught at compile time instead, by type: the check applies to the
//! types in [`SingleValue`] only, each of which fails on every input (a unit test below
//! proves it), so no working program is refused.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use super::Probe;
use crate::extract::{Form, Query};

/// A type that holds one value, never a list of name=value pairs.
pub trait SingleValue {}

// Each type listed here is also checked by the test below: it must fail on every input.
macro_rules! single_values {
    ($($ty:ty),* $(,)?) => {
        $(impl SingleValue for $ty {})*

        #[cfg(test)]
        const EVERY_SINGLE_VALUE: &[fn()] = &[$(tests::never_reads::<$ty>),*];
    };
}

single_values!(
    String,
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    Cow<'static, str>,
);
// Not `DeserializeOwned`, so `Query<&str>` never compiles anyway; listed for the message.
impl SingleValue for &str {}
impl<T: SingleValue> SingleValue for Option<T> {}

/// A `Query<T>` or `Form<T>` whose `T` has room for name=value pairs. Required only of
/// the ones whose `T` is a [`SingleValue`], which never has it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` can never be read: a query string or form is a list of name=value pairs, which no single value holds",
    label = "a single value: no names to match",
    note = "name the values in a struct: `#[derive(serde::Deserialize)] struct Params {{ name: String }}`, then take `Query<Params>` (or `Form<Params>`) and read `params.name`",
    note = "or take every pair, whatever its name: `Query<HashMap<String, String>>`"
)]
pub trait NameValuePairs {}

impl<K, V, S> NameValuePairs for Query<HashMap<K, V, S>> {}
impl<K, V> NameValuePairs for Query<BTreeMap<K, V>> {}
impl<K, V, S> NameValuePairs for Form<HashMap<K, V, S>> {}
impl<K, V> NameValuePairs for Form<BTreeMap<K, V>> {}

impl<T: SingleValue> Probe<Query<T>> {
    /// An error: `Query<T>` of a single value. `Whole` is `Query<T>` again: a bound on a type
    /// the call names makes rustc point at that type, the argument's.
    pub fn check_fields<Whole: NameValuePairs>(&self) -> &Self {
        self
    }
}

impl<T: SingleValue> Probe<Form<T>> {
    /// An error: `Form<T>` of a single value. `Whole` is `Form<T>` again: a bound on a type
    /// the call names makes rustc point at that type, the argument's.
    pub fn check_fields<Whole: NameValuePairs>(&self) -> &Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use serde::de::DeserializeOwned;

    use crate::extract::urlencoded;

    /// Fails unless `T` rejects every shape of query string and form body.
    pub(super) fn never_reads<T: DeserializeOwned + std::fmt::Debug>() {
        for input in ["name=Ada", "", "Ada", "7", "a=1&b=2", "x=true&x=false"] {
            let result = urlencoded::from_bytes::<T>(input.as_bytes());
            assert!(
                result.is_err(),
                "{} read {input:?} as {result:?}: the compile error would refuse working code",
                std::any::type_name::<T>()
            );
        }
    }

    #[test]
    fn every_single_value_type_fails_on_every_input() {
        for check in super::EVERY_SINGLE_VALUE {
            check();
        }
        never_reads::<Option<String>>();
        never_reads::<Option<u32>>();
        never_reads::<Option<Option<bool>>>();
        never_reads::<Option<Cow<'static, str>>>();
    }

    #[test]
    fn the_suggested_types_do_read_pairs() {
        let map: std::collections::HashMap<String, String> =
            urlencoded::from_bytes(b"name=Ada").unwrap();
        assert_eq!(map["name"], "Ada");
        let map: std::collections::BTreeMap<String, String> =
            urlencoded::from_bytes(b"name=Ada").unwrap();
        assert_eq!(map["name"], "Ada");
    }
}
