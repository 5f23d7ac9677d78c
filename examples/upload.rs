//! File uploads, streamed: an HTML form that sends files, and a page that shows each file's
//! name, size and SHA-256, computed while the file arrives. Memory stays at one buffer
//! whatever the file's size (`bash bench/upload.sh` measures it).
//!
//! Try it: `cargo run --example upload` prints the form; under a web server, open
//! `/cgi-bin/upload` and send a file.

use std::fmt::Write as _;
use std::io::Read;

use cgi::html::escape;
use cgi::{Html, Method, Multipart, MultipartError};
use sha2::{Digest, Sha256};

const FORM: &str = r#"<!DOCTYPE html>
<title>Upload</title>
<h1>Upload files</h1>
<form method="post" enctype="multipart/form-data">
  <p><input type="file" name="files" multiple required>
  <p><label>Note <input name="note"></label>
  <p><button>Upload</button>
</form>
"#;

#[cgi::main(max_body = 1 << 30)]
fn upload(method: Method, multipart: Option<Multipart>) -> Result<Html<String>, MultipartError> {
    let (Method::POST, Some(mut multipart)) = (method, multipart) else {
        return Ok(Html(FORM.to_owned()));
    };
    let mut rows = String::new();
    while let Some(mut field) = multipart.next_field()? {
        let name = field.name().unwrap_or("").to_owned();
        let Some(file_name) = field.file_name().map(str::to_owned) else {
            let _ = writeln!(
                rows,
                "<tr><td>{}</td><td colspan=3>{}</td></tr>",
                escape(&name),
                escape(&field.text()?)
            );
            continue;
        };
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = field.read(&mut chunk).map_err(MultipartError::from_io)?;
            if n == 0 {
                break;
            }
            hasher.update(&chunk[..n]);
            size += n as u64;
        }
        let digest: String = hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{size}</td><td><code>{digest}</code></td></tr>",
            escape(&name),
            escape(&file_name),
        );
    }
    Ok(Html(format!(
        "<!DOCTYPE html>\n<title>Uploaded</title>\n<table>\n<tr><th>field</th><th>file</th><th>bytes</th><th>SHA-256</th></tr>\n{rows}</table>\n<p><a href=\"\">Again</a>\n"
    )))
}
