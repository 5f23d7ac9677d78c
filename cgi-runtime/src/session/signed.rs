//! Signed cookie values: `EXPIRES.PAYLOAD.MAC`, the MAC an HMAC-SHA256 of the purpose, the
//! expiry and the payload, in unpadded base64url.
//!
//! The payload is urlencoded text, whose bytes are all cookie-octets; it may hold dots, so
//! the value splits at its first dot (the expiry, digits) and its last (the MAC, base64url).

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use super::keys::Keys;
use crate::csrf::constant_time_eq;

/// What the cookie is for ("session", "flash"): a value signed for one cannot be used as
/// the other.
pub(crate) type Purpose = &'static str;

/// The seconds since 1970 now.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// `payload` signed with the current key, valid until `expires` (seconds since 1970).
pub(crate) fn sign(keys: &Keys, purpose: Purpose, expires: u64, payload: &str) -> String {
    let mac = base64url(&mac(keys.current(), purpose, expires, payload));
    format!("{expires}.{payload}.{mac}")
}

/// What a verified value says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Verified<'a> {
    pub(crate) expires: u64,
    pub(crate) payload: &'a str,
    /// Signed with an older key: to be signed again with the current one.
    pub(crate) by_old_key: bool,
}

/// The payload of `value`, if one of the keys signed it for `purpose` and it has not
/// expired at `now`.
pub(crate) fn verify<'a>(
    keys: &Keys,
    purpose: Purpose,
    value: &'a str,
    now: u64,
) -> Option<Verified<'a>> {
    let (expires_text, rest) = value.split_once('.')?;
    let (payload, sent_mac) = rest.rsplit_once('.')?;
    if expires_text.is_empty() || !expires_text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let expires: u64 = expires_text.parse().ok()?;
    // Every key is tried, so the time taken does not tell which one matched.
    let mut matched = None;
    for (index, key) in keys.all().enumerate() {
        let expected = base64url(&mac(key, purpose, expires, payload));
        if constant_time_eq(expected.as_bytes(), sent_mac.as_bytes()) && matched.is_none() {
            matched = Some(index);
        }
    }
    let index = matched?;
    (now < expires).then_some(Verified {
        expires,
        payload,
        by_old_key: index > 0,
    })
}

fn mac(key: &[u8], purpose: Purpose, expires: u64, payload: &str) -> [u8; 32] {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .expect("HMAC takes a key of any length");
    // Lengths before each part: no two (purpose, expiry, payload) share an input.
    for part in [
        purpose.as_bytes(),
        expires.to_string().as_bytes(),
        payload.as_bytes(),
    ] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Unpadded base64url (RFC 4648 §5): cookie-safe.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = chunk
            .iter()
            .enumerate()
            .fold(0u32, |group, (index, &byte)| {
                group | u32::from(byte) << (16 - 8 * index)
            });
        for sextet in 0..=chunk.len() {
            text.push(char::from(
                ALPHABET[(group >> (18 - 6 * sextet) & 63) as usize],
            ));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Keys {
        Keys::parse(text, "test").unwrap()
    }

    const OLD: &str = "old-secret-old-secret-old-secret-0";
    const NEW: &str = "new-secret-new-secret-new-secret-1";

    #[test]
    fn base64url_matches_rfc_4648() {
        for (input, expected) in [
            (&b""[..], ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
            (&[0xfb, 0xff], "-_8"),
        ] {
            assert_eq!(base64url(input), expected);
        }
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231 test case 2 ("Jefe"), through the same Mac the cookies use.
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_signed_value_verifies_until_it_expires() {
        let keys = keys(NEW);
        let value = sign(&keys, "session", 2000, "user=ada&role=a.b");
        assert!(value.starts_with("2000.user=ada&role=a.b."), "{value}");
        let verified = verify(&keys, "session", &value, 1999).unwrap();
        assert_eq!(verified.payload, "user=ada&role=a.b");
        assert!(!verified.by_old_key);
        assert_eq!(verify(&keys, "session", &value, 2000), None, "expired");
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let keys = keys(NEW);
        let value = sign(&keys, "session", 2000, "user=ada");
        let forged = [
            value.replace("user=ada", "user=root"),
            value.replacen("2000", "9999", 1),
            format!("{value}x"),
            value[..value.len() - 1].to_owned(),
            "2000.user=root.".to_owned(),
            "user=root".to_owned(),
            String::new(),
        ];
        for forged in forged {
            assert_eq!(verify(&keys, "session", &forged, 0), None, "{forged}");
        }
        // Signed for another purpose, or with another secret.
        assert_eq!(verify(&keys, "flash", &value, 0), None);
        let other = Keys::parse(OLD, "test").unwrap();
        assert_eq!(verify(&other, "session", &value, 0), None);
    }

    #[test]
    fn an_old_key_still_verifies_during_a_rotation() {
        let value = sign(&keys(OLD), "session", 2000, "user=ada");
        let rotated = keys(&format!("{NEW}\n{OLD}"));
        let verified = verify(&rotated, "session", &value, 0).unwrap();
        assert!(verified.by_old_key);
        // Once the old key is gone, so are its cookies.
        assert_eq!(verify(&keys(NEW), "session", &value, 0), None);
    }
}
