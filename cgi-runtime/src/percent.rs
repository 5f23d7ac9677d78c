//! Percent-encoding (RFC 3986 §2.1): the one codec the runtime uses for URIs, PATH_INFO and
//! file names in Content-Disposition. Form data has its own rules (`+` for space, errors
//! with positions) in `extract::urlencoded`.

/// The byte a `%HH` at `at` stands for: exactly two hex digits (not `+A`, not `%4`).
pub(crate) fn escaped_byte(input: &[u8], at: usize) -> Option<u8> {
    let digits = input.get(at + 1..at + 3)?;
    let value = |digit: u8| char::from(digit).to_digit(16);
    Some((value(digits[0])? * 16 + value(digits[1])?) as u8)
}

/// Decodes `%HH` sequences leniently, as servers decode PATH_INFO: a `%` that is not
/// followed by two hex digits stays as it is.
pub(crate) fn decode(input: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::with_capacity(input.len());
    let mut index = 0;
    while index < input.len() {
        match (input[index], escaped_byte(input, index)) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    decoded
}

/// Decodes `%HH` sequences strictly: `None` if any `%` is not followed by two hex digits.
pub(crate) fn decode_strict(input: &[u8]) -> Option<Vec<u8>> {
    let mut decoded = Vec::with_capacity(input.len());
    let mut index = 0;
    while index < input.len() {
        if input[index] == b'%' {
            decoded.push(escaped_byte(input, index)?);
            index += 3;
        } else {
            decoded.push(input[index]);
            index += 1;
        }
    }
    Some(decoded)
}

/// Appends `bytes` to `out`, percent-encoding every byte `keep` refuses.
pub(crate) fn encode_into(out: &mut String, bytes: &[u8], keep: fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in bytes {
        if keep(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
}

/// Appends `text` encoded as a value of an HTML form (`application/x-www-form-urlencoded`,
/// as browsers encode it): a space is `+`, and every byte but `A-Za-z0-9*-._` is `%HH`.
pub(crate) fn encode_form_component(out: &mut String, text: &str) {
    for (index, piece) in text.split(' ').enumerate() {
        if index > 0 {
            out.push('+');
        }
        encode_into(out, piece.as_bytes(), |byte| {
            byte.is_ascii_alphanumeric() || matches!(byte, b'*' | b'-' | b'.' | b'_')
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_it_can() {
        assert_eq!(decode(b"a%20b%2F%2e%2E"), b"a b/..");
        assert_eq!(decode(b"100%"), b"100%");
        assert_eq!(decode(b"%zz%4"), b"%zz%4");
        assert_eq!(decode(b"%+A"), b"%+A");
        assert_eq!(decode(b"%C3%A9"), "\u{e9}".as_bytes());
    }

    #[test]
    fn strict_decoding_refuses_what_lenient_keeps() {
        assert_eq!(
            decode_strict(b"na%C3%AFve"),
            Some("na\u{ef}ve".as_bytes().to_vec())
        );
        for bad in [&b"%"[..], b"%4", b"%zz", b"%+A", b"a%-1"] {
            assert_eq!(decode_strict(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn encoding_keeps_what_it_is_told_to() {
        let mut out = String::new();
        encode_into(&mut out, "a b/\u{e9}".as_bytes(), |byte| {
            byte.is_ascii_alphanumeric() || byte == b'/'
        });
        assert_eq!(out, "a%20b/%C3%A9");
    }

    #[test]
    fn form_components_encode_as_browsers_do() {
        let mut out = String::new();
        encode_form_component(&mut out, "Ada Lovelace & co=1+2 \u{e9}*-._~");
        assert_eq!(out, "Ada+Lovelace+%26+co%3D1%2B2+%C3%A9*-._%7E");
    }
}
