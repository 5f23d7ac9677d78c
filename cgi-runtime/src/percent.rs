//! Percent-decoding (RFC 3986 §2.1), lenient: a `%` not followed by two hex digits stays
//! as it is, as servers decode PATH_INFO.

/// Decodes `%HH` sequences; other bytes pass through.
pub(crate) fn decode(input: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::with_capacity(input.len());
    let mut index = 0;
    while index < input.len() {
        let hex = |at: usize| {
            input
                .get(at)
                .and_then(|&digit| char::from(digit).to_digit(16))
        };
        match (input[index], hex(index + 1), hex(index + 2)) {
            (b'%', Some(high), Some(low)) => {
                decoded.push((high * 16 + low) as u8);
                index += 3;
            }
            (byte, _, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_it_can() {
        assert_eq!(decode(b"a%20b%2F%2e%2E"), b"a b/..");
        assert_eq!(decode(b"100%"), b"100%");
        assert_eq!(decode(b"%zz%4"), b"%zz%4");
        assert_eq!(decode(b"%C3%A9"), "\u{e9}".as_bytes());
    }
}
