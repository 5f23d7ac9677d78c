//! `Content-Disposition: attachment` with a file name that cannot break the header or
//! point into a directory.

/// The header value for a download named `file_name`: its last path component, with a
/// plain-ASCII `filename=` every browser reads and, when the name is not plain ASCII, the
/// exact name as RFC 8187 `filename*=`.
pub(crate) fn content_disposition(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or("");
    let name: String = base.chars().filter(|c| !c.is_control()).collect();
    let name = if name.is_empty() || name == "." || name == ".." {
        "download".to_owned()
    } else {
        name
    };
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%' | ';') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if fallback == name {
        return format!("attachment; filename=\"{name}\"");
    }
    let mut encoded = String::with_capacity(name.len() * 3);
    // RFC 8187 attr-char.
    crate::percent::encode_into(&mut encoded, name.as_bytes(), |byte| {
        byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte)
    });
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_plain() {
        assert_eq!(
            content_disposition("report 2026.csv"),
            "attachment; filename=\"report 2026.csv\""
        );
    }

    #[test]
    fn directories_and_controls_are_dropped() {
        assert_eq!(
            content_disposition("../../etc/passwd"),
            "attachment; filename=\"passwd\""
        );
        assert_eq!(
            content_disposition("C:\\x\\y.txt"),
            "attachment; filename=\"y.txt\""
        );
        assert_eq!(
            content_disposition("a\r\nSet-Cookie: x=1"),
            "attachment; filename=\"aSet-Cookie: x=1\""
        );
        assert_eq!(
            content_disposition("dir/"),
            "attachment; filename=\"download\""
        );
        assert_eq!(
            content_disposition(".."),
            "attachment; filename=\"download\""
        );
    }

    #[test]
    fn quotes_and_unicode_get_a_fallback_and_an_exact_name() {
        assert_eq!(
            content_disposition("résumé \"final\".pdf"),
            "attachment; filename=\"r_sum_ _final_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf"
        );
    }
}
