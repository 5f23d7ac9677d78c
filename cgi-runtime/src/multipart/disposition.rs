//! `Content-Disposition: form-data; name="..."; filename="..."` of a part (RFC 7578 §4.2).

/// What a part's `Content-Disposition` says.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Disposition {
    pub(crate) name: Option<String>,
    pub(crate) file_name: Option<String>,
}

/// Reads the parameters. Quoted values may contain `;` and `\"`; `filename*` (RFC 8187,
/// sent by some non-browser clients) wins over `filename`. Parameter names are
/// case-insensitive. Browsers percent-encode `"`, CR and LF in names (WHATWG); those are
/// kept as sent.
pub(crate) fn parse(value: &str) -> Disposition {
    let mut disposition = Disposition::default();
    let mut extended_file_name = None;
    let mut has_extended_file_name = false;
    let mut rest = value
        .split_once(';')
        .map_or("", |(_, parameters)| parameters);
    while let Some((name, value, after)) = next_parameter(rest) {
        rest = after;
        match name.to_ascii_lowercase().as_str() {
            "name" => disposition.name = Some(value),
            "filename" => disposition.file_name = Some(value),
            "filename*" => {
                has_extended_file_name = true;
                extended_file_name = decode_extended(&value);
            }
            _ => {}
        }
    }
    if extended_file_name.is_some() {
        disposition.file_name = extended_file_name;
    } else if has_extended_file_name && disposition.file_name.is_none() {
        // A file all the same, whose name we cannot read (another charset).
        disposition.file_name = Some(String::new());
    }
    disposition
}

/// `name=value` or `name="quoted \" value"`, then what follows the next `;`.
fn next_parameter(input: &str) -> Option<(&str, String, &str)> {
    let input = input.trim_start_matches([' ', '\t', ';']);
    let (name, rest) = input.split_once('=')?;
    let rest = rest.trim_start();
    if let Some(quoted) = rest.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((index, c)) = chars.next() {
            match c {
                '\\' => value.extend(chars.next().map(|(_, escaped)| escaped)),
                '"' => {
                    let after = &quoted[index + 1..];
                    let after = after.split_once(';').map_or("", |(_, more)| more);
                    return Some((name.trim(), value, after));
                }
                c => value.push(c),
            }
        }
        Some((name.trim(), value, ""))
    } else {
        let (value, after) = rest.split_once(';').unwrap_or((rest, ""));
        Some((name.trim(), value.trim().to_owned(), after))
    }
}

/// `UTF-8''na%C3%AFve.txt` → `naïve.txt`; other charsets and bad encodings give `None`.
fn decode_extended(value: &str) -> Option<String> {
    let (charset, rest) = value.split_once('\'')?;
    let (_language, encoded) = rest.split_once('\'')?;
    if !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    let decoded = crate::percent::decode_strict(encoded.as_bytes())?;
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(value: &str) -> (Option<String>, Option<String>) {
        let disposition = parse(value);
        (disposition.name, disposition.file_name)
    }

    #[test]
    fn names_and_file_names() {
        assert_eq!(
            both("form-data; name=\"title\""),
            (Some("title".into()), None)
        );
        assert_eq!(
            both("form-data; name=\"f\"; filename=\"a b.txt\""),
            (Some("f".into()), Some("a b.txt".into()))
        );
        assert_eq!(
            both("form-data;name=plain;filename=x.png"),
            (Some("plain".into()), Some("x.png".into()))
        );
        assert_eq!(
            both("form-data; NAME=\"a\"; FileName=\"b\""),
            (Some("a".into()), Some("b".into()))
        );
    }

    #[test]
    fn quoted_values_keep_semicolons_and_escapes() {
        assert_eq!(
            both(r#"form-data; name="a;b"; filename="say \"hi\".txt""#),
            (Some("a;b".into()), Some("say \"hi\".txt".into()))
        );
    }

    #[test]
    fn extended_file_names_win() {
        let value =
            "form-data; name=\"f\"; filename=\"naive.txt\"; filename*=UTF-8''na%C3%AFve.txt";
        assert_eq!(both(value).1.as_deref(), Some("naïve.txt"));
        assert_eq!(
            both("form-data; name=f; filename*=ISO-8859-1''x")
                .1
                .as_deref(),
            Some("")
        );
        assert_eq!(
            both("form-data; name=f; filename*=UTF-8''%zz").1.as_deref(),
            Some("")
        );
        assert_eq!(
            both("form-data; name=f; filename=\"a.txt\"; filename*=ISO-8859-1''x")
                .1
                .as_deref(),
            Some("a.txt")
        );
    }

    #[test]
    fn an_empty_file_name_is_kept_as_empty() {
        assert_eq!(
            both("form-data; name=\"f\"; filename=\"\"").1.as_deref(),
            Some("")
        );
    }

    #[test]
    fn junk_does_not_panic() {
        for junk in [
            "",
            ";",
            "form-data; name",
            "form-data; name=\"unterminated",
            "form-data; =x; ==",
            "\u{e9}; name=\u{e9}",
        ] {
            let _ = parse(junk);
        }
        assert_eq!(
            both("form-data; name=\"unterminated").0.as_deref(),
            Some("unterminated")
        );
    }
}
