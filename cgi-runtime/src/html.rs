//! HTML helpers.

use std::borrow::Cow;

/// Escapes text for HTML element content and quoted attribute values: `&`, `<`, `>`, `"`
/// and `'` become character references. Use it on everything that came from the request.
///
/// ```
/// assert_eq!(
///     cgi::html::escape("<script>alert('x & y')</script>"),
///     "&lt;script&gt;alert(&#39;x &amp; y&#39;)&lt;/script&gt;"
/// );
/// assert_eq!(cgi::html::escape("plain"), "plain");
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    let needs_escaping = |c: char| matches!(c, '&' | '<' | '>' | '"' | '\'');
    let Some(first) = text.find(needs_escaping) else {
        return Cow::Borrowed(text);
    };
    let mut escaped = String::with_capacity(text.len() + 16);
    escaped.push_str(&text[..first]);
    for c in text[first..].chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}
