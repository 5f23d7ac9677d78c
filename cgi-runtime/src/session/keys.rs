//! The secret that signs session cookies: where it comes from, and what is refused.

use std::ffi::OsString;
use std::fs;
use std::io::Read;
#[cfg(unix)]
use std::os::unix::fs::MetadataExt;

use crate::request::Request;

/// The variable naming a file that holds the secret (the way to prefer).
pub(crate) const SECRET_FILE: &str = "CGIKIT_SESSION_SECRET_FILE";
/// The variable holding the secret itself.
pub(crate) const SECRET: &str = "CGIKIT_SESSION_SECRET";
/// The shortest secret accepted, in bytes: 256 bits of a random source's base64 is 44.
const SHORTEST: usize = 32;

/// The signing keys: the first signs, every one verifies (the others are the previous
/// secrets, kept while a rotation is under way).
#[derive(Debug)]
pub(crate) struct Keys(Vec<Vec<u8>>);

impl Keys {
    /// The key that signs new cookies.
    pub(crate) fn current(&self) -> &[u8] {
        &self.0[0]
    }

    /// Every key, the current one first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(Vec::as_slice)
    }

    /// Keys from a secret's text: one per line (a file) or per word (a variable), blank
    /// lines and surrounding space ignored, each at least 32 bytes.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<Keys, String> {
        let keys: Vec<Vec<u8>> = text
            .split_whitespace()
            .map(|key| key.as_bytes().to_vec())
            .collect();
        if keys.is_empty() {
            return Err(format!("{origin} holds no secret"));
        }
        if let Some(short) = keys.iter().position(|key| key.len() < SHORTEST) {
            return Err(format!(
                "secret {} of {origin} is shorter than {SHORTEST} bytes; make one with `head -c 32 /dev/urandom | base64`",
                short + 1
            ));
        }
        Ok(Keys(keys))
    }
}

/// A setting the server gives the script: a request variable (CGI, and FastCGI's
/// `fastcgi_param`), else the process's environment (a FastCGI service's `Environment=`).
fn setting(request: &Request, name: &str) -> Option<OsString> {
    request
        .var(name)
        .map(|value| OsString::from(String::from_utf8_lossy(value).into_owned()))
        .or_else(|| std::env::var_os(name).filter(|value| !value.is_empty()))
}

/// The keys for this request, or why there are none (for the server's error log).
pub(crate) fn load(request: &Request) -> Result<Keys, String> {
    if let Some(path) = setting(request, SECRET_FILE) {
        return from_file(&path);
    }
    if let Some(secret) = setting(request, SECRET) {
        return Keys::parse(&secret.to_string_lossy(), SECRET);
    }
    Err(format!(
        "sessions need a secret: set {SECRET_FILE} to a file holding one (make it with `head -c 32 /dev/urandom | base64 > FILE`, readable by the server's user only), or {SECRET} to one"
    ))
}

/// The keys in a file, which must be a regular file that other users can neither read
/// nor write (group access is allowed: `root:www-data`, mode 0640).
fn from_file(path: &OsString) -> Result<Keys, String> {
    let shown = std::path::Path::new(path).display();
    let file = fs::File::open(path).map_err(|error| format!("{SECRET_FILE} {shown}: {error}"))?;
    let metadata = file
        .metadata()
        .map_err(|error| format!("{SECRET_FILE} {shown}: {error}"))?;
    if !metadata.is_file() {
        return Err(format!("{SECRET_FILE} {shown} is not a regular file"));
    }
    #[cfg(unix)]
    if metadata.mode() & 0o007 != 0 {
        return Err(format!(
            "{SECRET_FILE} {shown} is open to other users (mode {:o}): `chmod o-rwx` it",
            metadata.mode() & 0o777
        ));
    }
    let mut text = String::new();
    file.take(64 * 1024)
        .read_to_string(&mut text)
        .map_err(|error| format!("{SECRET_FILE} {shown}: {error}"))?;
    Keys::parse(&text, &format!("{SECRET_FILE} {shown}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_words_of_at_least_32_bytes() {
        let keys = Keys::parse(
            "\n  new-secret-new-secret-new-secret-1\nold-secret-old-secret-old-secret-2\n\n",
            "test",
        )
        .unwrap();
        assert_eq!(keys.current(), b"new-secret-new-secret-new-secret-1");
        assert_eq!(keys.all().count(), 2);
        assert!(
            Keys::parse("", "test")
                .unwrap_err()
                .contains("holds no secret")
        );
        let short = Keys::parse("secret", "test").unwrap_err();
        assert!(short.contains("shorter than 32 bytes"), "{short}");
    }
}
