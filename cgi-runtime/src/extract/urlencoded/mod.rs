//! `application/x-www-form-urlencoded` into serde types, for `Query` and `Form`.

mod de;

use serde::de::DeserializeOwned;

/// Why urlencoded input could not become the target type.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum UrlencodedError {
    /// Bad percent-encoding, or text that is not UTF-8 once decoded.
    Malformed(String),
    /// Well-formed, but not what the type needs; the message names the field.
    Mismatch(String),
}

/// Decodes `input` into `T`. Unlike WHATWG's lenient decoder, which keeps a stray `%` and
/// replaces invalid UTF-8 with U+FFFD, malformed input is an error: silently altered form
/// data is worse than a clear 400.
///
/// A repeated key fills a sequence field; see [`de::Deserializer`] for the rules.
pub(crate) fn from_bytes<T: DeserializeOwned>(input: &[u8]) -> Result<T, UrlencodedError> {
    check_encoding(input).map_err(UrlencodedError::Malformed)?;
    serde_path_to_error::deserialize(de::Deserializer::new(input)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        UrlencodedError::Mismatch(if path == "." || inner.names_the_field() {
            inner.to_string()
        } else {
            format!("field `{path}`: {inner}")
        })
    })
}

fn check_encoding(input: &[u8]) -> Result<(), String> {
    let mut decoded = Vec::new();
    let mut offset = 0;
    for pair in input.split(|&byte| byte == b'&') {
        decoded.clear();
        let mut bytes = pair.iter().enumerate();
        while let Some((index, &byte)) = bytes.next() {
            decoded.push(match byte {
                b'+' => b' ',
                b'%' => {
                    let high = bytes.next().and_then(|(_, &digit)| hex_value(digit));
                    let low = bytes.next().and_then(|(_, &digit)| hex_value(digit));
                    match (high, low) {
                        (Some(high), Some(low)) => high << 4 | low,
                        _ => {
                            return Err(format!(
                                "malformed percent-encoding at byte {}: `%` must be followed by two hex digits",
                                offset + index
                            ));
                        }
                    }
                }
                byte => byte,
            });
        }
        if std::str::from_utf8(&decoded).is_err() {
            return Err(format!(
                "the text at byte {offset} is not UTF-8 once decoded"
            ));
        }
        offset += pair.len() + 1;
    }
    Ok(())
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).map(|value| value as u8)
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
