//! The command line of a script run in a terminal, read as curl and Perl's CGI.pm read
//! theirs.

use std::ffi::OsString;
use std::path::PathBuf;

/// What the person asked for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Help,
    /// Answer one request and print the raw CGI response.
    Request(CliRequest),
    /// Run the development web server.
    Serve {
        address: String,
        trace: bool,
    },
}

/// A request described on the command line.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct CliRequest {
    /// `-X`; otherwise GET, or POST when there is data.
    pub(crate) method: Option<String>,
    /// `/path?query`, with `name=value` arguments appended to the query.
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) cookies: Vec<String>,
    /// `-d` pieces, joined with `&` as curl joins them.
    pub(crate) data: Vec<Data>,
}

/// One `-d` argument.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Data {
    Text(String),
    /// `-d @file`
    File(PathBuf),
    /// `-d @-`
    Stdin,
}

pub(crate) const DEFAULT_ADDRESS: &str = "127.0.0.1:8000";

fn value_of<'a>(
    option: &str,
    args: &mut impl Iterator<Item = Result<&'a str, String>>,
) -> Result<&'a str, String> {
    args.next()
        .unwrap_or_else(|| Err(format!("{option} needs a value")))
}

pub(crate) fn parse(args: &[OsString]) -> Result<Command, String> {
    let mut args = args
        .iter()
        .map(|arg| arg.to_str().ok_or("arguments must be UTF-8".to_owned()));
    let mut request = CliRequest::default();
    let mut path = None;
    let mut pairs = Vec::new();
    let mut serve = None;
    let mut trace = false;
    while let Some(arg) = args.next() {
        let arg = arg?;
        match arg {
            "-h" | "--help" => return Ok(Command::Help),
            "-X" | "--request" => request.method = Some(value_of(arg, &mut args)?.to_owned()),
            "-d" | "--data" => {
                let data = value_of(arg, &mut args)?;
                request.data.push(match data.strip_prefix('@') {
                    Some("-") => Data::Stdin,
                    Some(file) => Data::File(PathBuf::from(file)),
                    None => Data::Text(data.to_owned()),
                });
            }
            "-H" | "--header" => {
                let header = value_of(arg, &mut args)?;
                let (name, value) = header
                    .split_once(':')
                    .ok_or_else(|| format!("-H needs 'Name: value', not {header:?}"))?;
                request
                    .headers
                    .push((name.trim().to_owned(), value.trim().to_owned()));
            }
            "-b" | "--cookie" => request.cookies.push(value_of(arg, &mut args)?.to_owned()),
            "--serve" => serve = Some(DEFAULT_ADDRESS.to_owned()),
            "--trace" => trace = true,
            _ if arg.starts_with('/') || arg.starts_with('?') => {
                if path.replace(arg).is_some() {
                    return Err("give at most one path".into());
                }
            }
            _ if arg.contains('=') && !arg.starts_with('-') => pairs.push(arg),
            // `--serve 0.0.0.0:8080`: an address right after --serve.
            _ if serve.is_some() && !arg.starts_with('-') && pairs.is_empty() => {
                serve = Some(arg.to_owned());
            }
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    if let Some(address) = serve {
        if path.is_some() || !pairs.is_empty() || request != CliRequest::default() {
            return Err("--serve takes only an address (and --trace)".into());
        }
        return Ok(Command::Serve { address, trace });
    }
    if trace {
        return Err("--trace goes with --serve".into());
    }
    let mut target = path.unwrap_or("/").to_owned();
    if target.starts_with('?') {
        target.insert(0, '/');
    }
    for pair in pairs {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        target.push(if target.contains('?') { '&' } else { '?' });
        target.extend(form_urlencoded::byte_serialize(name.as_bytes()));
        target.push('=');
        target.extend(form_urlencoded::byte_serialize(value.as_bytes()));
    }
    request.target = target;
    Ok(Command::Request(request))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Command, String> {
        parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    fn request(args: &[&str]) -> CliRequest {
        match parse_strs(args) {
            Ok(Command::Request(request)) => request,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn targets_and_pairs() {
        assert_eq!(request(&[]).target, "/");
        assert_eq!(request(&["/items?id=7"]).target, "/items?id=7");
        assert_eq!(request(&["?q=x"]).target, "/?q=x");
        assert_eq!(
            request(&["name=Ada Lovelace", "x=&"]).target,
            "/?name=Ada+Lovelace&x=%26"
        );
        assert_eq!(request(&["/p?a=1", "b=2"]).target, "/p?a=1&b=2");
    }

    #[test]
    fn curl_style_options() {
        let parsed = request(&[
            "-X",
            "PUT",
            "-d",
            "a=1",
            "--data",
            "@form.txt",
            "-d",
            "@-",
            "-H",
            "Accept:  text/html ",
            "-b",
            "sid=abc",
            "/x",
        ]);
        assert_eq!(parsed.method.as_deref(), Some("PUT"));
        assert_eq!(
            parsed.data,
            [
                Data::Text("a=1".into()),
                Data::File("form.txt".into()),
                Data::Stdin
            ]
        );
        assert_eq!(
            parsed.headers,
            [("Accept".to_owned(), "text/html".to_owned())]
        );
        assert_eq!(parsed.cookies, ["sid=abc"]);
        assert_eq!(parsed.target, "/x");
    }

    #[test]
    fn serve_with_or_without_an_address() {
        assert_eq!(
            parse_strs(&["--serve"]),
            Ok(Command::Serve {
                address: DEFAULT_ADDRESS.into(),
                trace: false
            })
        );
        assert_eq!(
            parse_strs(&["--serve", "127.0.0.1:9999", "--trace"]),
            Ok(Command::Serve {
                address: "127.0.0.1:9999".into(),
                trace: true
            })
        );
        assert_eq!(parse_strs(&["--help"]), Ok(Command::Help));
    }

    #[test]
    fn mistakes_are_explained() {
        for (args, message) in [
            (&["-Z"][..], "unexpected argument \"-Z\""),
            (&["-X"], "-X needs a value"),
            (&["-H", "no colon"], "-H needs 'Name: value'"),
            (&["/a", "/b"], "at most one path"),
            (&["--serve", "/a"], "--serve takes only an address"),
            (&["--trace"], "--trace goes with --serve"),
        ] {
            let error = parse_strs(args).unwrap_err();
            assert!(error.contains(message), "{args:?}: {error}");
        }
    }
}
