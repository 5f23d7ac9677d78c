//! `Upload`: a received file, spooled to a temporary file that is deleted unless kept.

use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io;
use std::path::{Path, PathBuf};

/// A file the client uploaded, already received into a temporary file (in
/// [`std::env::temp_dir`]: `TMPDIR`, else `/tmp`), created only for this process's user.
/// The temporary file is deleted when the `Upload` is dropped, unless
/// [`persist`](Upload::persist) moved it somewhere.
///
/// The name the client sent is untrusted: it may hold `../`, `C:\`, control characters or
/// be long. [`safe_file_name`](Upload::safe_file_name) gives a name fit for the file
/// system, but storing files under names you choose is safer still.
///
/// ```
/// use cgi::{MultipartForm, Html};
///
/// #[derive(serde::Deserialize)]
/// struct Caption { caption: String }
///
/// fn receive(form: MultipartForm<Caption>) -> Result<Html<String>, cgi::Error> {
///     let photo = form.file("photo").ok_or(cgi::Error::new(cgi::StatusCode::UNPROCESSABLE_ENTITY, "Choose a photo."))?;
///     Ok(Html(format!(
///         "<p>{}: {} bytes of {}</p>",
///         cgi::html::escape(&form.fields.caption),
///         photo.size(),
///         cgi::html::escape(photo.content_type().unwrap_or("?")),
///     )))
/// }
///
/// let body = cgi::test::MultipartBody::new()
///     .text("caption", "Sunset")
///     .file("photo", "s.jpg", "image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]);
/// let response = cgi::test::TestRequest::post("/").multipart(body).call(receive);
/// assert_eq!(response.text(), "<p>Sunset: 6 bytes of image/jpeg</p>");
/// ```
#[derive(Debug)]
pub struct Upload {
    file_name: Option<String>,
    content_type: Option<String>,
    size: u64,
    temp: TempFile,
}

impl Upload {
    pub(crate) fn new(
        file_name: Option<String>,
        content_type: Option<String>,
        size: u64,
        temp: TempFile,
    ) -> Self {
        Upload {
            file_name,
            content_type,
            size,
            temp,
        }
    }

    /// The file name the client sent, as sent (untrusted).
    ///
    /// ```
    /// # let upload = cgi::test::upload("../../etc/passwd", b"x");
    /// assert_eq!(upload.file_name(), Some("../../etc/passwd"));
    /// ```
    pub fn file_name(&self) -> Option<&str> {
        self.file_name.as_deref()
    }

    /// The client's file name made safe to use in a directory: its last path component
    /// (after `/` or `\`), without control characters, at most 255 bytes, and never empty,
    /// `.`, `..` or hidden (a leading dot is replaced). `None` if nothing usable is left.
    ///
    /// ```
    /// # let upload = cgi::test::upload("C:\\Users\\ada\\..\\.report\u{7}.pdf", b"x");
    /// assert_eq!(upload.safe_file_name().as_deref(), Some("_report.pdf"));
    /// # let upload = cgi::test::upload("../..", b"x");
    /// assert_eq!(upload.safe_file_name(), None);
    /// ```
    pub fn safe_file_name(&self) -> Option<String> {
        let base = self.file_name.as_deref()?.rsplit(['/', '\\']).next()?;
        let mut name: String = base.chars().filter(|c| !c.is_control()).collect();
        if name.is_empty() || name.chars().all(|c| c == '.') {
            return None;
        }
        if name.starts_with('.') {
            name.replace_range(..1, "_");
        }
        while name.len() > 255 {
            name.pop();
        }
        Some(name)
    }

    /// The part's `Content-Type`, as sent (untrusted).
    ///
    /// ```
    /// # let upload = cgi::test::upload("a.txt", b"x");
    /// assert_eq!(upload.content_type(), Some("application/octet-stream"));
    /// ```
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The size in bytes.
    ///
    /// ```
    /// # let upload = cgi::test::upload("a.txt", b"hello");
    /// assert_eq!(upload.size(), 5);
    /// ```
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Where the temporary file is.
    ///
    /// ```
    /// # let upload = cgi::test::upload("a.txt", b"hello");
    /// assert_eq!(std::fs::read(upload.path()).unwrap(), b"hello");
    /// ```
    pub fn path(&self) -> &Path {
        &self.temp.path
    }

    /// Opens the temporary file to read it.
    ///
    /// ```
    /// use std::io::Read;
    /// # let upload = cgi::test::upload("a.txt", b"hello");
    /// let mut text = String::new();
    /// upload.open().unwrap().read_to_string(&mut text).unwrap();
    /// assert_eq!(text, "hello");
    /// ```
    ///
    /// # Errors
    ///
    /// If the file cannot be opened.
    pub fn open(&self) -> io::Result<File> {
        File::open(&self.temp.path)
    }

    /// Moves the file to `destination` (renaming it, or copying it across file systems),
    /// so that it is not deleted. An existing file there is replaced.
    ///
    /// ```
    /// # let upload = cgi::test::upload("a.txt", b"kept");
    /// let destination = std::env::temp_dir().join(format!("cgikit-doc-{}.txt", std::process::id()));
    /// upload.persist(&destination).unwrap();
    /// assert_eq!(std::fs::read(&destination).unwrap(), b"kept");
    /// # std::fs::remove_file(destination).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// If the file can be neither renamed nor copied there; it is then still deleted.
    pub fn persist(mut self, destination: impl AsRef<Path>) -> io::Result<()> {
        let destination = destination.as_ref();
        if fs::rename(&self.temp.path, destination).is_err() {
            fs::copy(&self.temp.path, destination)?;
            return Ok(());
        }
        self.temp.kept = true;
        Ok(())
    }
}

/// A file only this process's user can read, deleted on drop unless kept.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: PathBuf,
    kept: bool,
}

impl TempFile {
    /// Creates a new file with an unpredictable name; `create_new` refuses to follow a
    /// link someone planted at that name.
    pub(crate) fn create() -> io::Result<(TempFile, File)> {
        let directory = std::env::temp_dir();
        let random = RandomState::new();
        for attempt in 0u64..64 {
            let mut hasher = random.build_hasher();
            hasher.write_u64(attempt);
            let path = directory.join(format!(
                "cgikit-upload-{}-{:016x}",
                std::process::id(),
                hasher.finish()
            ));
            let mut options = OpenOptions::new();
            options.read(true).write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(file) => return Ok((TempFile { path, kept: false }, file)),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(error),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary file name",
        ))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.path);
        }
    }
}
