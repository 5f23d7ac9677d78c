//! The meta-variables the server passed, kept as bytes.

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};

/// The environment as the server set it. Empty values count as unset: RFC 3875 §4.1 makes
/// a zero-length value the same as an unset one, and servers disagree on which they send
/// (nginx sends `CONTENT_LENGTH=""`, Apache leaves it unset). They are skipped when
/// looked up rather than removed up front, which would copy the list.
#[derive(Debug, Clone, Default)]
pub(crate) struct Variables {
    entries: Cow<'static, [(OsString, OsString)]>,
}

impl Variables {
    pub(crate) fn new(entries: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        Variables {
            // A `Vec` is taken as it is, without a copy.
            entries: Cow::Owned(entries.into_iter().collect()),
        }
    }

    /// Variables that live as long as the process, such as a CGI script's environment:
    /// dropping them frees nothing.
    pub(crate) fn from_static(entries: &'static [(OsString, OsString)]) -> Self {
        Variables {
            entries: Cow::Borrowed(entries),
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&OsStr> {
        // The first that is set, as `getenv` finds it: an environment can hold a name
        // twice (nginx's stock fastcgi_params plus a config line both set SCRIPT_NAME).
        self.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }

    pub(crate) fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(OsStr::as_encoded_bytes)
    }

    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(OsStr::to_str)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.entries
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| (key.as_os_str(), value.as_os_str()))
    }
}

impl From<Vec<(OsString, OsString)>> for Variables {
    fn from(entries: Vec<(OsString, OsString)>) -> Self {
        Variables::new(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        Variables::new(
            pairs
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        )
    }

    #[test]
    fn empty_equals_unset() {
        let vars = vars(&[("PATH_INFO", ""), ("QUERY_STRING", "a=1")]);
        assert_eq!(vars.get("PATH_INFO"), None);
        assert_eq!(vars.text("QUERY_STRING"), Some("a=1"));
        let twice = super::tests::vars(&[("SCRIPT_NAME", "/first"), ("SCRIPT_NAME", "/second")]);
        assert_eq!(twice.text("SCRIPT_NAME"), Some("/first"));
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_values_stay_bytes() {
        use std::os::unix::ffi::OsStringExt;
        let vars = Variables::new([(
            OsString::from("HTTP_X_BIN"),
            OsString::from_vec(vec![0xC3, 0xA9, 0xFF]),
        )]);
        assert_eq!(vars.bytes("HTTP_X_BIN"), Some(&[0xC3, 0xA9, 0xFF][..]));
        assert_eq!(vars.text("HTTP_X_BIN"), None);
    }
}
