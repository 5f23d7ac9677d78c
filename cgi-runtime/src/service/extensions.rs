//! What a service finds in its request's extensions about the CGI request.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::sync::Arc;

/// Where the script is mounted (`SCRIPT_NAME`): `/cgi-bin/app` for a request to
/// `/cgi-bin/app/items/7`; empty for a script at the server's root, and for a FastCGI
/// application that nginx passes the whole path to. In the request's extensions, for
/// building links back to the script.
///
/// ```
/// use cgi::service::ScriptName;
/// let script = ScriptName("/cgi-bin/app".to_owned());
/// assert_eq!(script.link("/items/7"), "/cgi-bin/app/items/7");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptName(pub String);

impl ScriptName {
    /// A path below the script, as a link for a page it serves.
    ///
    /// ```
    /// assert_eq!(cgi::service::ScriptName::default().link("/about"), "/about");
    /// ```
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

/// Every meta-variable of the CGI request (or the FastCGI or SCGI request's parameters),
/// as the server passed them, in the request's extensions: for what neither the
/// `http::Request` nor the other extensions carry (`AUTH_TYPE`, `REMOTE_USER`,
/// `DOCUMENT_ROOT`, `HTTPS`, a server's own variables).
///
/// ```
/// use std::ffi::OsString;
/// let vars = cgi::service::CgiVariables::new(vec![
///     (OsString::from("REMOTE_USER"), OsString::from("ada")),
/// ]);
/// assert_eq!(vars.get("REMOTE_USER"), Some(&b"ada"[..]));
/// assert_eq!(vars.get("AUTH_TYPE"), None);
/// ```
#[derive(Clone)]
pub struct CgiVariables(Arc<[(OsString, OsString)]>);

impl CgiVariables {
    /// The variables, in the order received (for tests of a service).
    ///
    /// ```
    /// let vars = cgi::service::CgiVariables::new(Vec::new());
    /// assert_eq!(vars.iter().count(), 0);
    /// ```
    pub fn new(vars: Vec<(OsString, OsString)>) -> Self {
        CgiVariables(vars.into())
    }

    /// A variable's raw bytes by its exact name; `None` if unset or empty. The first of a
    /// repeated name, as `getenv` reads it.
    ///
    /// ```
    /// use std::ffi::OsString;
    /// let vars = cgi::service::CgiVariables::new(vec![
    ///     (OsString::from("HTTPS"), OsString::from("on")),
    ///     (OsString::from("HTTPS"), OsString::from("off")),
    /// ]);
    /// assert_eq!(vars.get("HTTPS"), Some(&b"on"[..]));
    /// ```
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_encoded_bytes())
            .filter(|value| !value.is_empty())
    }

    /// Every variable, in the order received.
    ///
    /// ```
    /// use std::ffi::OsString;
    /// let vars = cgi::service::CgiVariables::new(vec![(OsString::from("A"), OsString::from("1"))]);
    /// assert_eq!(vars.iter().map(|(name, _)| name.to_owned()).collect::<Vec<_>>(), ["A"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.0
            .iter()
            .map(|(name, value)| (name.as_os_str(), value.as_os_str()))
    }
}

impl fmt::Debug for CgiVariables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: values hold cookies and credentials.
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}
