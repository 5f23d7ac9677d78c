//! The meta-variables the server passed, kept as bytes.

use std::ffi::{OsStr, OsString};
use std::ops::Range;

/// The environment as the server set it. Empty values count as unset: RFC 3875 §4.1 makes
/// a zero-length value the same as an unset one, and servers disagree on which they send
/// (nginx sends `CONTENT_LENGTH=""`, Apache leaves it unset). They are skipped when
/// looked up rather than removed up front, which would copy the list.
#[derive(Debug, Clone)]
pub(crate) struct Variables {
    storage: Storage,
}

#[derive(Debug, Clone)]
enum Storage {
    /// Built by a host (the test kit, FastCGI's PARAMS): one string per name and value.
    Pairs(Vec<(OsString, OsString)>),
    /// A process environment read in one pass: every `NAME=value` in one buffer, and where
    /// each name and value lie in it. Two allocations, where std's `vars_os` makes two per
    /// variable: a CGI script reads its environment once per request, at start-up.
    Packed {
        bytes: Vec<u8>,
        entries: Vec<(Range<usize>, Range<usize>)>,
    },
}

impl Default for Variables {
    fn default() -> Self {
        Variables::new(Vec::new())
    }
}

impl Variables {
    pub(crate) fn new(entries: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        Variables {
            // A `Vec` is taken as it is, without a copy.
            storage: Storage::Pairs(entries.into_iter().collect()),
        }
    }

    /// This process's environment.
    pub(crate) fn from_environment() -> Self {
        environment::read()
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
        let (pairs, packed): (&[(OsString, OsString)], _) = match &self.storage {
            Storage::Pairs(pairs) => (pairs, None),
            Storage::Packed { bytes, entries } => (&[], Some((bytes, entries))),
        };
        let pairs = pairs
            .iter()
            .map(|(key, value)| (key.as_os_str(), value.as_os_str()));
        let packed = packed.into_iter().flat_map(|(bytes, entries)| {
            entries
                .iter()
                .map(|(key, value)| (os_str(&bytes[key.clone()]), os_str(&bytes[value.clone()])))
        });
        pairs.chain(packed).filter(|(_, value)| !value.is_empty())
    }
}

impl From<Vec<(OsString, OsString)>> for Variables {
    fn from(entries: Vec<(OsString, OsString)>) -> Self {
        Variables::new(entries)
    }
}

#[cfg(unix)]
fn os_str(bytes: &[u8]) -> &OsStr {
    use std::os::unix::ffi::OsStrExt;
    OsStr::from_bytes(bytes)
}

#[cfg(not(unix))]
fn os_str(_: &[u8]) -> &OsStr {
    unreachable!("packed variables are built on Linux only")
}

/// Splits `NAME=value` as std's `vars_os` does: at the first `=` after the first byte (a
/// name may start with `=` on some systems); an entry without one is no variable.
fn split_entry(entry: &[u8]) -> Option<(Range<usize>, Range<usize>)> {
    let equals = 1 + entry.get(1..)?.iter().position(|&byte| byte == b'=')?;
    Some((0..equals, equals + 1..entry.len()))
}

#[cfg(target_os = "linux")]
mod environment {
    use std::ffi::{CStr, c_char};

    use super::{Storage, Variables, split_entry};

    #[allow(unsafe_code)]
    // SAFETY (of the declaration): `environ` is the C library's environment, a
    // null-terminated array of pointers to null-terminated strings; std reads it too.
    unsafe extern "C" {
        static environ: *const *const c_char;
    }

    /// Every `NAME=value` of the environment, copied into one buffer.
    pub(super) fn read() -> Variables {
        let mut strings: Vec<&[u8]> = Vec::new();
        #[allow(unsafe_code)]
        // SAFETY: `run` is called first in `main`, before any thread that could change the
        // environment exists (its documentation asks for that, as removing HTTP_PROXY needs
        // it), so the array and its strings stay as they are while this reads them: every
        // pointer up to the terminating null is a valid C string. They are copied before
        // anything can change the environment.
        let count = unsafe {
            let mut count = 0;
            let mut entry = environ;
            while !entry.is_null() && !(*entry).is_null() {
                count += 1;
                entry = entry.add(1);
            }
            strings.reserve_exact(count);
            for index in 0..count {
                strings.push(CStr::from_ptr(*environ.add(index)).to_bytes());
            }
            count
        };
        let mut bytes = Vec::with_capacity(strings.iter().map(|string| string.len()).sum());
        let mut entries = Vec::with_capacity(count);
        for string in strings {
            if let Some((name, value)) = split_entry(string) {
                let start = bytes.len();
                bytes.extend_from_slice(string);
                entries.push((
                    start + name.start..start + name.end,
                    start + value.start..start + value.end,
                ));
            }
        }
        Variables {
            storage: Storage::Packed { bytes, entries },
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod environment {
    use super::Variables;

    /// std's own reading, where the C library's `environ` may not be reachable as a
    /// static (macOS) or the encoding differs (Windows).
    pub(super) fn read() -> Variables {
        Variables::new(std::env::vars_os())
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

    #[test]
    fn entries_split_at_the_first_equals_sign_after_the_first_byte() {
        fn split(entry: &str) -> Option<(&str, &str)> {
            split_entry(entry.as_bytes()).map(|(name, value)| (&entry[name], &entry[value]))
        }
        assert_eq!(
            split("QUERY_STRING=a=1&b=2"),
            Some(("QUERY_STRING", "a=1&b=2"))
        );
        assert_eq!(split("EMPTY="), Some(("EMPTY", "")));
        assert_eq!(split("=C:=C:\\"), Some(("=C:", "C:\\")));
        assert_eq!(split("NO_EQUALS"), None);
        assert_eq!(split("="), None);
        assert_eq!(split(""), None);
    }

    /// The process's environment, read in one pass, is std's reading of it.
    #[test]
    fn the_environment_reads_as_std_reads_it() {
        let ours: Vec<(OsString, OsString)> = Variables::from_environment()
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        let std: Vec<(OsString, OsString)> = std::env::vars_os()
            .filter(|(_, value)| !value.is_empty())
            .collect();
        assert_eq!(ours, std);
        assert!(!ours.is_empty(), "a test runs with some environment");
    }
}
