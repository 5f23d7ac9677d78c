//! Upload tests (issue 4), beyond the streaming parser's unit tests: `MultipartForm`,
//! `Upload`, every multipart limit and malformed body in-process through `cgi::test`, then
//! the built `upload` example and the `fixture_upload_limits` script as a web server runs
//! them (cleared environment, CGI variables, the body on a pipe).
//!
//! Every case also checks that no temporary file survives. Uploads are spooled to files
//! without a name in `std::env::temp_dir()` (`O_TMPFILE`; where the file system lacks it,
//! `cgikit-upload-<pid>-<hex>`, unlinked at once), so nothing should ever show there:
//! - in-process, that is this process's temporary directory, shared by the tests of this
//!   binary, so every in-process case runs under one lock ([`in_process`]) and compares
//!   the `cgikit-upload-<this pid>-*` files before and after;
//! - a subprocess gets a fresh `TMPDIR` of its own, which must be empty once it has exited.

mod support;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use cgi::test::{MultipartBody, TestRequest, TestResponse};
use cgi::{Limits, Multipart, MultipartError, MultipartForm, StatusCode, Upload};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use support::{Outcome, Script, Stdin, TempDir};

// =======================================================================================
// Helpers shared by both layers
// =======================================================================================

/// A `multipart/form-data` body written by hand, with any boundary (the test kit's
/// `MultipartBody` has a fixed one and cannot produce malformed bodies).
struct FormData {
    boundary: String,
    bytes: Vec<u8>,
}

impl FormData {
    fn new(boundary: &str) -> Self {
        FormData {
            boundary: boundary.to_owned(),
            bytes: Vec::new(),
        }
    }

    fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    fn text(self, name: &str, value: &str) -> Self {
        self.part(
            &format!("Content-Disposition: form-data; name=\"{name}\""),
            value.as_bytes(),
        )
    }

    fn file(self, name: &str, file_name: &str, data: &[u8]) -> Self {
        self.part(
            &format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream"
            ),
            data,
        )
    }

    /// A part with these header lines (CRLF-separated, without the final blank line).
    fn part(mut self, headers: &str, data: &[u8]) -> Self {
        self.bytes
            .extend_from_slice(format!("--{}\r\n{headers}\r\n\r\n", self.boundary).as_bytes());
        self.bytes.extend_from_slice(data);
        self.bytes.extend_from_slice(b"\r\n");
        self
    }

    /// The body without its close delimiter (a truncated upload).
    fn unfinished(self) -> Vec<u8> {
        self.bytes
    }

    fn finish(mut self) -> Vec<u8> {
        self.bytes
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        self.bytes
    }
}

/// `len` pseudo-random bytes (xorshift64), with near-copies of `\r\n--<boundary>` planted
/// around every 64 KiB (the parser's buffer size) and at a few odd places: the parser
/// must hand them out as data.
fn pseudo_random(len: usize, seed: u64, boundary: &str) -> Vec<u8> {
    let mut state = seed | 1;
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(len);
    let almost = format!("\r\n--{}!", &boundary[..boundary.len() - 1]);
    let prefix = format!("\r\n--{}", &boundary[..boundary.len() / 2]);
    let mut at = 65_536 - almost.len() / 2;
    let mut planted = 0;
    while at + almost.len() < len {
        let lookalike = if planted % 2 == 0 { &almost } else { &prefix };
        data[at..at + lookalike.len()].copy_from_slice(lookalike.as_bytes());
        at += 65_536 + 7 * planted;
        planted += 1;
    }
    // And right at the end of the file, where the real delimiter follows.
    let tail = len - prefix.len();
    data[tail..].copy_from_slice(prefix.as_bytes());
    data
}

/// FNV-1a, 64 bits: a checksum to name in assertion messages.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

// =======================================================================================
// In-process: cgi::test::TestRequest
// =======================================================================================

/// Serialises the in-process cases: they share this process's temporary directory.
static IN_PROCESS: Mutex<()> = Mutex::new(());

/// This process's upload temporaries in `std::env::temp_dir()`.
fn own_temp_files() -> BTreeSet<OsString> {
    let prefix = format!("cgikit-upload-{}-", std::process::id());
    fs::read_dir(std::env::temp_dir())
        .expect("the temporary directory is readable")
        .filter_map(|entry| entry.ok().map(|entry| entry.file_name()))
        .filter(|name| name.to_string_lossy().starts_with(&prefix))
        .collect()
}

/// Runs an in-process case under the lock, then fails if it left an upload temporary.
fn in_process<R>(case: impl FnOnce() -> R) -> R {
    let _guard = IN_PROCESS.lock().unwrap_or_else(PoisonError::into_inner);
    let before = own_temp_files();
    let result = case();
    let left: Vec<_> = own_temp_files().difference(&before).cloned().collect();
    assert!(left.is_empty(), "temporary files survived: {left:?}");
    result
}

/// A POST of a hand-written body under `boundary`.
fn raw(boundary: &str, body: impl Into<Vec<u8>>) -> TestRequest {
    TestRequest::post("/upload")
        .header(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
}

fn post_form(form: FormData) -> TestRequest {
    TestRequest::post("/upload")
        .header("Content-Type", &form.content_type())
        .body(form.finish())
}

/// The status, and the reason as the whole body (rejections answer `reason\n`).
fn assert_rejected(response: &TestResponse, status: u16, reason: &str) {
    assert_eq!(
        response.status().as_u16(),
        status,
        "{}",
        String::from_utf8_lossy(response.raw())
    );
    assert_eq!(response.text(), format!("{reason}\n"));
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(
        response.log().contains(&format!("{status} {reason}")),
        "{}",
        response.log()
    );
}

fn assert_ok(response: &TestResponse) -> &str {
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(response.raw())
    );
    response.text()
}

/// Ignores every text field.
#[derive(Debug, Deserialize)]
struct Anything {}

/// Lists a form's files under `names`: `name: file_name size content`, one per line.
fn list_files(form: &MultipartForm<Anything>, names: &[&str]) -> String {
    let mut out = String::new();
    for name in names {
        for upload in form.files(name) {
            let content = fs::read(upload.path()).expect("the temporary file is readable");
            let _ = writeln!(
                out,
                "{name}: {:?} {} {:?}",
                upload.file_name(),
                upload.size(),
                String::from_utf8_lossy(&content)
            );
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// MultipartForm<T>
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct Profile {
    name: String,
    tags: Vec<String>,
    age: Option<u32>,
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

#[test]
fn multipart_form_fills_text_fields_and_spools_files() {
    in_process(|| {
        let body = MultipartBody::new()
            .text("name", "Ada <Lovelace> & co")
            .text("tags", "math")
            .file("avatar", "ada.png", "image/png", PNG)
            .text("tags", "poetry")
            .file("docs", "a.txt", "text/plain", b"first")
            .file("docs", "b.txt", "text/plain", b"second\r\n")
            // A file input left empty: `filename=""` and no data.
            .file("empty", "", "application/octet-stream", b"")
            // Chosen files that happen to be empty, or come without a name, are kept.
            .file("zero", "zero.txt", "text/plain", b"")
            .file("unnamed", "", "application/octet-stream", b"data")
            .text("tags", "engines")
            .text("unknown", "ignored by Profile");
        let mut temp_paths: Vec<PathBuf> = Vec::new();
        let response = TestRequest::post("/upload").multipart(body).call(
            |mut form: MultipartForm<Profile>| {
                let mut out = String::new();
                let _ = writeln!(
                    out,
                    "name={:?} tags={:?} age={:?}",
                    form.fields.name, form.fields.tags, form.fields.age
                );
                let avatar = form.file("avatar").expect("the avatar");
                assert_eq!(avatar.file_name(), Some("ada.png"));
                assert_eq!(avatar.content_type(), Some("image/png"));
                assert_eq!(avatar.size(), PNG.len() as u64);
                assert_eq!(fs::read(avatar.path()).unwrap(), PNG);
                let mut via_open = Vec::new();
                avatar.open().unwrap().read_to_end(&mut via_open).unwrap();
                assert_eq!(via_open, PNG);
                // The temporary has no name (an open descriptor, in the temporary
                // directory's file system), as the docs say, and is private.
                let path = avatar.path();
                let file_name = path.to_string_lossy().into_owned();
                assert!(file_name.starts_with("/proc/self/fd/"), "{file_name}");
                {
                    use std::os::unix::fs::{MetadataExt, PermissionsExt};
                    let metadata = fs::metadata(path).unwrap();
                    assert_eq!(metadata.permissions().mode() & 0o777, 0o600, "{file_name}");
                    assert_eq!(metadata.nlink(), 0, "no name anywhere: {file_name}");
                    let temp_dir = fs::metadata(std::env::temp_dir()).unwrap();
                    assert_eq!(metadata.dev(), temp_dir.dev(), "{file_name}");
                }
                for name in ["avatar", "docs", "zero", "unnamed"] {
                    temp_paths.extend(form.files(name).map(|upload| upload.path().to_owned()));
                }
                let docs: Vec<String> = form
                    .files("docs")
                    .map(|doc| {
                        let content = fs::read(doc.path()).unwrap();
                        format!(
                            "{}={}",
                            doc.file_name().unwrap(),
                            String::from_utf8_lossy(&content).escape_debug()
                        )
                    })
                    .collect();
                let _ = writeln!(out, "docs {docs:?}");
                let _ = writeln!(
                    out,
                    "empty {:?} {}",
                    form.file("empty").map(Upload::size),
                    form.files("empty").count()
                );
                let zero = form.file("zero").expect("a chosen empty file");
                let _ = writeln!(out, "zero {:?} {}", zero.file_name(), zero.size());
                let unnamed = form.file("unnamed").expect("a file without a name");
                let _ = writeln!(out, "unnamed {:?} {}", unnamed.file_name(), unnamed.size());
                let _ = writeln!(
                    out,
                    "text fields are not files: {} {}",
                    form.file("name").is_none(),
                    form.file("missing").is_none()
                );
                // take_file: the first `docs`; the second stays.
                let taken = form.take_file("docs").expect("a doc to take");
                let nothing = form.take_file("nothing").map(|upload| upload.size());
                let _ = writeln!(
                    out,
                    "took {:?}, left {:?}, then {:?}",
                    taken.file_name(),
                    form.file("docs").and_then(Upload::file_name),
                    nothing
                );
                assert!(taken.path().exists());
                drop(taken);
                out
            },
        );
        assert_eq!(
            assert_ok(&response),
            "name=\"Ada <Lovelace> & co\" tags=[\"math\", \"poetry\", \"engines\"] age=None\n\
             docs [\"a.txt=first\", \"b.txt=second\\\\r\\\\n\"]\n\
             empty None 0\n\
             zero Some(\"zero.txt\") 0\n\
             unnamed Some(\"\") 4\n\
             text fields are not files: true true\n\
             took Some(\"a.txt\"), left Some(\"b.txt\"), then None\n"
        );
        assert_eq!(temp_paths.len(), 5);
        for path in temp_paths {
            assert!(!path.exists(), "{} survived the request", path.display());
        }
    });
}

#[test]
fn a_form_of_files_only_needs_no_text_fields() {
    in_process(|| {
        let body = MultipartBody::new().file("doc", "a.txt", "text/plain", b"abc");
        let response = TestRequest::post("/")
            .multipart(body)
            .call(|form: MultipartForm<()>| form.file("doc").map_or(0, Upload::size).to_string());
        assert_eq!(assert_ok(&response), "3");
        // And an empty form (only the close delimiter) is a form.
        let response = TestRequest::post("/")
            .multipart(MultipartBody::new())
            .call(|form: MultipartForm<Anything>| list_files(&form, &["doc"]));
        assert_eq!(assert_ok(&response), "");
    });
}

#[test]
fn a_part_without_a_name_is_a_400() {
    in_process(|| {
        // A file is spooled first: it must be deleted with the rejected form.
        let body = FormData::new("b").file("first", "a.txt", b"spooled").part(
            "Content-Disposition: form-data; filename=\"x.txt\"",
            b"nameless",
        );
        let response =
            post_form(body).call(|form: MultipartForm<Anything>| list_files(&form, &["first"]));
        assert_rejected(
            &response,
            400,
            "Malformed multipart body: a part has no name.",
        );

        let body = FormData::new("b")
            .file("first", "a.txt", b"spooled")
            .part("Content-Type: text/plain", b"no disposition");
        let response =
            post_form(body).call(|form: MultipartForm<Anything>| list_files(&form, &["first"]));
        assert_rejected(
            &response,
            400,
            "Malformed multipart body: a part has no Content-Disposition.",
        );
    });
}

#[derive(Debug, Deserialize)]
struct Person {
    name: String,
    age: u32,
}

fn person(form: MultipartForm<Person>) -> String {
    format!("{} is {}", form.fields.name, form.fields.age)
}

#[test]
fn text_fields_that_do_not_fit_are_a_422_naming_the_field() {
    in_process(|| {
        let ok = MultipartBody::new().text("name", "Ada").text("age", "36");
        assert_eq!(
            assert_ok(&TestRequest::post("/").multipart(ok).call(person)),
            "Ada is 36"
        );

        let wrong_type = MultipartBody::new()
            .file("photo", "a.jpg", "image/jpeg", b"spooled")
            .text("name", "Ada")
            .text("age", "thirty-six");
        let response = TestRequest::post("/").multipart(wrong_type).call(person);
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            response
                .text()
                .starts_with("Invalid form data: field `age`: "),
            "{}",
            response.text()
        );

        let missing = MultipartBody::new().text("name", "Ada");
        let response = TestRequest::post("/").multipart(missing).call(person);
        assert_rejected(&response, 422, "Invalid form data: missing field `age`");

        let repeated = MultipartBody::new()
            .text("name", "Ada")
            .text("name", "Grace")
            .text("age", "36");
        let response = TestRequest::post("/").multipart(repeated).call(person);
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(response.text().contains("`name`"), "{}", response.text());

        // A text field that is not UTF-8 is malformed, whatever T is.
        let body =
            FormData::new("b").part("Content-Disposition: form-data; name=\"name\"", b"\xff\xfe");
        let response = post_form(body).call(person);
        assert_rejected(
            &response,
            400,
            "Malformed multipart body: the field `name` is not UTF-8 text.",
        );
    });
}

#[test]
fn a_persisted_upload_survives_and_its_temporary_is_gone() {
    let keep = TempDir::new("persist");
    in_process(|| {
        let destination = keep.path().join("kept.bin");
        fs::write(&destination, b"an older file, replaced").unwrap();
        let mut temp_path = PathBuf::new();
        let body = MultipartBody::new()
            .text("caption", "kept")
            .file("doc", "report.pdf", "application/pdf", b"%PDF-1.7 kept")
            .file("other", "other.txt", "text/plain", b"dropped");
        let response = TestRequest::post("/").multipart(body).call(
            |mut form: MultipartForm<Anything>| -> Result<String, cgi::Error> {
                let doc = form.take_file("doc").expect("the doc");
                temp_path = doc.path().to_owned();
                doc.persist(&destination)?;
                Ok(format!(
                    "kept; temporary still there: {}",
                    temp_path.exists()
                ))
            },
        );
        assert_eq!(assert_ok(&response), "kept; temporary still there: false");
        assert_eq!(fs::read(&destination).unwrap(), b"%PDF-1.7 kept");
        assert!(!temp_path.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&destination).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "a kept upload stays private");
        }

        // persist into a directory that does not exist: an error, and still no temporary.
        let nowhere = keep.path().join("missing-dir").join("x.bin");
        let body = MultipartBody::new().file("doc", "a.txt", "text/plain", b"lost");
        let response =
            TestRequest::post("/")
                .multipart(body)
                .call(|mut form: MultipartForm<Anything>| {
                    let doc = form.take_file("doc").expect("the doc");
                    match doc.persist(&nowhere) {
                        Ok(()) => "persisted?".to_owned(),
                        Err(error) => format!("{:?}", error.kind()),
                    }
                });
        assert_eq!(assert_ok(&response), "NotFound");
        assert!(!nowhere.exists());
    });
    assert_eq!(keep.entries(), ["kept.bin"]);
}

/// `persist` falls back to copying when the destination is on another file system; the
/// temporary is still deleted. Runs only where `/dev/shm` is another device than
/// `std::env::temp_dir()`.
#[cfg(unix)]
#[test]
fn persist_copies_across_file_systems() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let other = Path::new("/dev/shm");
    let (Ok(other_meta), Ok(temp_meta)) = (fs::metadata(other), fs::metadata(std::env::temp_dir()))
    else {
        support::not_run("NOT TESTED: persisting across file systems (no /dev/shm here)");
        return;
    };
    if other_meta.dev() == temp_meta.dev() {
        support::not_run("NOT TESTED: persisting across file systems (/dev/shm is the temp dir's)");
        return;
    }
    let destination = other.join(format!("cgikit-uploads-persist-{}.bin", std::process::id()));
    let _ = fs::remove_file(&destination);
    in_process(|| {
        let mut temp_path = PathBuf::new();
        let body = MultipartBody::new().file("doc", "a.bin", "application/octet-stream", b"across");
        let response = TestRequest::post("/").multipart(body).call(
            |mut form: MultipartForm<Anything>| -> Result<&'static str, cgi::Error> {
                let doc = form.take_file("doc").expect("the doc");
                temp_path = doc.path().to_owned();
                doc.persist(&destination)?;
                Ok("kept")
            },
        );
        assert_eq!(assert_ok(&response), "kept");
        assert!(!temp_path.exists(), "the temporary survived the copy");
    });
    let kept = fs::read(&destination);
    let mode = fs::metadata(&destination).map(|meta| meta.permissions().mode() & 0o777);
    let _ = fs::remove_file(&destination);
    assert_eq!(kept.unwrap(), b"across");
    assert_eq!(mode.unwrap(), 0o600, "a kept upload stays private");
}

/// What `Upload::safe_file_name` makes of hostile names. Documented behaviour:
/// - the last component after `/` or `\` is kept (so `C:\x\y.txt` → `y.txt`);
/// - Unicode *control* characters (category Cc: C0, DEL, C1) are removed;
/// - a leading `.` becomes `_`; nothing left, or only dots, is `None`;
/// - at most 255 bytes, cut on a character boundary;
/// - everything else is KEPT, including the right-to-left override U+202E (a format
///   character, category Cf, not a control: `invoice\u{202E}fdp.exe` is shown by many
///   interfaces as `invoiceexe.pdf`), zero-width characters, `:` and Windows device names.
#[test]
fn safe_file_names_for_hostile_names() {
    in_process(|| {
        let long_ascii = "a".repeat(300);
        let long_accents = "\u{e9}".repeat(200); // 2 bytes each: 400 bytes
        let long_cjk = "\u{65e5}".repeat(100); // 3 bytes each: 300 bytes
        let cases: Vec<(&str, Option<String>)> = vec![
            ("report.pdf", Some("report.pdf".into())),
            ("../../etc/passwd", Some("passwd".into())),
            ("/etc/shadow", Some("shadow".into())),
            ("C:\\x\\y.txt", Some("y.txt".into())),
            ("\\\\server\\share\\a", Some("a".into())),
            ("dir/sub\\mixed/last.txt", Some("last.txt".into())),
            ("a\0b\x01c\x7f\u{85}.txt", Some("abc.txt".into())),
            ("line\r\nbreak\t.txt", Some("linebreak.txt".into())),
            ("re\x1b[31mport.pdf", Some("re[31mport.pdf".into())),
            ("\x01.hidden", Some("_hidden".into())),
            (".htaccess", Some("_htaccess".into())),
            ("...x", Some("_..x".into())),
            ("..", None),
            (".", None),
            ("...", None),
            ("", None),
            ("/", None),
            ("uploads/", None),
            ("C:\\", None),
            ("x/..", None),
            ("\0\x01\x02", None),
            ("ok/\0", None),
            (&long_ascii, Some("a".repeat(255))),
            (&long_accents, Some("\u{e9}".repeat(127))),
            (&long_cjk, Some("\u{65e5}".repeat(85))),
            // Kept as they are (see above).
            (
                "invoice\u{202E}fdp.exe",
                Some("invoice\u{202E}fdp.exe".into()),
            ),
            (
                "zero\u{200B}width.txt",
                Some("zero\u{200B}width.txt".into()),
            ),
            ("C:x.txt", Some("C:x.txt".into())),
            ("file.txt:stream", Some("file.txt:stream".into())),
            ("CON", Some("CON".into())),
            ("trailing. ", Some("trailing. ".into())),
        ];
        for (hostile, expected) in cases {
            let upload = cgi::test::upload(hostile, b"x");
            assert_eq!(upload.file_name(), Some(hostile), "kept as sent");
            let safe = upload.safe_file_name();
            assert_eq!(safe, expected, "safe_file_name({hostile:?})");
            if let Some(safe) = safe {
                assert!(safe.len() <= 255 && !safe.contains(['/', '\\']));
                assert!(!safe.starts_with('.') && !safe.chars().any(char::is_control));
            }
        }

        // The same through a real upload: the name arrives as sent, the safe one is usable.
        let body = MultipartBody::new().file("f", "../../etc/passwd", "text/plain", b"root");
        let response =
            TestRequest::post("/")
                .multipart(body)
                .call(|form: MultipartForm<Anything>| {
                    let upload = form.file("f").expect("the file");
                    format!("{:?} {:?}", upload.file_name(), upload.safe_file_name())
                });
        assert_eq!(
            assert_ok(&response),
            "Some(\"../../etc/passwd\") Some(\"passwd\")"
        );
    });
}

// ---------------------------------------------------------------------------------------
// Limits: 413 each
// ---------------------------------------------------------------------------------------

/// Calls the form handler with `limits` on `form`.
fn form_with_limits(limits: Limits, body: Vec<u8>, boundary: &str) -> TestResponse {
    raw(boundary, body)
        .limits(limits)
        .call(|form: MultipartForm<Anything>| list_files(&form, &["f", "g"]))
}

#[test]
fn each_multipart_limit_is_a_413() {
    in_process(|| {
        // max_parts: 3 parts pass, the 4th is refused (files count as parts).
        let three = FormData::new("b")
            .file("f", "1.txt", b"one")
            .text("t", "x")
            .file("g", "2.txt", b"two");
        let response = form_with_limits(Limits::default().max_parts(3), three.finish(), "b");
        assert_eq!(
            assert_ok(&response),
            "f: Some(\"1.txt\") 3 \"one\"\ng: Some(\"2.txt\") 3 \"two\"\n"
        );
        let four = FormData::new("b")
            .file("f", "1.txt", b"one")
            .text("t", "x")
            .file("g", "2.txt", b"two")
            .text("u", "y");
        let response = form_with_limits(Limits::default().max_parts(3), four.finish(), "b");
        assert_rejected(
            &response,
            413,
            "The upload is too large: more than 3 parts.",
        );

        // max_fields: text fields only; files do not count.
        let body = || {
            FormData::new("b")
                .file("f", "1.txt", b"one")
                .text("t1", "x")
                .file("f", "2.txt", b"two")
                .text("t2", "y")
                .file("f", "3.txt", b"three")
        };
        let response = form_with_limits(Limits::default().max_fields(2), body().finish(), "b");
        assert_eq!(
            assert_ok(&response),
            "f: Some(\"1.txt\") 3 \"one\"\nf: Some(\"2.txt\") 3 \"two\"\nf: Some(\"3.txt\") 5 \"three\"\n"
        );
        let response = form_with_limits(
            Limits::default().max_fields(2),
            body().text("t3", "z").finish(),
            "b",
        );
        assert_rejected(
            &response,
            413,
            "The upload is too large: more than 2 form fields.",
        );

        // max_file_size: exactly at the limit passes, one byte over is refused; text
        // fields are not files.
        let limits = || Limits::default().max_file_size(1000).max_field_size(5000);
        let body = FormData::new("b")
            .file("f", "fits.bin", &[b'x'; 1000])
            .text("t", &"y".repeat(3000));
        let response = form_with_limits(limits(), body.finish(), "b");
        assert_eq!(response.status(), StatusCode::OK);
        let body = FormData::new("b")
            .file("f", "fits.bin", &[b'x'; 1000])
            .file("g", "over.bin", &[b'x'; 1001]);
        let response = form_with_limits(limits(), body.finish(), "b");
        assert_rejected(
            &response,
            413,
            "The upload is too large: a file is over 1000 bytes.",
        );

        // max_field_size: a text field too large; files go to disk and are not limited by it.
        let limits = || Limits::default().max_field_size(100);
        let body = FormData::new("b")
            .file("f", "big.bin", &[b'x'; 5000])
            .text("t", &"y".repeat(100));
        let response = form_with_limits(limits(), body.finish(), "b");
        assert_eq!(response.status(), StatusCode::OK);
        let body = FormData::new("b")
            .file("f", "big.bin", &[b'x'; 5000])
            .text("t", &"y".repeat(101));
        let response = form_with_limits(limits(), body.finish(), "b");
        assert_rejected(
            &response,
            413,
            "The upload is too large: the field is over 100 bytes.",
        );

        // max_part_headers: the whole header block of a part, blank line included.
        let disposition = "Content-Disposition: form-data; name=\"g\"; filename=\"h.txt\"";
        let block_with_pad = |pad: usize| format!("{disposition}\r\nX-Pad: {}", "p".repeat(pad));
        let block_len = |pad: usize| block_with_pad(pad).len() + 4; // two CRLFs
        let limit = block_len(100);
        let limits = || Limits::default().max_part_headers(limit);
        let body = FormData::new("b")
            .file("f", "1.txt", b"one")
            .part(&block_with_pad(100), b"two");
        let response = form_with_limits(limits(), body.finish(), "b");
        assert_eq!(
            assert_ok(&response),
            "f: Some(\"1.txt\") 3 \"one\"\ng: Some(\"h.txt\") 3 \"two\"\n",
            "a header block of exactly max_part_headers ({limit}) bytes"
        );
        let body = FormData::new("b")
            .file("f", "1.txt", b"one")
            .part(&block_with_pad(101), b"two");
        let response = form_with_limits(limits(), body.finish(), "b");
        assert_rejected(
            &response,
            413,
            &format!("The upload is too large: a part's headers exceed {limit} bytes."),
        );
    });
}

/// A part whose first header line is `Content-Disposition: ...` (60 bytes with CRLF),
/// then an `X-Pad` line longer than the parser's 64 KiB buffer, under the default limits.
fn call_with_a_header_line_longer_than_the_buffer() -> TestResponse {
    let disposition = "Content-Disposition: form-data; name=\"f\"; filename=\"a.txt\"";
    let headers = format!("{disposition}\r\nX-Pad: {}", "p".repeat(100_000));
    let body = FormData::new("b").part(&headers, b"x").finish();
    raw("b", body)
        .limits(Limits::default().max_body(1 << 20))
        .call(|form: MultipartForm<Anything>| list_files(&form, &["f"]))
}

#[test]
fn a_header_line_longer_than_the_buffer_is_a_413() {
    in_process(|| {
        let response = call_with_a_header_line_longer_than_the_buffer();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            response
                .text()
                .starts_with("The upload is too large: a part's headers exceed "),
            "{}",
            response.text()
        );
    });
}

// Regression: a long header line after the first one used to report the budget left
// for that line (8132) instead of the limit (8192).
#[test]
fn a_header_line_longer_than_the_buffer_reports_the_limit() {
    in_process(|| {
        let response = call_with_a_header_line_longer_than_the_buffer();
        assert_rejected(
            &response,
            413,
            "The upload is too large: a part's headers exceed 8192 bytes.",
        );
    });
}

#[test]
fn max_body_is_a_413_before_any_part_is_read() {
    in_process(|| {
        let body = FormData::new("b")
            .file("f", "a.bin", &[b'x'; 2000])
            .finish();
        let length = body.len();
        let mut ran = false;
        let response = raw("b", body)
            .limits(Limits::default().max_body(length as u64 - 1))
            .call(|form: MultipartForm<Anything>| {
                ran = true;
                list_files(&form, &["f"])
            });
        assert!(!ran, "the handler ran");
        assert_rejected(
            &response,
            413,
            &format!(
                "The request body is too large: {length} bytes, and this script accepts at most {}.",
                length - 1
            ),
        );
        // Exactly at max_body it is read.
        let body = FormData::new("b")
            .file("f", "a.bin", &[b'x'; 2000])
            .finish();
        let response = raw("b", body)
            .limits(Limits::default().max_body(length as u64))
            .call(|form: MultipartForm<Anything>| {
                form.file("f").map_or(0, Upload::size).to_string()
            });
        assert_eq!(assert_ok(&response), "2000");
    });
}

#[test]
fn a_streaming_multipart_keeps_reporting_its_limit_error() {
    in_process(|| {
        let body = FormData::new("b")
            .file("f", "big.bin", &[b'x'; 100])
            .text("t", "after")
            .finish();
        let response = raw("b", body)
            .limits(Limits::default().max_file_size(10))
            .call(
                |mut multipart: Multipart| -> Result<String, MultipartError> {
                    let mut field = multipart.next_field()?.expect("a part");
                    let mut data = Vec::new();
                    let error = field.read_to_end(&mut data).unwrap_err();
                    let error = MultipartError::from_io(error);
                    assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
                    let again = multipart.next_field().unwrap_err();
                    assert_eq!(again.to_string(), error.to_string());
                    assert_eq!(
                        multipart.next_field().unwrap_err().status(),
                        StatusCode::PAYLOAD_TOO_LARGE
                    );
                    Err(error)
                },
            );
        assert_rejected(
            &response,
            413,
            "The upload is too large: a file is over 10 bytes.",
        );
    });
}

// ---------------------------------------------------------------------------------------
// Malformed bodies: 400 / 415; and what must be accepted
// ---------------------------------------------------------------------------------------

#[test]
fn content_types_that_are_not_uploads() {
    in_process(|| {
        let body = FormData::new("b").text("t", "x").finish();
        let handler = |form: MultipartForm<Anything>| list_files(&form, &["f"]);
        let expected_415 = |found: &str| match found {
            "none" => {
                "Expected an upload (Content-Type: multipart/form-data), but the request has none."
                    .to_owned()
            }
            found => format!(
                "Expected an upload (Content-Type: multipart/form-data), but the request's is {found}."
            ),
        };
        let response = TestRequest::post("/").body(body.clone()).call(handler);
        assert_rejected(&response, 415, &expected_415("none"));
        for wrong in [
            "application/x-www-form-urlencoded",
            "text/plain; boundary=b",
            "multipart/mixed; boundary=b",
        ] {
            let response = TestRequest::post("/")
                .header("Content-Type", wrong)
                .body(body.clone())
                .call(handler);
            assert_rejected(&response, 415, &expected_415(&format!("`{wrong}`")));
        }
        for no_boundary in [
            "multipart/form-data",
            "multipart/form-data; charset=utf-8",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=\"\"",
            "multipart/form-data; boundary=bad\u{e9}",
        ] {
            let response = TestRequest::post("/")
                .header("Content-Type", no_boundary)
                .body(body.clone())
                .call(handler);
            assert_rejected(
                &response,
                400,
                "Malformed multipart body: the Content-Type has no valid boundary.",
            );
        }
        let too_long = format!("multipart/form-data; boundary={}", "x".repeat(71));
        let response = TestRequest::post("/")
            .header("Content-Type", &too_long)
            .body(body)
            .call(handler);
        assert_rejected(
            &response,
            400,
            "Malformed multipart body: the Content-Type has no valid boundary.",
        );
    });
}

#[test]
fn malformed_bodies_are_a_400() {
    in_process(|| {
        let handler = |form: MultipartForm<Anything>| list_files(&form, &["f"]);
        let spooled = || FormData::new("b").file("f", "a.txt", b"spooled");
        let mut missing_close = spooled().unfinished();
        missing_close.extend_from_slice(b"--b");
        let mut part_without_end = spooled().unfinished();
        part_without_end
            .extend_from_slice(b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"b.txt\"\r\n\r\ndata, then nothing");
        let mut headers_without_end = spooled().unfinished();
        headers_without_end.extend_from_slice(b"--b\r\nContent-Disposition: form-data; name=\"f\"");
        let mut bad_header = spooled().unfinished();
        bad_header.extend_from_slice(b"--b\r\nno colon here\r\n\r\nx\r\n--b--\r\n");
        let mut junk_after_boundary = spooled().unfinished();
        junk_after_boundary.extend_from_slice(b"--bjunk\r\n\r\nx\r\n--b--\r\n");
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "garbage",
                b"this is not multipart at all".to_vec(),
                "the multipart body has no boundary line",
            ),
            (
                "another boundary",
                FormData::new("other").text("t", "x").finish(),
                "the multipart body has no boundary line",
            ),
            (
                "no close delimiter",
                spooled().unfinished(),
                "the multipart body ends inside a part, without its closing boundary",
            ),
            (
                "`--b` without `--`",
                missing_close,
                "the multipart body ends without its closing boundary",
            ),
            (
                "a part that never ends",
                part_without_end,
                "the multipart body ends inside a part, without its closing boundary",
            ),
            (
                "headers that never end",
                headers_without_end,
                "the multipart body ends inside a part's headers",
            ),
            (
                "a header line without a colon",
                bad_header,
                "a part has a malformed header line",
            ),
            (
                "bytes after a boundary",
                junk_after_boundary,
                "unexpected bytes after a boundary",
            ),
        ];
        for (what, body, reason) in cases {
            let response = raw("b", body).call(handler);
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
            assert_rejected(
                &response,
                400,
                &format!("Malformed multipart body: {reason}."),
            );
        }
    });
}

#[test]
fn a_body_shorter_than_content_length_is_a_400() {
    in_process(|| {
        let handler = |form: MultipartForm<Anything>| list_files(&form, &["f"]);
        let whole = FormData::new("b")
            .text("t", "x")
            .file("f", "a.bin", &[b'z'; 5000])
            .finish();
        // Cut inside the file's data, inside the second part's headers, and just before
        // the close delimiter's `--`.
        let delimiter = b"--b\r\nC";
        let find = |from: usize| {
            from + whole[from..]
                .windows(delimiter.len())
                .position(|window| window == delimiter)
                .expect("a delimiter")
        };
        let second = find(find(0) + 1);
        for cut in [second + 20, second + 3000, whole.len() - 4] {
            let announced = whole.len() + 100;
            let response = raw("b", whole[..cut].to_vec())
                .var("CONTENT_LENGTH", announced.to_string())
                .call(handler);
            assert_rejected(
                &response,
                400,
                &format!(
                    "Malformed multipart body: the request body ended after {cut} of {announced} bytes."
                ),
            );
        }
    });
}

#[test]
fn boundaries_line_breaks_preambles_and_extended_file_names_are_accepted() {
    in_process(|| {
        let handler = |form: MultipartForm<Profile>| -> String {
            let files: Vec<String> = form
                .files("f")
                .map(|upload| {
                    format!(
                        "{:?}={:?}",
                        upload.file_name().unwrap_or("?"),
                        String::from_utf8_lossy(&fs::read(upload.path()).unwrap())
                    )
                })
                .collect();
            format!(
                "{} {:?} {}",
                form.fields.name,
                form.fields.tags,
                files.join(",")
            )
        };

        // A quoted boundary with a space and a colon, and other parameters around it.
        let body = b"--a b:c\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nquoted\r\n--a b:c\r\nContent-Disposition: form-data; name=\"tags\"\r\n\r\nx\r\n--a b:c--\r\n";
        let response = TestRequest::post("/")
            .header(
                "Content-Type",
                "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b:c\"; x=y",
            )
            .body(&body[..])
            .call(handler);
        assert_eq!(assert_ok(&response), "quoted [\"x\"] ");

        // Bare LF line breaks throughout.
        let body = b"--b\nContent-Disposition: form-data; name=\"name\"\n\nbare\n--b\nContent-Disposition: form-data; name=\"tags\"\n\nx\n--b\nContent-Disposition: form-data; name=\"f\"; filename=\"lf.txt\"\n\nline 1\nline 2\n--b--\n";
        let response = raw("b", &body[..]).call(handler);
        assert_eq!(
            assert_ok(&response),
            "bare [\"x\"] \"lf.txt\"=\"line 1\\nline 2\""
        );

        // A preamble and an epilogue (even with boundary lines) are ignored; transport
        // padding after a boundary is allowed. (A preamble LINE starting with `--b` would
        // be a delimiter: RFC 2046 §5.1.1 matches the boundary as a line prefix.)
        let body = b"This is the preamble; it may mention --b, but not at the start of a line.\r\n\r\n--b  \t\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nwrapped\r\n--b\r\nContent-Disposition: form-data; name=\"tags\"\r\n\r\nx\r\n--b--\r\nThe epilogue.\r\n--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nignored\r\n--b--\r\n";
        let response = raw("b", &body[..]).call(handler);
        assert_eq!(assert_ok(&response), "wrapped [\"x\"] ");

        // `filename*` (RFC 8187) wins over `filename`.
        let body = FormData::new("b")
            .text("name", "ext")
            .text("tags", "x")
            .part(
                "Content-Disposition: form-data; name=\"f\"; filename=\"naive.txt\"; filename*=UTF-8''na%C3%AFve%20%E2%9C%93.txt",
                b"data",
            )
            .part(
                "content-disposition: form-data; filename*=utf-8'en'%E6%97%A5.txt; name=f",
                b"more",
            )
            .finish();
        let response = raw("b", body).call(handler);
        assert_eq!(
            assert_ok(&response),
            "ext [\"x\"] \"na\u{ef}ve \u{2713}.txt\"=\"data\",\"\u{65e5}.txt\"=\"more\""
        );
    });
}

// ---------------------------------------------------------------------------------------
// A large file
// ---------------------------------------------------------------------------------------

/// The boundary `TestRequest::multipart` uses (so that the planted lookalikes are close).
const TEST_KIT_BOUNDARY: &str = "cgikit-test-boundary-7f3a9c";

#[test]
fn a_5_mb_file_arrives_intact_through_multipart_form() {
    in_process(|| {
        let data = pseudo_random(5 * 1024 * 1024, 0x5eed, TEST_KIT_BOUNDARY);
        let expected = fnv1a(&data);
        let body = MultipartBody::new()
            .text("before", "1")
            .file("big", "big.bin", "application/octet-stream", &data)
            .text("after", "2");
        let mut temp_path = PathBuf::new();
        let response = TestRequest::post("/")
            .multipart(body)
            .limits(Limits::default().max_body(8 << 20))
            .call(|form: MultipartForm<Anything>| {
                let upload = form.file("big").expect("the file");
                temp_path = upload.path().to_owned();
                let stored = fs::read(upload.path()).expect("the temporary file");
                format!(
                    "{} {:016x} {}",
                    upload.size(),
                    fnv1a(&stored),
                    stored == data
                )
            });
        assert_eq!(
            assert_ok(&response),
            format!("{} {expected:016x} true", data.len())
        );
        assert!(!temp_path.exists());
    });
}

// =======================================================================================
// Subprocess: the built `upload` example and `fixture_upload_limits`
// =======================================================================================

/// A script that has not exited by then is killed and the test fails.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The examples this file runs.
const EXAMPLES: [&str; 2] = ["upload", "fixture_upload_limits"];

/// A GET with the variables every server sets, an empty closed stdin and a fresh TMPDIR.
fn get(name: &str) -> Script {
    Script::example(name, &EXAMPLES)
        .timeout(TIMEOUT)
        .cgi_get("", "")
        .own_tmpdir()
}

/// A POST of `body` with a correct CONTENT_LENGTH.
fn post(name: &str, content_type: &str, body: Vec<u8>) -> Script {
    get(name).post(content_type, body)
}

fn post_multipart(name: &str, form: FormData) -> Script {
    let content_type = form.content_type();
    post(name, &content_type, form.finish())
}

impl Outcome {
    /// A rejection: status, the reason as the whole body, logged; the body was drained.
    fn assert_rejected(&self, status: u16, reason: &str) {
        let response = self.response();
        assert_eq!(response.status, status, "{}", self.dump());
        assert_eq!(response.text(), format!("{reason}\n"), "{}", self.dump());
        assert!(
            self.stderr.contains(&format!("{status} {reason}")),
            "{}",
            self.dump()
        );
        assert!(
            self.stdin_written.is_ok(),
            "the body was not drained: {}",
            self.dump()
        );
    }
}

/// A boundary like a browser's.
const BROWSER_BOUNDARY: &str = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

/// More than a pipe holds: a script that stops reading early only lets the writer
/// finish if it drains the rest.
const MORE_THAN_A_PIPE: usize = 160 * 1024;

// ---------------------------------------------------------------------------------------
// The `upload` example
// ---------------------------------------------------------------------------------------

#[test]
fn upload_example_reports_a_5_mb_files_size_and_sha256() {
    let data = pseudo_random(5 * 1024 * 1024, 0xC61, BROWSER_BOUNDARY);
    let small = b"hello\r\n".to_vec();
    let form = FormData::new(BROWSER_BOUNDARY)
        .text("note", "<b>bold</b> & \"quoted\"")
        .file("files", "big<i>.bin", &data)
        .file("files", "small.txt", &small);
    let outcome = post_multipart("upload", form).run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let page = response.text();
    assert!(
        page.contains(
            "<tr><td>note</td><td colspan=3>&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;</td></tr>\n"
        ),
        "{page}"
    );
    assert!(!page.contains("<b>"), "{page}");
    let big_row = format!(
        "<tr><td>files</td><td>big&lt;i&gt;.bin</td><td>{}</td><td><code>{}</code></td></tr>\n",
        data.len(),
        sha256_hex(&data)
    );
    assert!(page.contains(&big_row), "expected {big_row:?} in\n{page}");
    let small_row = format!(
        "<tr><td>files</td><td>small.txt</td><td>7</td><td><code>{}</code></td></tr>\n",
        sha256_hex(&small)
    );
    assert!(
        page.contains(&small_row),
        "expected {small_row:?} in\n{page}"
    );
    assert!(outcome.stdin_written.is_ok(), "{}", outcome.dump());
    assert_eq!(outcome.stderr, "", "{}", outcome.dump());
}

#[test]
fn upload_example_get_shows_the_form() {
    let outcome = get("upload").run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let page = response.text();
    assert!(
        page.contains("<form method=\"post\" enctype=\"multipart/form-data\">"),
        "{page}"
    );
    assert!(
        page.contains("<input type=\"file\" name=\"files\" multiple required>"),
        "{page}"
    );
    // A POST that is not an upload gets the form too (`Option<Multipart>`).
    let outcome = post("upload", "text/plain", b"not an upload".to_vec()).run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    assert!(response.text().contains("enctype=\"multipart/form-data\""));
}

#[test]
fn upload_example_malformed_bodies_are_a_400() {
    let mut body = FormData::new(BROWSER_BOUNDARY)
        .file("files", "a.bin", &[b'x'; 1000])
        .unfinished();
    body.extend_from_slice(b"no final boundary");
    let content_type = format!("multipart/form-data; boundary={BROWSER_BOUNDARY}");
    let outcome = post("upload", &content_type, body).run();
    outcome.assert_rejected(
        400,
        "Malformed multipart body: the multipart body ends inside a part, without its closing boundary.",
    );
    let mut garbage = b"garbage ".repeat(MORE_THAN_A_PIPE / 8);
    garbage.extend_from_slice(b"\r\n");
    let outcome = post("upload", &content_type, garbage).run();
    outcome.assert_rejected(
        400,
        "Malformed multipart body: the multipart body has no boundary line.",
    );
}

// ---------------------------------------------------------------------------------------
// fixture_upload_limits: `#[cgi::main(max_body = 256 KiB)]`, default multipart limits
// ---------------------------------------------------------------------------------------

const FIXTURE: &str = "fixture_upload_limits";
const FIXTURE_MAX_BODY: usize = 256 * 1024;

#[test]
fn fixture_accepts_a_form_and_leaves_no_temporary_files() {
    let form = FormData::new(BROWSER_BOUNDARY)
        .text("note", "first")
        .file("file", "../a.txt", b"hello")
        .text("note", "second")
        .file("file", "big.bin", &vec![b'z'; MORE_THAN_A_PIPE])
        .file("file", "", b"");
    let outcome = post_multipart(FIXTURE, form).run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    assert_eq!(
        response.text(),
        format!("note first\nnote second\nfile a.txt 5\nfile big.bin {MORE_THAN_A_PIPE}\n")
    );
    assert_eq!(outcome.stderr, "", "{}", outcome.dump());
}

/// A file first (so that a temporary exists when the limit strikes), then `middle`, then
/// a file larger than a pipe (so that the writer only finishes if the script drains).
fn over_a_limit(middle: impl FnOnce(FormData) -> FormData) -> FormData {
    let form = FormData::new(BROWSER_BOUNDARY).file("file", "first.bin", &[b'1'; 5000]);
    middle(form).file("file", "last.bin", &vec![b'2'; MORE_THAN_A_PIPE])
}

#[test]
fn fixture_limits_are_a_413_after_draining_the_body() {
    // Each text field is also a part, and both limits default to 100: with
    // `#[cgi::main(max_body)]` (the only limit the attribute sets), max_parts always
    // strikes first, and max_file_size is unlimited. Both are covered in-process above.
    let cases: Vec<(&str, FormData, &str)> = vec![
        (
            "max_parts (100)",
            over_a_limit(|mut form| {
                for index in 0..99 {
                    form = form.text("note", &index.to_string());
                }
                form
            }),
            "The upload is too large: more than 100 parts.",
        ),
        (
            "max_field_size (64 KiB)",
            over_a_limit(|form| form.text("note", &"n".repeat(64 * 1024 + 1))),
            "The upload is too large: the field is over 65536 bytes.",
        ),
        (
            "max_part_headers (8 KiB)",
            over_a_limit(|form| {
                // The long line first in its part: a later one may report a smaller
                // number (see the BUG above `a_header_line_longer_than_the_buffer_...`).
                form.part(
                    &format!(
                        "X-Pad: {}\r\nContent-Disposition: form-data; name=\"note\"",
                        "p".repeat(8 * 1024)
                    ),
                    b"x",
                )
            }),
            "The upload is too large: a part's headers exceed 8192 bytes.",
        ),
    ];
    for (what, form, reason) in cases {
        let length = form.bytes.len();
        assert!(length <= FIXTURE_MAX_BODY, "{what}: {length} bytes");
        let outcome = post_multipart(FIXTURE, form).run();
        outcome.assert_rejected(413, reason);
        assert!(outcome.elapsed < TIMEOUT / 2, "{what}: {}", outcome.dump());
    }
}

#[test]
fn fixture_max_body_is_a_413_before_reading_after_draining() {
    let form = FormData::new(BROWSER_BOUNDARY)
        .file("file", "first.bin", &[b'1'; 5000])
        .file("file", "huge.bin", &vec![b'2'; FIXTURE_MAX_BODY]);
    let length = form.bytes.len() + BROWSER_BOUNDARY.len() + 6;
    let outcome = post_multipart(FIXTURE, form).run();
    outcome.assert_rejected(
        413,
        &format!(
            "The request body is too large: {length} bytes, and this script accepts at most {FIXTURE_MAX_BODY}."
        ),
    );
    // And exactly at the limit, the form is read.
    let mut form = FormData::new(BROWSER_BOUNDARY).file("file", "fits.bin", b"");
    let overhead = form.bytes.len() + BROWSER_BOUNDARY.len() + 6;
    form = FormData::new(BROWSER_BOUNDARY).file(
        "file",
        "fits.bin",
        &vec![b'3'; FIXTURE_MAX_BODY - overhead],
    );
    let outcome = post_multipart(FIXTURE, form).run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    assert_eq!(
        response.text(),
        format!("file fits.bin {}\n", FIXTURE_MAX_BODY - overhead)
    );
}

#[test]
fn fixture_malformed_bodies_are_a_400_after_draining_the_body() {
    let content_type = format!("multipart/form-data; boundary={BROWSER_BOUNDARY}");
    let nameless = over_a_limit(|form| {
        form.part(
            "Content-Disposition: form-data; filename=\"x.txt\"",
            b"nameless",
        )
    })
    .finish();
    let mut unfinished = FormData::new(BROWSER_BOUNDARY)
        .file("file", "first.bin", &[b'1'; 5000])
        .unfinished();
    unfinished.extend_from_slice(b"--");
    unfinished.extend_from_slice(BROWSER_BOUNDARY.as_bytes());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a part without a name",
            nameless,
            "Malformed multipart body: a part has no name.",
        ),
        (
            "no close delimiter",
            unfinished,
            "Malformed multipart body: the multipart body ends without its closing boundary.",
        ),
        (
            "garbage",
            vec![b'?'; MORE_THAN_A_PIPE],
            "Malformed multipart body: the multipart body has no boundary line.",
        ),
    ];
    for (what, body, reason) in cases {
        let outcome = post(FIXTURE, &content_type, body).run();
        assert!(outcome.elapsed < TIMEOUT / 2, "{what}: {}", outcome.dump());
        outcome.assert_rejected(400, reason);
    }
    let form = over_a_limit(|form| form);
    let body = form.finish();
    let outcome = post(FIXTURE, "multipart/form-data", body.clone()).run();
    outcome.assert_rejected(
        400,
        "Malformed multipart body: the Content-Type has no valid boundary.",
    );
    let outcome = post(FIXTURE, "application/octet-stream", body).run();
    outcome.assert_rejected(
        415,
        "Expected an upload (Content-Type: multipart/form-data), but the request's is `application/octet-stream`.",
    );
}

#[test]
fn fixture_an_unwritable_tmpdir_is_a_500_after_draining_the_body() {
    let form = over_a_limit(|form| form.text("note", "x"));
    let outcome = post_multipart(FIXTURE, form)
        .var("TMPDIR", "/nonexistent/cgikit-uploads-test")
        .run();
    outcome.assert_rejected(
        500,
        // The OS error goes to the error log only, never to the client.
        "The upload could not be stored.",
    );
    assert!(
        outcome.stderr.contains("No such file or directory"),
        "{}",
        outcome.dump()
    );
}

#[test]
fn fixture_answers_a_whole_body_on_a_stdin_held_open() {
    // All CONTENT_LENGTH bytes arrive but stdin never ends: the script must not wait for
    // EOF, whether it accepts the form or refuses it half-way.
    let form = FormData::new(BROWSER_BOUNDARY)
        .text("note", "held")
        .file("file", "a.txt", b"abc");
    let outcome = post_multipart(FIXTURE, form).held_open().run();
    let response = outcome.response();
    assert_eq!(response.status, 200, "{}", outcome.dump());
    assert_eq!(response.text(), "note held\nfile a.txt 3\n");
    assert!(outcome.answered_before_eof, "{}", outcome.dump());

    let form = over_a_limit(|mut form| {
        for index in 0..99 {
            form = form.text("note", &index.to_string());
        }
        form
    });
    let outcome = post_multipart(FIXTURE, form).held_open().run();
    outcome.assert_rejected(413, "The upload is too large: more than 100 parts.");
    assert!(outcome.answered_before_eof, "{}", outcome.dump());
}

#[test]
fn fixture_a_short_body_on_a_stdin_held_open_is_a_400_once_it_closes() {
    // CONTENT_LENGTH announces more than is sent; stdin stays open 500 ms, then closes.
    // The script must wait (the rest may still come), then answer 400 once it sees EOF,
    // having deleted the temporary file it had started.
    let sent = FormData::new(BROWSER_BOUNDARY)
        .text("note", "x")
        .file("file", "partial.bin", &[b'p'; 3000])
        .unfinished();
    let sent = sent[..sent.len() - 1000].to_vec();
    let announced = sent.len() + 10_000;
    let content_type = format!("multipart/form-data; boundary={BROWSER_BOUNDARY}");
    let outcome = post(FIXTURE, &content_type, Vec::new())
        .var("CONTENT_LENGTH", announced.to_string())
        .stdin(Stdin::ClosedAfter(sent.clone(), Duration::from_millis(500)))
        .run();
    assert!(
        !outcome.answered_before_eof,
        "answered before the body ended: {}",
        outcome.dump()
    );
    assert!(outcome.elapsed >= Duration::from_millis(500));
    outcome.assert_rejected(
        400,
        &format!(
            "Malformed multipart body: the request body ended after {} of {announced} bytes.",
            sent.len()
        ),
    );
}

// ---------------------------------------------------------------------------------------
// A signal mid-upload
// ---------------------------------------------------------------------------------------

/// Apache sends SIGTERM to a CGI script that takes too long; a person presses Ctrl-C
/// (SIGINT); a terminal closes (SIGHUP). Each ends the script mid-upload, with no chance to
/// clean up: its temporary file must not outlive it. The fixture spools files
/// (`MultipartForm`); it is stopped once it holds a file open in its own TMPDIR, half of the
/// body sent and stdin still open.
#[test]
fn a_signal_mid_upload_leaves_no_temporary_file() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    let program = support::example(FIXTURE, &EXAMPLES);
    for signal in ["TERM", "INT", "HUP"] {
        let tmpdir = TempDir::new("signal-tmpdir");
        let form = FormData::new(BROWSER_BOUNDARY).file("file", "big.bin", &vec![b'x'; 200 * 1024]);
        let content_type = form.content_type();
        let body = form.finish();
        let mut child = Command::new(&program)
            .env_clear()
            .envs([
                ("GATEWAY_INTERFACE", "CGI/1.1"),
                ("REQUEST_METHOD", "POST"),
                ("SERVER_PROTOCOL", "HTTP/1.1"),
                ("SCRIPT_NAME", "/cgi-bin/upload"),
                ("CONTENT_TYPE", content_type.as_str()),
                ("CONTENT_LENGTH", &body.len().to_string()),
            ])
            .env("TMPDIR", tmpdir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the fixture starts");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&body[..body.len() / 2]).unwrap();
        stdin.flush().unwrap();
        // Wait until the upload is being spooled: a descriptor into the TMPDIR, named or
        // not (a file without a name shows as `TMPDIR/#123 (deleted)`).
        let fds = format!("/proc/{}/fd", child.id());
        let started = Instant::now();
        let spooling = loop {
            let into_tmpdir = fs::read_dir(&fds)
                .into_iter()
                .flatten()
                .flatten()
                .any(|fd| {
                    fs::read_link(fd.path()).is_ok_and(|target| target.starts_with(tmpdir.path()))
                });
            if into_tmpdir || started.elapsed() > Duration::from_secs(10) {
                break into_tmpdir;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            spooling,
            "SIG{signal}: the fixture never opened a temporary file"
        );
        let killed = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let status = child.wait().unwrap();
        drop(stdin);
        assert!(!status.success(), "SIG{signal}: {status:?}");
        assert_eq!(
            tmpdir.entries(),
            Vec::<String>::new(),
            "SIG{signal} left files in TMPDIR"
        );
    }
}
